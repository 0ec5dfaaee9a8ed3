// Package playbook reads playbooks: Markdown documents that read as a
// reproduction (one heading per step, the command as the reproduction
// writes it, what to watch) and carry, per step, a fenced block of walstep
// actions from a fixed vocabulary. Parse checks a document completely
// before anything runs and names file:line for each problem; the result is
// data (steps, actions, nodes) that package steps binds to a lab. The
// built-in playbooks, the seed's among them, are embedded documents.
package playbook
