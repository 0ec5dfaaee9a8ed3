// Package steps runs playbooks: Bind turns a playbook document's steps
// (package playbook) into Steps whose actions run through the Backend and
// the Archiver, and the Runner executes them: per-step state across
// passes, next / continue / pause / retry / skip / jump / breakpoints /
// cancel, and events out. Hooks (the lab's hooks/after-ID.node.sql|sh
// files) become steps of their own. It draws nothing: front ends and
// package transcript render its events.
package steps
