package sync_test

import (
	"slices"
	"testing"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
	blocksync "github.com/sendguard/sendguard/sync"
)

// listed returns the values f lists, sorted.
func (f *fakeRemote) listed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, b := range f.list {
		out = append(out, b.Value)
	}
	slices.Sort(out)
	return out
}

func passOnce(t *testing.T, g *guard.Guard, remotes ...blocksync.Remote) {
	t.Helper()
	e := newEngine(t, g, remotes)
	rep, err := e.SyncOnce(t.Context())
	if err != nil {
		t.Fatalf("SyncOnce: %v", err)
	}
	if n := rep.Pending(); n != 0 {
		t.Fatalf("pending after SyncOnce: %d", n)
	}
}

// TestEngine_BootstrapAfterTrim: a remote added after the change log was
// trimmed receives every contact still blocked — and none unblocked
// before it was added — and then follows the log; the remote that was
// there all along is not sent anything twice.
func TestEngine_BootstrapAfterTrim(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	g, err := guard.Open(dir, guard.WithExpectedSize(1<<12))
	if err != nil {
		t.Fatal(err)
	}
	a := newFakeRemote("a")
	var want []string
	for i := range 20 {
		if _, err := g.Block(ctx, emailN(i), "x"); err != nil {
			t.Fatal(err)
		}
	}
	passOnce(t, g, a)
	for i := range 20 {
		if i%4 == 0 {
			if _, err := g.Unblock(ctx, emailN(i)); err != nil {
				t.Fatal(err)
			}
		} else {
			want = append(want, emailN(i))
		}
	}
	for i := 20; i < 25; i++ {
		if _, err := g.Block(ctx, emailN(i), "x"); err != nil {
			t.Fatal(err)
		}
		want = append(want, emailN(i))
	}
	passOnce(t, g, a)
	if got := len(a.listed()); got != 25 {
		t.Fatalf("a lists %d, want 25", got)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := storage.Open(dir, storage.Options{LogRetention: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond)
	if n, err := s.Trim(ctx); err != nil || n != 29 {
		t.Fatalf("Trim = %d, %v; want 29: all but the last record", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	g, err = guard.Open(dir, guard.WithExpectedSize(1<<12))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()

	b := newFakeRemote("b")
	e := newEngine(t, g, []blocksync.Remote{a, b})
	st, err := e.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st[1].Pending != len(want) {
		t.Errorf("b pending before its first pass = %d, want %d (from the entries)", st[1].Pending, len(want))
	}
	if _, err := e.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	if got := b.listed(); !slices.Equal(got, want) {
		t.Errorf("b lists %v\nwant    %v", got, want)
	}
	if got := len(a.listed()); got != 25 {
		t.Errorf("a lists %d after the bootstrap of b, want 25 (nothing twice)", got)
	}
	// Then b tails the log.
	if _, err := g.Block(ctx, "late@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(b.listed(), "late@example.com") || len(b.listed()) != len(want)+1 {
		t.Errorf("b after a later block lists %d, want %d with late@example.com", len(b.listed()), len(want)+1)
	}
	if st, _ := e.Stats(ctx); st[1].Pending != 0 || st[1].Lag != 0 {
		t.Errorf("b stats after the passes: pending %d, lag %d; want 0, 0", st[1].Pending, st[1].Lag)
	}
}

// TestEngine_NoEchoByOrigin: a block applied from elsewhere with a remote's
// consumer as origin is not pushed to that remote, whatever its source,
// and goes to the others.
func TestEngine_NoEchoByOrigin(t *testing.T) {
	ctx := t.Context()
	g := openGuard(t)
	defer g.Close()
	a, b := newFakeRemote("a"), newFakeRemote("b")
	c, err := g.Normalizer().Parse("ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Replication().Apply(ctx, storage.Record{Op: storage.OpBlock, Contact: c, Source: "someone",
		Origin: blocksync.Consumer("a")}); err != nil {
		t.Fatal(err)
	}
	passOnce(t, g, a, b)
	if got := a.listed(); len(got) != 0 {
		t.Errorf("a got its own change back: %v", got)
	}
	if got := b.listed(); !slices.Equal(got, []string{"ann@example.com"}) {
		t.Errorf("b lists %v, want the change", got)
	}
}

// TestEngine_RemoteQueries: dead letters, retry, state and Forget by
// remote name, from an engine with no remotes.
func TestEngine_RemoteQueries(t *testing.T) {
	ctx := t.Context()
	g := openGuard(t)
	defer g.Close()
	a := newFakeRemote("a")
	a.refuse = func(normalize.Contact) string { return "no thanks" }
	if _, err := g.Block(ctx, "ann@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	passOnce(t, g, a)
	e, err := blocksync.New(g.Replication(), nil)
	if err != nil {
		t.Fatal(err)
	}
	dl, err := e.DeadLetters(ctx, "")
	if err != nil || len(dl) != 1 || dl[0].Remote != "a" || dl[0].Reason != "no thanks" || dl[0].Record.Contact.Value != "ann@example.com" {
		t.Fatalf("DeadLetters = %+v, %v", dl, err)
	}
	for name, want := range map[string]bool{"a": true, "b": false} {
		if has, err := e.HasState(ctx, name); has != want || err != nil {
			t.Errorf("HasState(%s) = %v, %v; want %v", name, has, err, want)
		}
	}
	if _, err := e.HasState(ctx, "no/such"); err == nil {
		t.Error("HasState of an invalid name: no error")
	}
	if n, err := e.RetryDeadLetters(ctx, ""); n != 1 || err != nil {
		t.Errorf("RetryDeadLetters = %d, %v; want 1", n, err)
	}
	if err := e.Forget(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if has, _ := e.HasState(ctx, "a"); has {
		t.Error("a still has state after Forget")
	}
	if off, _ := g.Replication().Offset(ctx, blocksync.Consumer("a")); off != 0 {
		t.Errorf("offset after Forget = %d", off)
	}
}
