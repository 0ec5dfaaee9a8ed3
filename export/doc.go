// Package export writes a playbook as a reproduction that needs no walstep:
// a PostgreSQL TAP test (PostgreSQL::Test::Cluster, in the style of
// src/test/recovery/t/*.pl) and a standalone bash script. Each action of
// the playbook vocabulary has a form in both (tapForms, shellForms), so
// every playbook exports; both end by asserting the outcome walstep saw
// (diverged or healthy) from the standby's log and from the data: a marker
// row written on its upstream that must, or must not, reach it.
package export
