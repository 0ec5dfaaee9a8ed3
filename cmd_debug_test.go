package main

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

func TestCheckTerminalRefusesPipesAndBuffers(t *testing.T) {
	if err := checkTerminal(&bytes.Buffer{}); !errors.Is(err, errNotTerminal) {
		t.Errorf("buffer: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := checkTerminal(w); !errors.Is(err, errNotTerminal) {
		t.Errorf("pipe: %v", err)
	}
	if _, err := runTUI(t.Context(), tuiConfig{Stdout: w}); !errors.Is(err, errNotTerminal) {
		t.Errorf("runTUI on a pipe: %v", err)
	}
}
