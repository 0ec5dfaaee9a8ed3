// Command walstep steps through the PostgreSQL concurrent-restore bug
// reproduction: a primary and a replica restored concurrently from the same
// WAL-G backup end up on different timelines. See README.md and
// docs/architecture.md.
//
// This package is wiring only, one file per sub-command: main.go parses the
// command line and dispatches; cmd_init.go, cmd_run.go (with
// cmd_run_repeat.go), cmd_clean.go, cmd_debug.go and cmd_explore.go each
// call into the packages. session.go opens what a run and the debugger share
// (a headless.Session: lab, backend, archiver, playbook, poller); the run
// loop and the reports it prints are package headless's. Nothing here names
// a concrete backend: cluster.Open chooses one.
package main
