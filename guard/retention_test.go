package guard_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/internal/testclock"
	"github.com/sendguard/sendguard/storage"
)

func logStats(t *testing.T, g *guard.Guard) storage.LogStats {
	t.Helper()
	ls, err := g.Replication().LogStats(t.Context())
	if err != nil {
		t.Fatalf("LogStats: %v", err)
	}
	return ls
}

// churn blocks and unblocks n contacts, leaving every even one blocked.
func churn(t *testing.T, g *guard.Guard, n int) {
	t.Helper()
	for i := range n {
		r := fmt.Sprintf("c%d@example.com", i)
		mustBlock(t, g, r, "x")
		if i%2 == 1 {
			if _, err := g.Unblock(t.Context(), r); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestGuard_TrimsWhileOpen: with retention 0, the maintenance loop trims
// the records every consumer has passed while the guard is open, and not
// one past the slowest consumer.
func TestGuard_TrimsWhileOpen(t *testing.T) {
	g := openGuard(t, t.TempDir(), guard.WithLogRetention(0), guard.WithRebuildInterval(5*time.Millisecond))
	r := g.Replication()
	ctx := t.Context()
	if err := r.SetOffset(ctx, "slow", 0); err != nil {
		t.Fatal(err)
	}
	churn(t, g, 20) // 30 records
	last, _ := r.LastSeq(ctx)
	if err := r.SetOffset(ctx, "fast", last); err != nil {
		t.Fatal(err)
	}
	if err := r.SetOffset(ctx, "slow", 10); err != nil {
		t.Fatal(err)
	}
	// The loop runs on its own schedule: wait for it, up to a bound.
	deadline := time.Now().Add(5 * time.Second)
	var ls storage.LogStats
	for {
		ls = logStats(t, g)
		if ls.FirstSeq == 11 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if ls.FirstSeq != 11 || ls.Records != int(last)-10 || ls.Trimmed != 10 {
		t.Fatalf("while open: %+v; want the first 10 records trimmed and the rest kept for slow", ls)
	}
	if got := ls.HeldBy(); got != "slow" {
		t.Errorf("HeldBy = %q, want slow", got)
	}
	if g.Stats().Trimmed != 10 {
		t.Errorf("Stats.Trimmed = %d, want 10", g.Stats().Trimmed)
	}
	// The slow consumer catches up: the log shrinks to its last record.
	if err := r.SetOffset(ctx, "slow", last); err != nil {
		t.Fatal(err)
	}
	for {
		ls = logStats(t, g)
		if ls.Records == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if ls.Records != 1 || ls.FirstSeq != last || ls.HeldBy() != "" {
		t.Errorf("after catching up: %+v, held by %q; want only the last record, held by nobody", ls, ls.HeldBy())
	}
}

// TestGuard_TrimsAtClose: the retention keeps young records; Close trims
// the old ones every consumer has passed; a consumer gone for good pins
// the log until it is forgotten; with no consumer, retention alone trims.
func TestGuard_TrimsAtClose(t *testing.T) {
	dir := t.TempDir()
	clk := testclock.New()
	open := func() *guard.Guard {
		// A schedule long enough that only Close trims.
		return openGuard(t, dir, guard.WithClock(clk.Now), guard.WithLogRetention(time.Hour),
			guard.WithRebuildInterval(time.Hour))
	}
	g := open()
	ctx := t.Context()
	churn(t, g, 10) // 15 records
	r := g.Replication()
	last, _ := r.LastSeq(ctx)
	if err := r.SetOffset(ctx, "gone", 4); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	g = open()
	if ls := logStats(t, g); ls.Records != int(last) || ls.FirstSeq != 1 {
		t.Fatalf("young records: %+v; want all %d kept", ls, last)
	}
	clk.Advance(2 * time.Hour)
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	g = open()
	ls := logStats(t, g)
	if ls.FirstSeq != 5 || ls.HeldBy() != "gone" {
		t.Fatalf("old records: %+v (held by %q); want 1-4 trimmed, the rest held by gone", ls, ls.HeldBy())
	}
	if err := g.Replication().Forget(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	g = open()
	// No consumer left: retention alone decides, and the last record stays.
	if ls := logStats(t, g); ls.Records != 1 || ls.FirstSeq != last || len(ls.Offsets) != 0 {
		t.Fatalf("after Forget: %+v; want only the last record", ls)
	}
	// A consumer that comes back is behind the trimmed log.
	if _, err := g.Replication().ReadLog(ctx, 4, 0); err == nil {
		t.Error("ReadLog from the forgotten offset: no error, want ErrBehindLog")
	}
}

func TestGuard_LogRetentionNegative(t *testing.T) {
	if g, err := guard.Open(t.TempDir(), guard.WithLogRetention(-time.Second)); err == nil {
		g.Close()
		t.Fatal("Open with a negative retention: no error")
	}
}
