// Package untrusted makes text that walstep did not write (server logs,
// hook and command output, file names, server messages) safe to draw on a
// terminal: escape sequences and control bytes are removed where such text
// enters walstep, so colour and cursor control come only from walstep's own
// styles.
package untrusted
