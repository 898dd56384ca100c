package guard_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

// TestGuard_ReadOnly: a read-only guard answers every check as a writable
// one would — from the snapshot while it matches the store, from a scan
// when it does not — refuses writes with storage.ErrReadOnly, and leaves
// the snapshot (file and stamp) as it found it.
func TestGuard_ReadOnly(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	g := openGuard(t, dir)
	mustBlock(t, g, "ann@example.com", "unsubscribed")
	mustBlock(t, g, "spam.test", "spam")
	mustBlock(t, g, "gone@example.com", "x")
	if _, err := g.Unblock(ctx, "gone@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(dir, "sendguard-filter.snap")
	before, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	check := func(g *guard.Guard, blocked ...string) {
		t.Helper()
		want := map[string]bool{"ann@example.com": true, "x@mail.spam.test": true, "gone@example.com": false, "new@example.com": false}
		for _, b := range blocked {
			want[b] = true
		}
		for r, w := range want {
			if v := mustCheck(t, g, r); v.Blocked != w {
				t.Errorf("Check(%s).Blocked = %v, want %v", r, v.Blocked, w)
			}
		}
	}
	ro, err := guard.Open(dir, guard.WithReadOnly(), guard.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	check(ro)
	if _, err := ro.Block(ctx, "new@example.com", "x"); !errors.Is(err, storage.ErrReadOnly) {
		t.Errorf("Block on a read-only guard: %v, want ErrReadOnly", err)
	}
	if _, err := ro.Unblock(ctx, "ann@example.com"); !errors.Is(err, storage.ErrReadOnly) {
		t.Errorf("Unblock on a read-only guard: %v, want ErrReadOnly", err)
	}
	if res, err := ro.Import(ctx, []string{"c@example.com"}, "x"); !errors.Is(err, storage.ErrReadOnly) || res.Added != 0 {
		t.Errorf("Import on a read-only guard: %+v, %v; want ErrReadOnly", res, err)
	}
	check(ro) // the refused writes left no trace
	if _, err := guard.Open(dir); !errors.Is(err, storage.ErrLocked) {
		t.Errorf("a writer beside a read-only guard: %v, want ErrLocked", err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if after, err := os.ReadFile(snap); err != nil || !bytes.Equal(after, before) {
		t.Errorf("a read-only guard rewrote the snapshot (%v)", err)
	}
	if logs.Len() != 0 {
		t.Errorf("the read-only guard did not load the matching snapshot:\n%s", logs.String())
	}

	// The snapshot's stamp is still there: a writable guard loads it.
	g = openGuard(t, dir, guard.WithLogger(logger))
	check(g)
	if logs.Len() != 0 {
		t.Errorf("the snapshot no longer matches after a read-only guard:\n%s", logs.String())
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}

	// A block written past the guard makes the snapshot stale: the
	// read-only guard scans the store and sees it.
	s, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := normalize.Contact{Kind: normalize.Email, Value: "direct@example.com"}
	if _, _, err := s.Put(ctx, storage.Entry{Contact: c, Reason: "x", Source: "local"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	ro = openGuard(t, dir, guard.WithReadOnly(), guard.WithLogger(logger))
	check(ro, "direct@example.com")
	if !strings.Contains(logs.String(), "rebuilding") {
		t.Errorf("a stale snapshot was not rebuilt:\n%s", logs.String())
	}
}

// TestGuard_MustExist: WithMustExist and WithReadOnly refuse a directory
// with no store, creating nothing; a plain Open refuses one that holds
// other files.
func TestGuard_MustExist(t *testing.T) {
	base := t.TempDir()
	missing := filepath.Join(base, "missing")
	for _, opt := range []guard.Option{guard.WithMustExist(), guard.WithReadOnly()} {
		if g, err := guard.Open(missing, opt); !errors.Is(err, storage.ErrNoStore) || !strings.Contains(err.Error(), missing) {
			if err == nil {
				_ = g.Close()
			}
			t.Errorf("Open of a missing directory: %v, want ErrNoStore naming it", err)
		}
		if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a refused Open created %s", missing)
		}
	}
	foreign := filepath.Join(base, "foreign")
	if err := os.Mkdir(foreign, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(foreign, "report.pdf"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if g, err := guard.Open(foreign); !errors.Is(err, storage.ErrNoStore) {
		if err == nil {
			_ = g.Close()
		}
		t.Errorf("Open of a directory of other files: %v, want ErrNoStore", err)
	}
	if ents, _ := os.ReadDir(foreign); len(ents) != 1 {
		t.Errorf("a refused Open wrote into %s: %d entries", foreign, len(ents))
	}
	g := openGuard(t, missing) // created where it may be
	mustBlock(t, g, "a@example.com", "x")
}
