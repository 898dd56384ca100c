package sync_test

import (
	"context"
	"net/http"
	gosync "sync"
	"sync/atomic"
	"testing"

	"github.com/sendguard/sendguard/guard"
	blocksync "github.com/sendguard/sendguard/sync"
	"github.com/sendguard/sendguard/sync/ocamba"
	"github.com/sendguard/sendguard/sync/ocamba/ocambatest"
	"github.com/sendguard/sendguard/sync/opencx"
	"github.com/sendguard/sendguard/sync/opencx/opencxtest"
)

// hookTransport calls hook when the n-th POST has been answered, before
// the answer reaches the client: the vendor has the block, the engine has
// not recorded it yet.
type hookTransport struct {
	next  http.RoundTripper
	n     int64
	posts atomic.Int64
	hook  func()
}

func (h *hookTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := h.next.RoundTrip(r)
	if r.Method == http.MethodPost && h.posts.Add(1) == h.n {
		h.hook()
	}
	return resp, err
}

// fastVendors are TCP fakes with clients paced at 30000 requests a
// minute, for tests in real time.
func fastVendors(t *testing.T, wrap func(http.RoundTripper) http.RoundTripper) *vendors {
	t.Helper()
	v := startVendors(t, vendorConfig{
		cx:   opencxtest.Options{RequestsPerMinute: 30000},
		oc:   ocambatest.Options{RequestsPerSecond: 1000, RequestsPerMinute: 30000},
		cxc:  opencx.Config{RequestsPerMinute: 30000, Burst: 100},
		occ:  ocamba.Config{RequestsPerSecond: 500, RequestsPerMinute: 30000, Burst: 100},
		wrap: wrap,
	})
	t.Cleanup(v.close)
	return v
}

// TestCrash_Resume stops the engine in the middle of a push — by
// cancelling it, or by closing the guard and its store under it — right
// after a vendor has taken a block the engine has not recorded. A new
// engine over the reopened on-disk store resumes from the stored offsets
// and loses nothing, at the cost of at most one duplicate per vendor.
func TestCrash_Resume(t *testing.T) {
	for _, closeStore := range []bool{false, true} {
		name := map[bool]string{false: "cancel", true: "close store"}[closeStore]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			g, err := guard.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			const n = 200
			var want []string
			for i := range n {
				want = append(want, block(t, g, emailN(i)).Value)
			}

			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			fired := make(chan struct{})
			crash := gosync.OnceFunc(func() {
				if closeStore {
					_ = g.Close() // the store goes away under the engine
				} else {
					cancel()
				}
				close(fired)
			})
			v := fastVendors(t, func(next http.RoundTripper) http.RoundTripper {
				return &hookTransport{next: next, n: 60, hook: crash}
			})
			e, err := blocksync.New(g.Replication(), v.remotes(), blocksync.WithSeed(1))
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- e.Run(ctx) }()
			<-fired
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run = %v", err)
			}
			if err := g.Close(); err != nil {
				t.Fatal(err)
			}
			before := [2]int{posts(v.cx.Requests(), opencx.ContactsPath), posts(v.oc.Requests(), ocamba.BlockedContactsPath)}
			if before[0] >= n && before[1] >= n {
				t.Fatalf("the crash came after everything was pushed (%v)", before)
			}

			// Restart: a new guard over the same directory, a new engine.
			g, err = guard.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			for i, name := range []string{"opencx", "ocamba"} {
				off, err := g.Replication().Offset(t.Context(), blocksync.Consumer(name))
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: %d posts before the crash, offset %d", name, before[i], off)
				if int(off) > before[i] || int(off) < before[i]-1 {
					t.Errorf("%s: offset %d after %d posts; want every post recorded but the one in flight", name, off, before[i])
				}
			}
			e, err = blocksync.New(g.Replication(), v.remotes(), blocksync.WithSeed(2))
			if err != nil {
				t.Fatal(err)
			}
			if p := syncOnce(t, e).Pending(); p != 0 {
				t.Fatalf("%d pending after the restart", p)
			}
			if m := missingFrom(v.cxEmails(), want); len(m) > 0 {
				t.Errorf("opencx lacks %d emails, e.g. %s", len(m), m[0])
			}
			if m := missingFrom(v.ocContacts(), want); len(m) > 0 {
				t.Errorf("ocamba lacks %d emails, e.g. %s", len(m), m[0])
			}
			after := [2]int{posts(v.cx.Requests(), opencx.ContactsPath), posts(v.oc.Requests(), ocamba.BlockedContactsPath)}
			dupCx, dupOc := v.cx.Duplicates(), v.oc.Duplicates()
			t.Logf("posts in all: opencx %d, ocamba %d; duplicates: opencx %d, ocamba %d", after[0], after[1], dupCx, dupOc)
			if dupCx > 1 || dupOc > 1 || after[0] > n+1 || after[1] > n+1 {
				t.Errorf("more than one duplicate per vendor: the restart did not resume from the offset")
			}
		})
	}
}
