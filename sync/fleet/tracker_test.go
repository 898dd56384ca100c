package fleet

import (
	"slices"
	"testing"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/storage"
)

func trackerGuard(t *testing.T) (*guard.Guard, *tracker) {
	t.Helper()
	g, err := guard.Open("", guard.WithInMemory())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g, newTracker(g.Replication(), "me", 0)
}

// TestTracker_Decisions: the decision table of the package comment, with
// changes queued, in flight, and placed before or after the message.
func TestTracker_Decisions(t *testing.T) {
	ctx := t.Context()
	g, tr := trackerGuard(t)
	if _, err := g.Block(ctx, "x@example.com", "l"); err != nil { // seq 1
		t.Fatal(err)
	}
	if _, err := g.Unblock(ctx, "x@example.com"); err != nil { // seq 2
		t.Fatal(err)
	}
	if _, err := g.Block(ctx, "y@example.com", "l"); err != nil { // seq 3
		t.Fatal(err)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if err := tr.catchUpLocked(ctx); err != nil {
		t.Fatal(err)
	}
	key := func(in string) string {
		c, err := g.Normalizer().Email(in)
		if err != nil {
			t.Fatal(err)
		}
		return string(c.Key())
	}
	x, y := key("x@example.com"), key("y@example.com")
	ops, wait := tr.pendingOps(x, 10, "", true)
	if wait != nil || !slices.Equal(ops, []storage.Op{storage.OpBlock, storage.OpUnblock}) {
		t.Fatalf("queued changes: ops %v wait %v; want both, no wait", ops, wait)
	}
	if allowed(storage.OpBlock, ops) || allowed(storage.OpUnblock, ops) {
		t.Error("a pending local unblock must win over any message")
	}
	// In flight: the place is unknown; a strict look waits.
	win := tr.window(10)
	if len(win) != 3 {
		t.Fatalf("window = %d changes, want 3", len(win))
	}
	if _, wait := tr.pendingOps(x, 10, "", true); wait == nil {
		t.Error("a change in flight must be waited for")
	}
	// Acknowledged: x's block at 5 (before a message at 10), its unblock at 12.
	tr.mu.Unlock()
	tr.ack(win[0], 5)
	tr.ack(win[1], 12)
	tr.ack(win[2], 7)
	tr.mu.Lock()
	ops, wait = tr.pendingOps(x, 10, "", true)
	if wait != nil || !slices.Equal(ops, []storage.Op{storage.OpUnblock}) {
		t.Errorf("at 10: ops %v wait %v; want the unblock at 12 only", ops, wait)
	}
	// y's block at 7: before 10, dropped; a message then applies.
	if ops, _ := tr.pendingOps(y, 10, "", true); len(ops) != 0 || !allowed(storage.OpUnblock, ops) {
		t.Errorf("y at 10: ops %v; want none", ops)
	}
	// Blocks only: a block merges, an unblock is skipped.
	bl := []storage.Op{storage.OpBlock}
	if !allowed(storage.OpBlock, bl) || allowed(storage.OpUnblock, bl) {
		t.Error("over pending blocks: a block applies, an unblock does not")
	}
	// Its own message (by Nats-Msg-Id) resolves the change itself.
	if ops, _ := tr.pendingOps(x, 12, msgID("me", 2), true); len(ops) != 0 {
		t.Errorf("own message: ops %v; want none", ops)
	}
	if through := tr.publishedThrough(); through != 3 {
		t.Errorf("published through %d, want 3", through)
	}
	if own := tr.ownCovered(); own != 3 {
		t.Errorf("ownCovered = %d, want 3", own)
	}
}

// TestTracker_RewindResends: after a restart the changes published after
// the last one met are read again and resent; an acknowledgement at or
// before the apply position resolves them at once.
func TestTracker_RewindResends(t *testing.T) {
	ctx := t.Context()
	g, _ := trackerGuard(t)
	for _, in := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		if _, err := g.Block(ctx, in, "l"); err != nil {
			t.Fatal(err)
		}
	}
	tr := newTracker(g.Replication(), "me", 3) // all three published before the restart
	tr.rewind(1, 20)                           // only seq 1 was met in the stream, at or before 20
	tr.mu.Lock()
	if err := tr.catchUpLocked(ctx); err != nil {
		t.Fatal(err)
	}
	win := tr.window(10)
	tr.mu.Unlock()
	if len(win) != 2 || win[0].id != msgID("me", 2) || win[1].id != msgID("me", 3) {
		t.Fatalf("resent %d changes, want seq 2 and 3 with their ids", len(win))
	}
	tr.ack(win[0], 15) // a duplicate: already met (≤ 20)
	tr.ack(win[1], 25) // after the apply position: still to meet
	tr.mu.Lock()
	if len(tr.byKey) != 1 || tr.ownCovered() != 2 {
		t.Errorf("unresolved keys %d, ownCovered %d; want 1 and 2", len(tr.byKey), tr.ownCovered())
	}
	tr.mu.Unlock()
	tr.rewind(0, 0) // holds changes: no effect
	if tr.covered != 3 {
		t.Errorf("covered = %d after a rewind with changes held, want 3", tr.covered)
	}
}
