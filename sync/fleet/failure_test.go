package fleet_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/storage"
	"github.com/sendguard/sendguard/sync/fleet"
)

func contacts(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d@example.com", prefix, i)
	}
	return out
}

// TestFleet_UnpublishedLocalBlockIsNeverUndone: b blocks contacts while it
// is not replicating; meanwhile a blocks and unblocks them. When b catches
// up, a's unblocks come before b's blocks in the stream: b must not apply
// them, not even for a moment, and every member ends with the contacts
// blocked (b's blocks are last in stream order).
func TestFleet_UnpublishedLocalBlockIsNeverUndone(t *testing.T) {
	ctx := t.Context()
	srv := startServer(t)
	a := newMember(t, "a", srv.url(), fleet.Config{})
	b := newMember(t, "b", srv.url(), fleet.Config{})
	c := newMember(t, "c", srv.url(), fleet.Config{})
	b.stopRun()
	list := contacts("x", 100)
	for _, who := range list {
		if _, err := b.g.Block(ctx, who, "b says"); err != nil {
			t.Fatal(err)
		}
	}
	for _, who := range list {
		if _, err := a.g.Block(ctx, who, "a says"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.g.Unblock(ctx, who); err != nil {
			t.Fatal(err)
		}
	}
	// a publishes in order: once c has a's last block, a's unblocks are
	// all in the stream, before anything b will publish.
	if _, err := a.g.Block(ctx, "marker@example.com", "a says"); err != nil {
		t.Fatal(err)
	}
	waitCheck(t, c, "marker@example.com", true, 5*time.Second)
	// Watch b while it catches up: every contact stays blocked.
	var lapses atomic.Int64
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, who := range list {
				if v, err := b.g.Check(ctx, who); err == nil && !v.Blocked {
					lapses.Add(1)
				}
			}
		}
	}()
	b.start()
	st := converge(t, 10*time.Second, a, b, c)
	close(stop)
	<-watched
	if n := lapses.Load(); n > 0 {
		t.Errorf("b let its own blocked contacts through %d times while catching up", n)
	}
	if len(st) != len(list)+1 {
		t.Errorf("converged on %d blocks, want the %d b made last and a's marker", len(st), len(list))
	}
	// b never applied a's unblocks: its log has no unblock at all.
	recs, err := b.g.Replication().ReadLog(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Op == storage.OpUnblock {
			t.Fatalf("b applied an unblock that came before its own block: %+v", r)
		}
	}
}

// TestFleet_SameContactAtOnce: two members change the same contacts while
// neither has published; stream order decides, and all three agree.
func TestFleet_SameContactAtOnce(t *testing.T) {
	ctx := t.Context()
	srv := startServer(t)
	a := newMember(t, "a", srv.url(), fleet.Config{})
	b := newMember(t, "b", srv.url(), fleet.Config{})
	c := newMember(t, "c", srv.url(), fleet.Config{})
	list := contacts("y", 40)
	for _, who := range list {
		if _, err := c.g.Block(ctx, who, "c says"); err != nil {
			t.Fatal(err)
		}
	}
	converge(t, 5*time.Second, a, b, c)
	a.stopRun()
	b.stopRun()
	later := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	for i, who := range list {
		if i%2 == 0 {
			if _, err := a.g.Unblock(ctx, who); err != nil {
				t.Fatal(err)
			}
			if _, err := b.g.Unblock(ctx, who); err != nil {
				t.Fatal(err)
			}
			if _, err := b.g.Block(ctx, who, "b again", guard.WithExpiresAt(later)); err != nil {
				t.Fatal(err)
			}
		} else {
			if _, err := b.g.Unblock(ctx, who); err != nil {
				t.Fatal(err)
			}
			if _, err := a.g.Block(ctx, who, "a again", guard.WithExpiresAt(later)); err != nil {
				t.Fatal(err)
			}
		}
	}
	a.start()
	b.start()
	st := converge(t, 10*time.Second, a, b, c)
	t.Logf("agreed on %d of %d contacts blocked", len(st), len(list))
}

