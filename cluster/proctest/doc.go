// Package proctest finds the processes a test is answerable for by pid,
// process group or parentage, never by a name in the whole process table:
// other things run on the machines the tests run on. Linux /proc only.
package proctest
