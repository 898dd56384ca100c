package guard_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/internal/tmpfstest"
	"github.com/sendguard/sendguard/storage"
)

// TestGuard_FullFilesystem fills a real tmpfs to its last page under an
// open guard with unflushed blocks: Close returns ErrDiskFull instead of
// dying with SIGBUS while flushing, and finishes once there is room. A
// guard opened on the full filesystem checks, refuses blocks and closes
// cleanly. No block is lost.
func TestGuard_FullFilesystem(t *testing.T) {
	ctx := t.Context()
	mnt := tmpfstest.Mount(t, 24<<20)
	dir := filepath.Join(mnt, "db")
	room := guard.WithMinFreeDisk(1 << 20)

	g, err := guard.Open(dir, room)
	if err != nil {
		t.Fatal(err)
	}
	mustBlock(t, g, "ann@example.com", "unsubscribed")
	mustBlock(t, g, "spam.test", "spam")

	unfill := tmpfstest.Fill(t, mnt, 0)
	if _, err := g.Block(ctx, "bob@example.com", "x"); !errors.Is(err, storage.ErrDiskFull) {
		t.Errorf("Block on a full filesystem: %v, want ErrDiskFull", err)
	}
	if err := g.Close(); !errors.Is(err, storage.ErrDiskFull) {
		t.Fatalf("Close on a full filesystem: %v, want ErrDiskFull", err)
	}
	if _, err := g.Check(ctx, "ann@example.com"); !errors.Is(err, guard.ErrClosed) {
		t.Errorf("Check after Close: %v, want ErrClosed", err)
	}
	unfill()
	if err := g.Close(); err != nil {
		t.Fatalf("Close again with room: %v", err)
	}

	unfill = tmpfstest.Fill(t, mnt, 8<<10)
	full, err := guard.Open(dir, room)
	if err != nil {
		t.Fatalf("Open on a full filesystem: %v", err)
	}
	for r, want := range map[string]bool{"ann@example.com": true, "x@spam.test": true, "bob@example.com": false} {
		if v := mustCheck(t, full, r); v.Blocked != want {
			t.Errorf("on a full filesystem, Check(%s).Blocked = %v, want %v", r, v.Blocked, want)
		}
	}
	if _, err := full.Block(ctx, "bob@example.com", "x"); !errors.Is(err, storage.ErrDiskFull) {
		t.Errorf("Block after Open on a full filesystem: %v, want ErrDiskFull", err)
	}
	if err := full.Close(); err != nil {
		t.Errorf("Close after Open on a full filesystem: %v", err)
	}
	unfill()

	g = openGuard(t, dir, room)
	if v := mustCheck(t, g, "ann@example.com"); !v.Blocked || v.Reason != "unsubscribed" {
		t.Errorf("after the full filesystem: %+v", v)
	}
	mustBlock(t, g, "bob@example.com", "x")
}
