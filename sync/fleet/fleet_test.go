package fleet_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	gosync "sync"
	"testing"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/sync/fleet"
)

// TestFleet_BlockReachesEveryMember: a block on one member is enforced on
// the others, and an unblock on another lifts it everywhere.
func TestFleet_BlockReachesEveryMember(t *testing.T) {
	srv := startServer(t)
	a := newMember(t, "a", srv.url(), fleet.Config{})
	b := newMember(t, "b", srv.url(), fleet.Config{})
	c := newMember(t, "c", srv.url(), fleet.Config{})
	ctx := t.Context()
	if _, err := a.g.Block(ctx, "Ann@Example.com", "unsubscribed"); err != nil {
		t.Fatal(err)
	}
	waitCheck(t, b, "ann@example.com", true, 5*time.Second)
	waitCheck(t, c, "ann@example.com", true, 5*time.Second)
	v, _ := c.g.Check(ctx, "ann@example.com")
	if v.Reason != "unsubscribed" || v.Source != "local" {
		t.Errorf("c's verdict = %+v, want a's reason and source", v)
	}
	if _, err := b.g.Unblock(ctx, "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	waitCheck(t, a, "ann@example.com", false, 5*time.Second)
	waitCheck(t, c, "ann@example.com", false, 5*time.Second)
	converge(t, 5*time.Second, a, b, c)
}

// ops is a random workload: blocks (some expiring soon, some later),
// unblocks, of emails, phones and domains, on a small set of contacts so
// that members change the same contacts at once.
func workload(t testing.TB, g *guard.Guard, seed uint64, n int) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, 7))
	for i := 0; i < n; i++ {
		k := r.IntN(24)
		var who string
		switch k % 3 {
		case 0:
			who = fmt.Sprintf("user%d@example.com", k)
		case 1:
			who = fmt.Sprintf("+1415555%04d", 100+k)
		default:
			who = fmt.Sprintf("spam%d.example", k)
		}
		var err error
		switch op := r.IntN(10); {
		case op < 4:
			_, err = g.Unblock(ctx, who)
		case k%4 == 1:
			// Contacts 1, 5, 9, … always expire soon: some lapse during
			// the test.
			_, err = g.Block(ctx, who, "soon", guard.WithExpiry(time.Duration(200+r.IntN(300))*time.Millisecond))
		case k%4 == 3:
			_, err = g.Block(ctx, who, "later", guard.WithExpiresAt(time.Now().Add(time.Hour).Truncate(time.Hour)))
		default:
			_, err = g.Block(ctx, who, "forever")
		}
		if err != nil {
			t.Error(err)
			return
		}
		if r.IntN(4) == 0 {
			time.Sleep(time.Duration(r.IntN(2000)) * time.Microsecond)
		}
	}
}

// TestFleet_ConcurrentChangesConverge: three members block, unblock and
// block with expiries the same contacts at once; all end identical.
func TestFleet_ConcurrentChangesConverge(t *testing.T) {
	srv := startServer(t)
	ms := []*member{
		newMember(t, "a", srv.url(), fleet.Config{}),
		newMember(t, "b", srv.url(), fleet.Config{}),
		newMember(t, "c", srv.url(), fleet.Config{}),
	}
	for round := range 3 {
		start := time.Now()
		var wg gosync.WaitGroup
		for i, mb := range ms {
			wg.Go(func() { workload(t, mb.g, uint64(round*10+i), 300) })
		}
		wg.Wait()
		made := time.Since(start)
		st := converge(t, 10*time.Second, ms...)
		t.Logf("round %d: changes made in %v, converged %v later: %d blocks everywhere", round, made, time.Since(start)-made, len(st))
	}
}

// TestFleet_ChangeBetweenJoinAndRun: a change made after Join returns and
// before Run starts is published once Run runs.
func TestFleet_ChangeBetweenJoinAndRun(t *testing.T) {
	ctx := t.Context()
	srv := startServer(t)
	a := newMember(t, "a", srv.url(), fleet.Config{})
	g, err := guard.Open(t.TempDir(), guard.WithSnapshot(false))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	nc := connect(t, srv.url())
	defer nc.Close()
	m, err := fleet.Join(g, nc, fleet.Config{Member: "api-7f9c"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Block(ctx, "early@example.com", "before Run"); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(rctx) }()
	waitCheck(t, a, "early@example.com", true, 5*time.Second)
	if err := m.Run(rctx); err != fleet.ErrRunning {
		t.Errorf("second Run = %v, want ErrRunning", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil after ctx ends", err)
	}
	if st := m.Stats(); st.Published == 0 || st.Unpublished != 0 {
		t.Errorf("Stats = %+v: want the change published", st)
	}
}

func TestJoin_RefusesBadConfig(t *testing.T) {
	g, err := guard.Open("", guard.WithInMemory())
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	srv := startServer(t)
	nc := connect(t, srv.url())
	defer nc.Close()
	for _, cfg := range []fleet.Config{
		{},
		{Member: "has space"},
		{Member: "dotted.name"},
		{Member: "ok", Stream: "a.b"},
		{Member: "ok", Replicas: 2},
		{Member: "ok", LeaseTTL: time.Millisecond},
		{Member: "ok", Vendors: fleet.Vendors{Remotes: []string{"bad name"}}},
	} {
		if _, err := fleet.Join(g, nc, cfg); err == nil {
			t.Errorf("Join(%+v) = nil error", cfg)
		}
	}
	if _, err := fleet.Join(nil, nc, fleet.Config{Member: "ok"}); err == nil {
		t.Error("Join with no guard: nil error")
	}
	if _, err := fleet.Join(g, nil, fleet.Config{Member: "ok"}); err == nil {
		t.Error("Join with no connection: nil error")
	}
}
