// Package checkpoint keeps copies of a lab's state between steps, where
// no server runs, and puts them back: the debugger rewinds with them,
// run --from and explore --from start from them. One dependency rule
// (Deps) says when a kept state no longer holds; one copier
// (cluster.CopyGenerated) makes and restores them.
package checkpoint
