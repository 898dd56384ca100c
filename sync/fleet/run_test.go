package fleet_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/sync/fleet"
)

// TestRun_StopsItsGoroutines: once Run has returned, nothing it started
// runs on, though the connection (the caller's) stays open: the
// goroutine count falls back to what it was before Run, also after a
// second Run of the same member.
func TestRun_StopsItsGoroutines(t *testing.T) {
	srv := startServer(t)
	g, err := guard.Open(t.TempDir(), guard.WithSnapshot(false))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	nc := connect(t, srv.url())
	defer nc.Close()
	m, err := fleet.Join(g, nc, fleet.Config{Member: "api-7f9c", LeaseTTL: time.Second,
		Vendors: fleet.Vendors{Run: func(ctx context.Context) error { <-ctx.Done(); return nil }}})
	if err != nil {
		t.Fatal(err)
	}
	// nats.go answers every request of a connection through one
	// subscription it makes at the first and keeps while the connection
	// is open: make it now, it is not Run's.
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AccountInfo(t.Context()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the test's own goroutines settle
	before := clientGoroutines()
	for i := range 2 {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()
		who := fmt.Sprintf("run%d@example.com", i)
		if _, err := g.Block(t.Context(), who, "test"); err != nil {
			t.Fatal(err)
		}
		// Published, and met again in the stream: every loop has run.
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if st := m.Stats(); st.Applied == uint64(i+1) && st.Unpublished == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %d: not applied within 5s: %+v", i, m.Stats())
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v", err)
		}
		var now map[string]int
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if now = clientGoroutines(); !more(now, before) || time.Now().After(deadline) {
				break
			}
		}
		if more(now, before) {
			for fn, n := range now {
				if n > before[fn] {
					t.Errorf("run %d: %d goroutines %s after Run returned, %d before", i, n, fn, before[fn])
				}
			}
			t.FailNow()
		}
	}
}

// clientGoroutines counts the goroutines of the NATS client and of this
// package — those Run could leave behind; not the embedded server's, which
// come and go with streams and consumers, nor Badger's — by their entry
// function.
func clientGoroutines() map[string]int {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	out := map[string]int{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "nats-server/v2/server") ||
			!strings.Contains(g, "nats-io/nats.go") && !strings.Contains(g, "sendguard/sync/fleet") {
			continue
		}
		// The goroutine's entry: its outermost function that is not the
		// runtime's or package sync's (sync.WaitGroup.Go's wrapper).
		entry := ""
		for _, l := range strings.Split(g, "\n")[1:] {
			if strings.HasPrefix(l, "\t") || strings.HasPrefix(l, "created by") {
				continue
			}
			fn, _, _ := strings.Cut(l, "(0x")
			if !strings.HasPrefix(fn, "runtime.") && !strings.HasPrefix(fn, "sync.") && !strings.HasPrefix(fn, "internal/") {
				entry = fn
			}
		}
		out[entry]++
	}
	return out
}

// more reports whether now has more goroutines of some function than before.
func more(now, before map[string]int) bool {
	for fn, n := range now {
		if n > before[fn] {
			return true
		}
	}
	return false
}
