// Package dockertest holds what the Docker tests of several packages
// share: the image they run and the check that an engine and that image
// are there, so a missing engine reads the same way everywhere.
package dockertest
