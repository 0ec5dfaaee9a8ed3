package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"walstep/cluster"
	"walstep/pg"
)

// The script exported with --docker, run against the real engine, prints
// diverged on the default lab and healthy on the no-target lab (what
// walstep's runs of those labs give: TestE2EExportTAPAndScript), and leaves
// no container or network behind.
func TestE2EExportDockerScript(t *testing.T) {
	t.Parallel()
	img := requireDockerE2E(t)
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the exported Docker script edits the containers' files: run the tests as root under CI")
		}
		t.Skip("the exported Docker script edits the containers' files as root")
	}
	for _, c := range []struct {
		name, restore string
		want          pg.Verdict
	}{
		{"default", "", pg.VerdictDiverged},
		{"no-target", "#recovery_target = 'immediate'\n", pg.VerdictHealthy},
	} {
		t.Run(c.name, func(t *testing.T) {
			work := reachableTempDir(t)
			lab := filepath.Join(work, "lab")
			if code, _, stderr := runMain("init", lab); code != 0 {
				t.Fatalf("init: %s", stderr)
			}
			if c.restore != "" {
				if err := os.WriteFile(filepath.Join(lab, cluster.PrimaryRestore), []byte(c.restore), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			script := filepath.Join(work, "repro.sh")
			if code, out, stderr := runMain("export", "--lab", lab, "--expect", string(c.want), "--script", script, "--docker", "--image", img); code != 0 {
				t.Fatalf("export: exit %d\n%s%s", code, out, stderr)
			}
			prefix := "wsexport-" + strings.ReplaceAll(c.name, "-", "") + "-" + filepath.Base(work)[len("walstep-e2e-"):]
			cmd := exec.Command("bash", script, filepath.Join(work, "run"))
			cmd.Env = append(os.Environ(), "PREFIX="+prefix)
			started := time.Now()
			out, err := cmd.CombinedOutput()
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if err != nil || len(lines) < 2 || !strings.HasPrefix(lines[len(lines)-2], string(c.want)+": ") || lines[len(lines)-1] != "walstep saw: "+string(c.want) {
				t.Fatalf("the exported Docker script (%v) does not end on %s:\n%s", err, c.want, out)
			}
			t.Logf("%s in %s", lines[len(lines)-2], time.Since(started).Round(time.Second))
			left, _ := exec.Command("docker", "ps", "-aq", "--filter", "name="+prefix).Output()
			nets, _ := exec.Command("docker", "network", "ls", "-q", "--filter", "name="+prefix).Output()
			if strings.TrimSpace(string(left)) != "" || strings.TrimSpace(string(nets)) != "" {
				t.Errorf("the script left containers %q, networks %q", left, nets)
			}
		})
	}
}
