package export

import "fmt"

// dockerScript is the script's docker CLI form.
func dockerScript(o Options) ([]byte, error) {
	return nil, fmt.Errorf("export --script --docker: not written yet")
}