// TestFleet_MemberReopened: a member closed and reopened from its
// directory catches up with what it missed, publishes what was blocked
// on its guard while it was out of the fleet, and applies nothing twice.
func TestFleet_MemberReopened(t *testing.T) {
	ctx := t.Context()
	srv := startServer(t)
	a := newMember(t, "a", srv.url(), fleet.Config{})
	b := newMember(t, "b", srv.url(), fleet.Config{})
	c := newMember(t, "c", srv.url(), fleet.Config{})
	for _, who := range contacts("before", 20) {
		if _, err := a.g.Block(ctx, who, "x"); err != nil {
			t.Fatal(err)
		}
	}
	converge(t, 5*time.Second, a, b, c)
	c.close()
	for _, who := range contacts("while", 20) {
		if _, err := a.g.Block(ctx, who, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.g.Unblock(ctx, "before0@example.com"); err != nil {
		t.Fatal(err)
	}
	// c's guard is used without the fleet for a while.
	g, err := guard.Open(c.dir, guard.WithSnapshot(false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Block(ctx, "offline@example.com", "blocked while out of the fleet"); err != nil {
		t.Fatal(err)
	}
	last, _ := g.Replication().LastSeq(ctx)
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	c.open()
	c.start()
	st := converge(t, 10*time.Second, a, b, c)
	if len(st) != 40 { // 20 + 20 - 1 + 1
		t.Errorf("converged on %d blocks, want 40", len(st))
	}
	waitCheck(t, a, "offline@example.com", true, 5*time.Second)
	// c applied only what it missed: the 20 new blocks and the unblock.
	recs, err := c.g.Replication().ReadLog(ctx, last, 0)
	if err != nil {
		t.Fatal(err)
	}
	applied := 0
	for _, r := range recs {
		if r.Origin == fleet.Origin {
			applied++
		}
	}
	if applied != 21 {
		t.Errorf("c applied %d changes after reopening, want 21 (nothing twice)", applied)
	}
}

// TestFleet_ServerRestart: with the server down, blocks are enforced at
// once and nothing waits; when it is back on the same store, the backlog
// is published and every member agrees.
func TestFleet_ServerRestart(t *testing.T) {
	ctx := t.Context()
	srv := startServer(t)
	a := newMember(t, "a", srv.url(), fleet.Config{})
	b := newMember(t, "b", srv.url(), fleet.Config{})
	c := newMember(t, "c", srv.url(), fleet.Config{})
	for _, who := range contacts("up", 10) {
		if _, err := a.g.Block(ctx, who, "x"); err != nil {
			t.Fatal(err)
		}
	}
	converge(t, 5*time.Second, a, b, c)
	srv.stop()
	start := time.Now()
	for i, who := range contacts("down", 30) {
		mb := []*member{a, b, c}[i%3]
		if _, err := mb.g.Block(ctx, who, "x"); err != nil {
			t.Fatal(err)
		}
		if v, _ := mb.g.Check(ctx, who); !v.Blocked {
			t.Fatalf("%s: %s not blocked locally at once", mb.name, who)
		}
	}
	if _, err := b.g.Unblock(ctx, "up3@example.com"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("31 local changes took %v with the server down: something waited on NATS", d)
	}
	time.Sleep(200 * time.Millisecond)
	srv.start()
	st := converge(t, 15*time.Second, a, b, c)
	if len(st) != 39 {
		t.Errorf("converged on %d blocks, want 39", len(st))
	}
}

// TestFleet_ConnectionCut: one member's connection is cut and restored;
// changes on both sides meanwhile reach everyone.
func TestFleet_ConnectionCut(t *testing.T) {
	ctx := t.Context()
	srv := startServer(t)
	p := startProxy(t, fmt.Sprintf("127.0.0.1:%d", srv.port))
	a := newMember(t, "a", srv.url(), fleet.Config{})
	b := newMember(t, "b", p.url(), fleet.Config{})
	c := newMember(t, "c", srv.url(), fleet.Config{})
	if _, err := a.g.Block(ctx, "first@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	converge(t, 5*time.Second, a, b, c)
	p.setCut(true)
	for i, who := range contacts("cut", 20) {
		mb := a
		if i%2 == 1 {
			mb = b
		}
		if _, err := mb.g.Block(ctx, who, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.g.Unblock(ctx, "first@example.com"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if v, _ := c.g.Check(ctx, "cut1@example.com"); v.Blocked {
		t.Fatal("b's block reached c through a cut connection")
	}
	p.setCut(false)
	st := converge(t, 15*time.Second, a, b, c)
	if len(st) != 20 {
		t.Errorf("converged on %d blocks, want 20", len(st))
	}
	_ = storage.OpBlock
}
