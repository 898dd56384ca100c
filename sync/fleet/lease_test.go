package fleet_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sendguard/sendguard/guard"
	blocksync "github.com/sendguard/sendguard/sync"
	"github.com/sendguard/sendguard/sync/fleet"
	"github.com/sendguard/sendguard/sync/ocamba"
	"github.com/sendguard/sendguard/sync/ocamba/ocambatest"
	"github.com/sendguard/sendguard/sync/opencx"
	"github.com/sendguard/sendguard/sync/opencx/opencxtest"
)

// vendorMember is a member whose vendor sync pushes to and pulls from the
// two fakes while it holds the lease.
func vendorMember(t *testing.T, name, url string, cx *opencxtest.Server, oc *ocambatest.Server) *member {
	t.Helper()
	mb := &member{t: t, name: name, url: url}
	var g *guard.Guard // the member's current guard, for Run
	mb.cfg = fleet.Config{
		LeaseTTL: 2 * time.Second,
		Vendors: fleet.Vendors{
			Remotes: []string{"opencx", "ocamba"},
			Run: func(ctx context.Context) error {
				cxc, err := opencx.New(opencx.Config{Token: cx.Token(), BaseURL: cx.URL(), HTTPClient: cx.Client(), RequestsPerMinute: 60000})
				if err != nil {
					return err
				}
				occ, err := ocamba.New(ocamba.Config{Token: oc.Token(), BaseURL: oc.URL(), HTTPClient: oc.Client(),
					RequestsPerSecond: 1000, RequestsPerMinute: 60000})
				if err != nil {
					return err
				}
				e, err := blocksync.New(g.Replication(), []blocksync.Remote{
					blocksync.NewOpenCX(cxc, blocksync.OpenCXOptions{Name: "opencx"}),
					blocksync.NewOcamba(occ, blocksync.OcambaOptions{Name: "ocamba"}),
				}, blocksync.WithInterval(300*time.Millisecond), blocksync.WithJitter(0))
				if err != nil {
					return err
				}
				return e.Run(ctx)
			},
		},
	}
	mb.cfg.Member = name
	mb.dir = t.TempDir()
	mb.open()
	g = mb.g
	mb.start()
	t.Cleanup(mb.close)
	return mb
}

