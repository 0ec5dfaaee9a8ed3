// Package transcript writes a Markdown account of a session that a
// colleague can read without walstep: the steps package hands it the
// Runner's events and it draws each as a section, with the code blocks and
// history lines of package present. Sections are appended as steps end, so
// a session that dies still leaves what happened.
package transcript
