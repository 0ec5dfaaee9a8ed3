package main

import (
	"fmt"
	"time"
)

// waitFlag is --wait: a duration that, once given, replaces every wait's
// deadline in the playbook; not given, the playbook's own hold.
type waitFlag struct {
	d   *time.Duration
	set *bool
}

func (w *waitFlag) String() string {
	if w == nil || w.d == nil {
		return "0s"
	}
	return w.d.String()
}

func (w *waitFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("parse error")
	}
	*w.d, *w.set = d, true
	return nil
}

// Get makes checkFlag check it as a duration.
func (w *waitFlag) Get() any { return *w.d }
