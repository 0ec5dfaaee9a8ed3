// Package casttest plays asciicast recordings through a terminal emulator,
// for tests that check a recording shows what the program drew.
package casttest
