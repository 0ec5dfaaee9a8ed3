// Package outfile writes the files a user names on the command line
// (a transcript, a Markdown report, a recording, explore's results): a new
// file, or with replace a new file put in the old one's place, never
// written through a link or into a FIFO or device, readable by its owner
// alone, and a failed or short write is an error the command reports.
package outfile
