// Package steps holds the playbook (the seed's steps as data) and the Runner
// that executes it: per-step state across passes, next / continue / pause /
// retry / skip / jump / breakpoints / cancel, and events out. Hooks (the
// lab's hooks/after-ID.node.sql|sh files) become steps of their own, and a
// Transcript writes a Markdown account of a session. It has no terminal
// code.
package steps
