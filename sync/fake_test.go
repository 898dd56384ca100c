package sync_test

import (
	"context"
	"fmt"
	"slices"
	gosync "sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
	blocksync "github.com/sendguard/sendguard/sync"
)

// fakeRemote is an in-memory remote: a list, with failures injected by
// function fields. Its pull is a full scan with pageSize entries a page.
type fakeRemote struct {
	name     string
	kinds    map[normalize.Kind]bool // accepted kinds; nil: all
	refuse   func(c normalize.Contact) string
	pageSize int

	// pushErr, if set, is asked before each delivery attempt of r
	// (attempt counts from 1); a non-nil error fails the attempt. If
	// deliver is also true the record is listed anyway (the remote got it
	// but the answer was lost).
	pushErr func(r storage.Record, attempt int) (err error, deliver bool)
	// pullErr, if set, is asked before each page fetch.
	pullErr func(page int) error
	// mask, if set, says which entries a pull shows masked.
	mask func(b blocksync.RemoteBlock) bool

	mu       gosync.Mutex
	list     []blocksync.RemoteBlock
	attempts map[uint64]int
	pushTime []time.Time // when each delivery happened
	pushes   int         // Push calls
	pulls    int         // Pull calls
	nextID   int
}

func newFakeRemote(name string) *fakeRemote {
	return &fakeRemote{name: name, pageSize: 10, attempts: make(map[uint64]int)}
}

func (f *fakeRemote) Name() string { return f.name }

func (f *fakeRemote) Accepts(c normalize.Contact) (bool, string) {
	if f.kinds != nil && !f.kinds[c.Kind] {
		return false, ""
	}
	if f.refuse != nil {
		if why := f.refuse(c); why != "" {
			return false, why
		}
	}
	return true, ""
}

func (f *fakeRemote) Push(ctx context.Context, recs []storage.Record) ([]blocksync.Ack, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pushes++
	r := recs[0]
	f.attempts[r.Seq]++
	if f.pushErr != nil {
		if err, deliver := f.pushErr(r, f.attempts[r.Seq]); err != nil {
			if deliver {
				f.addLocked(r.Contact, r.Reason, time.Now())
			}
			return nil, err
		}
	}
	id := f.addLocked(r.Contact, r.Reason, time.Now())
	return []blocksync.Ack{{Seq: r.Seq, ID: id}}, nil
}

// add lists c as if blocked at the remote at time at.
func (f *fakeRemote) add(c normalize.Contact, reason string, at time.Time) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addLocked(c, reason, at)
}

func (f *fakeRemote) addLocked(c normalize.Contact, reason string, at time.Time) string {
	f.nextID++
	id := fmt.Sprint(f.nextID)
	f.list = append(f.list, blocksync.RemoteBlock{ID: id, Kind: c.Kind, Value: c.Value, Reason: reason, CreatedAt: at})
	f.pushTime = append(f.pushTime, time.Now())
	return id
}

func (f *fakeRemote) Pull(ctx context.Context, cur blocksync.Cursor) (blocksync.Page, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pulls++
	if f.pullErr != nil {
		if err := f.pullErr(cur.Page); err != nil {
			return blocksync.Page{}, err
		}
	}
	lo := min((cur.Page-1)*f.pageSize, len(f.list))
	hi := min(lo+f.pageSize, len(f.list))
	p := blocksync.Page{More: hi < len(f.list), Total: len(f.list)}
	for _, b := range f.list[lo:hi] {
		if f.mask != nil && f.mask(b) {
			b.Value, b.Masked = "* * * * *", true
		}
		p.Blocks = append(p.Blocks, b)
	}
	return p, nil
}

func (f *fakeRemote) pullCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pulls
}

func (f *fakeRemote) firstPush() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pushTime[0]
}

// remove drops every entry for value v.
func (f *fakeRemote) remove(v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list = slices.DeleteFunc(f.list, func(b blocksync.RemoteBlock) bool { return b.Value == v })
}

// values returns the listed values, in order.
func (f *fakeRemote) values() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.list))
	for i, b := range f.list {
		out[i] = b.Value
	}
	return out
}

func (f *fakeRemote) count(v string) int {
	n := 0
	for _, x := range f.values() {
		if x == v {
			n++
		}
	}
	return n
}

// openGuard opens an in-memory guard; the caller closes it (inside a
// synctest bubble, before the bubble ends).
func openGuard(t *testing.T, opts ...guard.Option) *guard.Guard {
	t.Helper()
	g, err := guard.Open("", append([]guard.Option{guard.WithInMemory(), guard.WithExpectedSize(1 << 12)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// inBubble runs f in a synctest bubble with an in-memory guard, closed
// before the bubble ends.
func inBubble(t *testing.T, f func(t *testing.T, g *guard.Guard)) {
	synctest.Test(t, func(t *testing.T) {
		g := openGuard(t)
		defer g.Close()
		f(t, g)
	})
}

// allBlocked checks that emailN(0..n-1) are all blocked.
func allBlocked(t *testing.T, g *guard.Guard, n int) {
	t.Helper()
	for i := range n {
		if !blocked(t, g, emailN(i)).Blocked {
			t.Fatalf("%s not blocked", emailN(i))
		}
	}
}

func newEngine(t *testing.T, g *guard.Guard, remotes []blocksync.Remote, opts ...blocksync.Option) *blocksync.Engine {
	t.Helper()
	opts = append([]blocksync.Option{
		blocksync.WithSeed(1),
		blocksync.WithBackoff(100*time.Millisecond, 10*time.Second),
	}, opts...)
	e, err := blocksync.New(g.Replication(), remotes, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func block(t *testing.T, g *guard.Guard, recipient string, opts ...guard.BlockOption) normalize.Contact {
	t.Helper()
	v, err := g.Block(t.Context(), recipient, "test", opts...)
	if err != nil {
		t.Fatalf("block %q: %v", recipient, err)
	}
	return v.Contact
}

func syncOnce(t *testing.T, e *blocksync.Engine) blocksync.Report {
	t.Helper()
	rep, err := e.SyncOnce(t.Context())
	if err != nil {
		t.Fatalf("SyncOnce: %v", err)
	}
	return rep
}

func blocked(t *testing.T, g *guard.Guard, recipient string) guard.Verdict {
	t.Helper()
	v, err := g.Check(t.Context(), recipient)
	if err != nil {
		t.Fatalf("check %q: %v", recipient, err)
	}
	return v
}

func remoteStats(t *testing.T, e *blocksync.Engine, name string) blocksync.RemoteStats {
	t.Helper()
	st, err := e.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Remote == name {
			return s
		}
	}
	t.Fatalf("no stats for %q", name)
	return blocksync.RemoteStats{}
}

// countEntries counts g's live blocks.
func countEntries(t *testing.T, g *guard.Guard) (int, error) {
	t.Helper()
	n := 0
	err := g.Scan(t.Context(), func(storage.Entry) error { n++; return nil })
	return n, err
}
