// Package explore runs the playbook over a matrix of lab variants,
// PostgreSQL major versions and archivers, and folds the verdicts into one
// table: which configurations diverge, on which versions, with which
// archiver, how reliably.
//
// A variant is an overlay of the lab's editable files (variants/<name>/).
// Runs that share their first steps (initdb up to both backup fetches) start
// from one verified copy of that state, and runs overlap up to a job count.
// Running one playbook belongs to the caller (an Executor), so this package
// knows nothing of terminals or report formats beyond the matrix itself.
package explore
