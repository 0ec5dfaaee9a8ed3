package checkpoint

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"walstep/cluster"
)

// resumeFile records where a debugger session was when it quit, for
// walstep --resume; it lives with the checkpoints, so clean removes it.
const resumeFile = "resume.json"

// Resume is where a quit session was.
type Resume struct {
	Step  string    `json:"step"` // steps.StepKey of the next step to run
	ID    string    `json:"id"`   // its ID, for messages
	Quit  time.Time `json:"quit"`
	Ended bool      `json:"ended"` // the session had run the playbook to its end
}

// SaveResume records r for the lab.
func SaveResume(lab *cluster.Lab, r Resume) error {
	dir := lab.Path(cluster.CheckpointsDir)
	if err := lab.MkdirAll(dir, 0o700, -1, -1); err != nil {
		return fmt.Errorf("record where the session was: %w", err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("record where the session was: %w", err)
	}
	tmp := filepath.Join(dir, "."+resumeFile)
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("record where the session was: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, resumeFile)); err != nil {
		return fmt.Errorf("record where the session was: %w", err)
	}
	return nil
}

// LoadResume reads where the lab's last debugger session quit.
func LoadResume(lab *cluster.Lab) (Resume, error) {
	var r Resume
	b, err := lab.ReadFile(cluster.CheckpointsDir + "/" + resumeFile)
	if err != nil {
		return r, fmt.Errorf("--resume: no session of this lab to resume (%w)", err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("--resume: read %s: %w", resumeFile, err)
	}
	return r, nil
}
