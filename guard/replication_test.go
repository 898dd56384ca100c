package guard_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

func lastRecord(t *testing.T, r *guard.Replication) storage.Record {
	t.Helper()
	last, err := r.LastSeq(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	recs, err := r.ReadLog(t.Context(), last-1, 1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("ReadLog(%d) = %v, %v", last-1, recs, err)
	}
	return recs[0]
}

func TestReplication_ApplyCarriesTheChangeExactly(t *testing.T) {
	ctx := t.Context()
	g := openGuard(t, t.TempDir())
	r := g.Replication()
	c := canon(t, g, "ann@example.com")
	created := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	changes := r.Changes()
	in := storage.Record{Op: storage.OpBlock, Contact: c, Original: "Ann <ann@example.com>", Reason: "complaint",
		Source: "opencx", Origin: "fleet", CreatedAt: created, ExpiresAt: expires}
	if ok, err := r.Apply(ctx, in); !ok || err != nil {
		t.Fatalf("Apply = %v, %v; want a change", ok, err)
	}
	select {
	case <-changes:
	default:
		t.Error("Changes not woken by Apply")
	}
	got := lastRecord(t, r)
	if got.Op != storage.OpBlock || got.Contact != c || got.Original != in.Original || got.Reason != in.Reason ||
		got.Source != "opencx" || got.Origin != "fleet" || !got.CreatedAt.Equal(created) || !got.ExpiresAt.Equal(expires) {
		t.Errorf("record = %+v, want the applied change %+v", got, in)
	}
	v, err := g.Check(ctx, "ann@example.com")
	if err != nil || !v.Blocked || v.Source != "opencx" || !v.CreatedAt.Equal(created) {
		t.Errorf("Check = %+v, %v; want blocked from opencx at %v", v, err, created)
	}
	// Idempotent: the same change again changes nothing and logs nothing.
	before := got.Seq
	if ok, err := r.Apply(ctx, in); ok || err != nil {
		t.Errorf("second Apply = %v, %v; want no change", ok, err)
	}
	if last, _ := r.LastSeq(ctx); last != before {
		t.Errorf("LastSeq moved %d → %d on a no-op Apply", before, last)
	}
	// An unblock keeps its origin too; a local change has none.
	if ok, err := r.Apply(ctx, storage.Record{Op: storage.OpUnblock, Contact: c, Source: "peer", Origin: "fleet"}); !ok || err != nil {
		t.Fatalf("Apply unblock = %v, %v", ok, err)
	}
	if got := lastRecord(t, r); got.Op != storage.OpUnblock || got.Origin != "fleet" || got.Source != "peer" {
		t.Errorf("unblock record = %+v", got)
	}
	if _, err := g.Block(ctx, "bob@example.com", "local"); err != nil {
		t.Fatal(err)
	}
	if got := lastRecord(t, r); got.Origin != "" || got.Source != "local" || got.CreatedAt.IsZero() {
		t.Errorf("local record = %+v, want no origin, source local, a creation time", got)
	}
}

func TestReplication_ApplyRefusesBadInput(t *testing.T) {
	ctx := t.Context()
	g := openGuard(t, t.TempDir())
	r := g.Replication()
	c := canon(t, g, "ann@example.com")
	cases := []struct {
		name string
		rec  storage.Record
		want error
	}{
		{"no origin", storage.Record{Op: storage.OpBlock, Contact: c}, storage.ErrInvalid},
		{"not canonical", storage.Record{Op: storage.OpBlock, Origin: "f", Contact: normalize.Contact{Kind: normalize.Email, Value: "Ann@Example.com"}}, normalize.ErrInvalid},
		{"not a contact", storage.Record{Op: storage.OpBlock, Origin: "f", Contact: normalize.Contact{Kind: normalize.Phone, Value: "12"}}, normalize.ErrInvalid},
		{"no kind", storage.Record{Op: storage.OpBlock, Origin: "f", Contact: normalize.Contact{Value: "x"}}, normalize.ErrInvalid},
		{"bad op", storage.Record{Op: 9, Origin: "f", Contact: c}, storage.ErrInvalid},
	}
	for _, tc := range cases {
		if ok, err := r.Apply(ctx, tc.rec); ok || !errors.Is(err, tc.want) {
			t.Errorf("%s: Apply = %v, %v; want %v", tc.name, ok, err, tc.want)
		}
	}
	// A block that lapsed on the way changes nothing, without error.
	past := storage.Record{Op: storage.OpBlock, Origin: "f", Contact: c, ExpiresAt: time.Now().Add(-time.Second)}
	if ok, err := r.Apply(ctx, past); ok || err != nil {
		t.Errorf("expired Apply = %v, %v; want no change, no error", ok, err)
	}
	if v, _ := g.Check(ctx, "ann@example.com"); v.Blocked {
		t.Error("refused changes blocked the contact")
	}
}

// TestReplication_BootstrapAfterTrim: a consumer behind a trimmed log is
// told so, is fed the live blocks (and not the unblocked ones) from one
// scan at a known seq, and then tails the log from that seq.
func TestReplication_BootstrapAfterTrim(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	g, err := guard.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"a@example.com", "b@example.com", "c.test", "+14155550100"} {
		if _, err := g.Block(ctx, in, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := g.Unblock(ctx, "b@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := storage.Open(dir, storage.Options{LogRetention: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond)
	if n, err := s.Trim(ctx); n != 4 || err != nil {
		t.Fatalf("Trim = %d, %v; want 4 (all but the last)", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	g, err = guard.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	r := g.Replication()
	for _, after := range []uint64{0, 3} {
		if recs, err := r.ReadLog(ctx, after, 0); !errors.Is(err, guard.ErrBehindLog) || recs != nil {
			t.Errorf("ReadLog(%d) = %v, %v; want ErrBehindLog", after, recs, err)
		}
	}
	last, _ := r.LastSeq(ctx)
	if _, err := r.ReadLog(ctx, last-1, 0); err != nil {
		t.Errorf("ReadLog(%d) at the first retained record: %v", last-1, err)
	}
	if err := r.SetOffset(ctx, "late", 0); err != nil {
		t.Fatal(err)
	}
	var got []string
	seq, err := r.Bootstrap(ctx, func(e storage.Entry) error {
		got = append(got, e.Contact.Value)
		return nil
	})
	if err != nil || seq != last {
		t.Fatalf("Bootstrap = %d, %v; want seq %d", seq, err, last)
	}
	slices.Sort(got)
	if want := []string{"+14155550100", "a@example.com", "c.test"}; !slices.Equal(got, want) {
		t.Errorf("Bootstrap fed %v, want %v (b was unblocked)", got, want)
	}
	if _, err := g.Block(ctx, "d@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	recs, err := r.ReadLog(ctx, seq, 0)
	if err != nil || len(recs) != 1 || recs[0].Contact.Value != "d@example.com" {
		t.Errorf("tail after bootstrap = %v, %v; want the one later block", recs, err)
	}
	// An error from fn stops the scan and comes back as it is.
	stop := errors.New("stop")
	if _, err := r.Bootstrap(ctx, func(storage.Entry) error { return stop }); err != stop {
		t.Errorf("Bootstrap with a failing fn = %v, want %v", err, stop)
	}
}

func TestReplication_ConsumerStateAndForget(t *testing.T) {
	ctx := t.Context()
	g := openGuard(t, t.TempDir())
	r := g.Replication()
	if _, err := g.Block(ctx, "a@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	rec := lastRecord(t, r)
	// Two consumers whose names and keys could run together stay apart.
	for _, cs := range []struct{ consumer, key, val string }{{"remote/a", "b/c", "1"}, {"remote/a/b", "c", "2"}} {
		if err := r.SetState(ctx, cs.consumer, cs.key, []byte(cs.val)); err != nil {
			t.Fatal(err)
		}
		if err := r.SetOffset(ctx, cs.consumer, rec.Seq); err != nil {
			t.Fatal(err)
		}
		if err := r.AddDeadLetter(ctx, cs.consumer, rec, "refused"); err != nil {
			t.Fatal(err)
		}
	}
	if v, ok, err := r.State(ctx, "remote/a", "b/c"); string(v) != "1" || !ok || err != nil {
		t.Errorf("State(remote/a, b/c) = %q, %v, %v", v, ok, err)
	}
	var keys []string
	if err := r.ScanState(ctx, "remote/a", "", func(k string, _ []byte) error { keys = append(keys, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{"b/c"}) {
		t.Errorf("ScanState(remote/a) keys = %v, want [b/c]", keys)
	}
	if err := r.Forget(ctx, "remote/a"); err != nil {
		t.Fatal(err)
	}
	if off, _ := r.Offset(ctx, "remote/a"); off != 0 {
		t.Errorf("offset after Forget = %d", off)
	}
	if _, ok, _ := r.State(ctx, "remote/a", "b/c"); ok {
		t.Error("state kept after Forget")
	}
	if dl, _ := r.DeadLetters(ctx, "remote/a"); len(dl) != 0 {
		t.Errorf("dead letters after Forget: %d", len(dl))
	}
	// The other consumer is untouched.
	if v, ok, _ := r.State(ctx, "remote/a/b", "c"); !ok || string(v) != "2" {
		t.Error("Forget dropped another consumer's state")
	}
	if off, _ := r.Offset(ctx, "remote/a/b"); off != rec.Seq {
		t.Errorf("other consumer's offset = %d, want %d", off, rec.Seq)
	}
	if dl, _ := r.DeadLetters(ctx, "remote/a/b"); len(dl) != 1 {
		t.Errorf("other consumer's dead letters = %d, want 1", len(dl))
	}
	if err := r.SetState(ctx, "", "k", nil); !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("SetState with no consumer = %v, want ErrInvalid", err)
	}
	g.Close()
	if _, err := r.ReadLog(ctx, 0, 0); !errors.Is(err, guard.ErrClosed) {
		t.Errorf("ReadLog after Close = %v, want ErrClosed", err)
	}
}

// TestReplication_ApplyIf: the condition runs with the guard's writes
// held, and a false answer applies nothing.
func TestReplication_ApplyIf(t *testing.T) {
	ctx := t.Context()
	g := openGuard(t, t.TempDir())
	r := g.Replication()
	c := canon(t, g, "ann@example.com")
	rec := storage.Record{Op: storage.OpBlock, Contact: c, Origin: "fleet"}
	if ok, err := r.ApplyIf(ctx, rec, func() bool { return false }); ok || err != nil {
		t.Fatalf("ApplyIf refused = %v, %v; want no change", ok, err)
	}
	if v, _ := g.Check(ctx, "ann@example.com"); v.Blocked {
		t.Fatal("a refused ApplyIf blocked the contact")
	}
	// A local block started from inside the condition waits until the
	// applied change is written: the condition sees no local change
	// slip in, and the block lands after it.
	blocked := make(chan error, 1)
	if ok, err := r.ApplyIf(ctx, rec, func() bool {
		go func() {
			_, err := g.Block(ctx, "bob@example.com", "local")
			blocked <- err
		}()
		time.Sleep(20 * time.Millisecond)
		last, _ := r.LastSeq(ctx)
		return last == 0 // the local block has not been written
	}); !ok || err != nil {
		t.Fatalf("ApplyIf = %v, %v; want the change (no local write during the condition)", ok, err)
	}
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	if got := lastRecord(t, r); got.Contact.Value != "bob@example.com" {
		t.Errorf("last record = %+v, want the local block after the applied one", got)
	}
	unblock := storage.Record{Op: storage.OpUnblock, Contact: c, Origin: "fleet"}
	if ok, err := r.ApplyIf(ctx, unblock, func() bool { return false }); ok || err != nil {
		t.Fatalf("refused unblock = %v, %v", ok, err)
	}
	if v, _ := g.Check(ctx, "ann@example.com"); !v.Blocked {
		t.Error("a refused unblock removed the block")
	}
}
