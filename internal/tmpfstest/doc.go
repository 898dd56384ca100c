// Package tmpfstest gives tests a real, small filesystem they can fill to
// the last pages: a tmpfs mounted in a temporary directory. It exists to
// test what the store and the command line do on a full disk, where Badger's
// memory-mapped writes fault (SIGBUS) instead of failing with ENOSPC.
//
// Mounting needs root (CI runs as root). Where it is impossible, [Mount]
// fails the test loudly rather than skipping it, so a full-disk test never
// passes by not running.
package tmpfstest
