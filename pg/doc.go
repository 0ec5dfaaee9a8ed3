// Package pg reads the two servers and judges them.
//
// It owns the Poller (one Snapshot of both servers: process state,
// postmaster.pid, pg_controldata, SQL over pgx, the log tail, the archive
// listing and the timeline history files), the parsing of LSNs, history
// files, pg_controldata and log lines, the facts of a reading as the front
// ends show them (Facts), and the diagnosis: Diagnose decides healthy,
// diverged, stalled or unknown from a snapshot and earlier ones, and Watch
// keeps those earlier polls so that the debugger and `walstep run` fold the
// same history the same way. ReadWALAtFork reads the WAL at the fork with
// the server's own pg_waldump (through the backend, from the archive or
// pg_wal) and names the relations on the primary. ApplyProof adds the
// proof from the data to a diagnosis (a marker row's fate on each node,
// the records past the fork), judged on each standby against its own
// verdict, and makes a verdict unknown, saying why,
// where that data contradicts it. It knows nothing about terminals.
package pg
