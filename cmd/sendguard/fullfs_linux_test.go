package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sendguard/sendguard/internal/tmpfstest"
)

// TestFullFilesystem fills a real tmpfs to its last pages under a store:
// check, stats and export answer from it, block and unblock fail with one
// clear line and exit 2 — none dies with SIGBUS — and once there is room
// again nothing was lost or half-written.
func TestFullFilesystem(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	mnt := tmpfstest.Mount(t, 80<<20) // the store keeps 64 MiB free
	s.db = filepath.Join(mnt, "db")
	s.run("", "block", "--reason", "bounce", "a@example.com", "spam.test").want(t, 0)

	unfill := tmpfstest.Fill(t, mnt, 12<<10)
	noCrash := func(r result) result {
		t.Helper()
		if strings.Contains(r.stderr, "SIGBUS") || strings.Contains(r.stderr, "fatal error") {
			t.Fatalf("crashed:\n%s", r.stderr)
		}
		return r
	}
	wantLines(t, noCrash(s.run("", "check", "a@example.com", "x@spam.test", "b@example.com")).want(t, 1).stdout,
		"blocked\ta@example.com\tbounce\tlocal\ta@example.com", "blocked\tx@spam.test\tbounce\tlocal\tspam.test", "allowed\tb@example.com")
	r := noCrash(s.run("", "stats")).want(t, 0)
	if !strings.Contains(r.stdout, "entries\t2\n") {
		t.Errorf("stats on a full filesystem:\n%s", r.stdout)
	}
	noCrash(s.run("", "export")).want(t, 0)
	for _, args := range [][]string{{"block", "c@example.com"}, {"unblock", "a@example.com"}} {
		r := noCrash(s.run("", args...)).want(t, 2)
		wantOneErrorLine(t, r, "disk almost full", s.db)
	}
	unfill()

	wantLines(t, s.run("", "check", "a@example.com", "c@example.com").want(t, 1).stdout,
		"blocked\ta@example.com\tbounce\tlocal\ta@example.com", "allowed\tc@example.com")
	s.run("", "block", "c@example.com").want(t, 0)
}
