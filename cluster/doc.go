// Package cluster runs the two PostgreSQL servers of the repro (the primary
// and the replica) on a backend, and archives their WAL with an archiver.
//
// It owns the lab directory (Lab: what walstep may create and delete), the
// Backend interface and its two implementations (Local: postgres processes;
// Docker: containers through the Engine API), the archivers (CP and WalG,
// running the seed's commands), the choice between them (Open) and the
// clean-up of a lab wherever its servers ran (CleanLab). Waits on a server
// (WaitReady, WaitExited, WaitPromoted) observe it without leaving lines in
// its log. It knows nothing about terminals.
package cluster
