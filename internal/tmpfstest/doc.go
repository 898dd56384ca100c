// Package tmpfstest gives tests a real, small filesystem they can fill to
// the last pages: a tmpfs mounted in a temporary directory. It exists to
// test what the store and the command line do on a full disk, where Badger's
// memory-mapped writes fault (SIGBUS) instead of failing with ENOSPC.
//
// Mounting needs root. CI runs as root, and there [Mount] fails the test
// loudly if the mount is impossible, so a full-disk test never passes by not
// running. Run by a user who is not root (a developer's `go test ./...`),
// the test is skipped with a message saying so, rather than failing for a
// reason that has nothing to do with the code.
package tmpfstest
