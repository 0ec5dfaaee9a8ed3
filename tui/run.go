package tui

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	tea "github.com/charmbracelet/bubbletea"

	"walstep/steps"
)

// afterStep is an event on its way to Config.Record.
type afterStep struct {
	all   []steps.Step
	ev    steps.Event
	state steps.StepState
}

// Run shows the debugger on the terminal until the user quits. It runs
// cfg.Runner in the background and, before returning, cancels it (and so a
// running step) and waits for it. The terminal is restored on every way
// out: q, Ctrl-C, SIGTERM (bubbletea's handler, or ctx cancelled), a panic
// in Update or View (bubbletea recovers those), in a command, or in the
// goroutines started here. opts are added to the program's options (tests
// pass input and output).
func Run(ctx context.Context, cfg Config, opts ...tea.ProgramOption) (Result, error) {
	if cfg.Runner == nil {
		return Result{}, errors.New("tui: no runner")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cfg.Ctx = ctx

	var p *tea.Program
	panics := make(chan error, 2)
	// guard turns a panic in a goroutine started here into an error and
	// kills the program, which restores the terminal before Run returns.
	guard := func(what string) {
		if r := recover(); r != nil {
			panics <- fmt.Errorf("%s panicked: %v\n%s", what, r, debug.Stack())
			p.Kill()
		}
	}

	if cfg.Record != nil {
		cfg.afterCh = make(chan afterStep, 64)
	}
	p = tea.NewProgram(New(cfg), append([]tea.ProgramOption{tea.WithAltScreen(), tea.WithContext(ctx)}, opts...)...)

	var recorded chan struct{}
	if ch := cfg.afterCh; ch != nil {
		recorded = make(chan struct{})
		hook := cfg.Record
		go func() { // ends when ch is closed below, after the program
			defer close(recorded)
			defer guard("recording a step")
			for a := range ch {
				hook(a.all, a.ev, a.state)
			}
		}()
	}

	runnerDone := make(chan error, 1)
	go func() { // joined below: the runner stops when ctx is cancelled
		defer func() {
			if r := recover(); r != nil {
				runnerDone <- fmt.Errorf("runner panicked: %v", r)
				panics <- fmt.Errorf("runner panicked: %v\n%s", r, debug.Stack())
				p.Kill()
			}
		}()
		runnerDone <- cfg.Runner.Run(ctx)
	}()

	final, err := p.Run()
	cancel()
	<-runnerDone
	if cfg.afterCh != nil {
		close(cfg.afterCh)
		<-recorded
	}

	res := Result{StopServers: true, Interrupted: true}
	if m, ok := final.(Model); ok {
		res = m.Result()
	}
	select {
	case perr := <-panics:
		return res, perr
	default:
	}
	switch {
	case err == nil:
		return res, nil
	case errors.Is(err, tea.ErrProgramPanic): // Update or View panicked
		return res, err
	case errors.Is(err, tea.ErrProgramKilled): // ctx cancelled: SIGTERM, SIGINT
		return res, nil
	}
	return res, err
}
