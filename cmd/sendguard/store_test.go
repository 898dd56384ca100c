package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dirNames lists dir's entries, or "missing".
func dirNames(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return "missing"
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, ",")
}

// TestNoStore: a mistyped --db is never taken for an empty blocklist. The
// commands that only read refuse a directory that holds no store (missing,
// empty, or other files) with exit 2 naming it, and create nothing; the
// commands that write create a store in a missing or empty directory, but
// never among other files.
func TestNoStore(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	missing := filepath.Join(s.dir, "typo")
	empty := filepath.Join(s.dir, "empty")
	foreign := filepath.Join(s.dir, "home")
	for _, d := range []string{empty, foreign} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reads := [][]string{
		{"check", "a@example.com"},
		{"stats"},
		{"stats", "--json"},
		{"export"},
		{"dead-letters"},
	}
	for _, dir := range []string{missing, empty, foreign} {
		before := dirNames(t, dir)
		for _, args := range reads {
			r := s.run("", append([]string{"--db", dir}, args...)...).want(t, 2)
			wantOneErrorLine(t, r, dir, "no sendguard store")
			if strings.HasPrefix(r.stdout, "allowed") {
				t.Errorf("%v on %s answered %q", args, dir, r.stdout)
			}
		}
		if after := dirNames(t, dir); after != before {
			t.Errorf("read commands changed %s: %s -> %s", dir, before, after)
		}
	}

	// Writes never go among other files.
	for _, args := range [][]string{
		{"block", "a@example.com"},
		{"unblock", "a@example.com"},
		{"import", "-"},
		{"dead-letters", "--retry"},
	} {
		r := s.run("a@example.com\n", append([]string{"--db", foreign}, args...)...).want(t, 2)
		wantOneErrorLine(t, r, foreign, "holds other files")
	}
	if got := dirNames(t, foreign); got != "notes.txt" {
		t.Errorf("write commands wrote into %s: %s", foreign, got)
	}

	// Writes create a store in a missing or empty directory; reads then
	// find it.
	for _, dir := range []string{missing, empty} {
		s.run("", "--db", dir, "block", "a@example.com").want(t, 0)
		wantLines(t, s.run("", "--db", dir, "check", "a@example.com", "b@example.com").want(t, 1).stdout,
			"blocked\ta@example.com\t\tlocal\ta@example.com", "allowed\tb@example.com")
		s.run("", "--db", dir, "stats").want(t, 0)
		s.run("", "--db", dir, "export").want(t, 0)
		s.run("", "--db", dir, "dead-letters").want(t, 0)
	}
}