// holder waits until exactly one member holds the lease and returns it.
func holder(t *testing.T, timeout time.Duration, ms ...*member) *member {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var h []*member
		for _, mb := range ms {
			if mb.m != nil && mb.cancel != nil && mb.m.Stats().Holder {
				h = append(h, mb)
			}
		}
		if len(h) > 1 {
			t.Fatalf("%d members hold the vendor lease at once", len(h))
		}
		if len(h) == 1 {
			return h[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no member took the vendor lease within %v", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pushedOnce waits until the fakes list want emails and phones, and
// checks that none was pushed twice.
func pushedOnce(t *testing.T, cx *opencxtest.Server, oc *ocambatest.Server, emails, phones []string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := map[string]int{}
		for _, c := range cx.Contacts() {
			got[c.Email]++
		}
		gotPhones := map[string]int{}
		for _, e := range oc.Blocked() {
			if e.Type == "phone" || e.Type == "PHONE" || (len(e.Contact) > 0 && e.Contact[0] == '+') {
				gotPhones[e.Contact]++
			}
		}
		missing := 0
		for _, e := range emails {
			if got[e] == 0 {
				missing++
			}
		}
		for _, p := range phones {
			if gotPhones[p] == 0 {
				missing++
			}
		}
		if missing == 0 {
			for e, n := range got {
				if n > 1 {
					t.Errorf("opencx got %s %d times", e, n)
				}
			}
			for p, n := range gotPhones {
				if n > 1 {
					t.Errorf("ocamba got %s %d times", p, n)
				}
			}
			if d := cx.Duplicates() + oc.Duplicates(); d > 0 {
				all := map[string]int{}
				for _, c := range cx.Contacts() {
					all["opencx "+c.Email+c.PhoneNumber]++
				}
				for _, e := range oc.Blocked() {
					all["ocamba "+e.Contact]++
				}
				for k, n := range all {
					if n > 1 {
						t.Errorf("%s: %d times", k, n)
					}
				}
				t.Errorf("the fakes saw %d duplicate blocks", d)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d blocks not pushed to the vendors within 15s", missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFleet_VendorLeaseFailover: one member at a time runs the vendor
// sync; when it stops (gracefully, then by losing its connection) another
// takes over within the lease's time and goes on from where it was: no
// block is pushed twice, pulled blocks reach every member, and nothing is
// echoed back to the vendor it came from.
func TestFleet_VendorLeaseFailover(t *testing.T) {
	ctx := t.Context()
	cx := opencxtest.NewServer(opencxtest.Options{RequestsPerMinute: -1})
	defer cx.Close()
	oc := ocambatest.NewServer(ocambatest.Options{RequestsPerSecond: -1, RequestsPerMinute: -1})
	defer oc.Close()
	srv := startServer(t)
	target := fmt.Sprintf("127.0.0.1:%d", srv.port)
	proxies := map[string]*proxy{}
	var ms []*member
	for _, name := range []string{"a", "b", "c"} {
		proxies[name] = startProxy(t, target)
		ms = append(ms, vendorMember(t, name, proxies[name].url(), cx, oc))
	}
	var emails, phones []string
	var cutOff *member // a member whose connection is cut: its blocks wait
	block := func(round, n int) {
		for i := range n {
			e := fmt.Sprintf("r%d-%d@example.com", round, i)
			ph := fmt.Sprintf("+1415556%02d%02d", round, i)
			mb := ms[i%3]
			for mb.cancel == nil || mb == cutOff {
				i++
				mb = ms[i%3]
			}
			if _, err := mb.g.Block(ctx, e, "x"); err != nil {
				t.Fatal(err)
			}
			if _, err := mb.g.Block(ctx, ph, "x"); err != nil {
				t.Fatal(err)
			}
			emails, phones = append(emails, e), append(phones, ph)
		}
	}
	first := holder(t, 10*time.Second, ms...)
	block(1, 12)
	pushedOnce(t, cx, oc, emails, phones)

	// A block listed at a vendor reaches every member through the stream.
	cx.Seed(opencxtest.Contact{Email: "vendor@example.com", Reason: "listed at opencx"})
	for _, mb := range ms {
		waitCheck(t, mb, "vendor@example.com", true, 10*time.Second)
	}
	converge(t, 5*time.Second, ms...)

	// The holder stops: another takes over at once (the lease is released).
	first.stopRun()
	start := time.Now()
	second := holder(t, 10*time.Second, ms...)
	t.Logf("graceful handover %s → %s in %v", first.name, second.name, time.Since(start))
	block(2, 12)
	pushedOnce(t, cx, oc, emails, phones)

	// The new holder loses its connection: the lease expires and another
	// member takes over within the lease TTL and a poll.
	first.start()
	time.Sleep(2 * time.Second) // let the holder copy its state
	proxies[second.name].setCut(true)
	cutOff = second
	start = time.Now()
	deadline := time.Now().Add(30 * time.Second)
	var third *member
	for third == nil {
		for _, mb := range ms {
			if mb != second && mb.cancel != nil && mb.m.Stats().Holder {
				third = mb
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no member took over within 30s of the holder's connection being cut")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("failover %s → %s in %v", second.name, third.name, time.Since(start))
	if second.m.Stats().Holder {
		t.Error("the cut-off member still runs the vendor sync after another took over")
	}
	block(4, 12)
	pushedOnce(t, cx, oc, emails, phones)
	proxies[second.name].setCut(false)
	converge(t, 10*time.Second, ms...)
	for _, c := range cx.Contacts() {
		if c.Email == "vendor@example.com" && c.Reason != "listed at opencx" {
			t.Error("the pulled block was pushed back to opencx")
		}
	}
}
