package sync_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
	blocksync "github.com/sendguard/sendguard/sync"
)

func TestNew_Validation(t *testing.T) {
	g := openGuard(t)
	defer g.Close()
	cases := []struct {
		name    string
		remotes []blocksync.Remote
		opts    []blocksync.Option
	}{
		{"empty name", []blocksync.Remote{newFakeRemote("")}, nil},
		{"slash in name", []blocksync.Remote{newFakeRemote("a/b")}, nil},
		{"duplicate", []blocksync.Remote{newFakeRemote("a"), newFakeRemote("a")}, nil},
		{"nil remote", []blocksync.Remote{nil}, nil},
		{"local", []blocksync.Remote{newFakeRemote("local")}, nil},
		{"interval", nil, []blocksync.Option{blocksync.WithInterval(0)}},
		{"jitter", nil, []blocksync.Option{blocksync.WithJitter(0.9)}},
		{"batch", nil, []blocksync.Option{blocksync.WithBatchSize(0)}},
		{"backoff", nil, []blocksync.Option{blocksync.WithBackoff(time.Second, time.Millisecond)}},
		{"max wait", nil, []blocksync.Option{blocksync.WithMaxWait(time.Second)}},
		{"full pull", nil, []blocksync.Option{blocksync.WithFullPull(0)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := blocksync.New(g.Replication(), c.remotes, c.opts...); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
	if _, err := blocksync.New(g.Replication(), []blocksync.Remote{newFakeRemote("a.b_c-1")}); err != nil {
		t.Fatalf("New with a good remote: %v", err)
	}
}

// TestEngine_PushPull: local blocks of every kind reach the remote (only
// the kinds it accepts), remote blocks reach the guard with the remote as
// source and the remote's time, and nothing is pushed twice.
func TestEngine_PushPull(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		r := newFakeRemote("fake")
		r.kinds = map[normalize.Kind]bool{normalize.Email: true, normalize.Domain: true}
		e := newEngine(t, g, []blocksync.Remote{r})

		block(t, g, "Ann@Example.com")
		block(t, g, "+1 202 555 0100") // a phone: not for this remote
		block(t, g, "spam.example")
		created := time.Now().Add(-time.Hour).UTC()
		r.add(normalize.Contact{Kind: normalize.Email, Value: "bob@example.org"}, "complained", created)

		rep := syncOnce(t, e)
		rr := rep.Remotes[0]
		if rr.Pushed != 2 || rr.Pulled != 1 || rr.Pending != 0 || rr.Err != nil {
			t.Fatalf("report = %+v, want 2 pushed, 1 pulled, 0 pending", rr)
		}
		if got, want := r.values(), []string{"bob@example.org", "ann@example.com", "spam.example"}; !slices.Equal(got, want) {
			t.Fatalf("remote lists %q, want %q", got, want)
		}
		v := blocked(t, g, "bob@example.org")
		if !v.Blocked || v.Source != "fake" || v.Reason != "complained" || !v.CreatedAt.Equal(created) {
			t.Fatalf("pulled verdict = %+v", v)
		}

		// A second pass has nothing to do: no echo of the pulled block,
		// no second push.
		rep = syncOnce(t, e)
		if rr := rep.Remotes[0]; rr.Pushed != 0 || rr.Pulled != 0 {
			t.Fatalf("second report = %+v, want nothing done", rr)
		}
		if n := len(r.values()); n != 3 {
			t.Fatalf("remote lists %d entries after a second pass, want 3", n)
		}
		s := remoteStats(t, e, "fake")
		if s.Pushed != 2 || s.Pulled != 1 || s.Lag != 0 || s.Pending != 0 || s.LastSuccess.IsZero() {
			t.Fatalf("stats = %+v", s)
		}
	})
}

// TestEngine_Mirror: a block pulled from one remote is pushed to the other,
// never back to its own; WithMirror(false) keeps it local.
func TestEngine_Mirror(t *testing.T) {
	for _, mirror := range []bool{true, false} {
		t.Run(map[bool]string{true: "on", false: "off"}[mirror], func(t *testing.T) {
			inBubble(t, func(t *testing.T, g *guard.Guard) {
				a, b := newFakeRemote("a"), newFakeRemote("b")
				e := newEngine(t, g, []blocksync.Remote{a, b}, blocksync.WithMirror(mirror))
				a.add(normalize.Contact{Kind: normalize.Email, Value: "x@example.com"}, "", time.Now())
				b.add(normalize.Contact{Kind: normalize.Phone, Value: "+12025550100"}, "", time.Now())
				syncOnce(t, e) // pulls
				syncOnce(t, e) // pushes what was pulled
				wantA, wantB := []string{"x@example.com"}, []string{"+12025550100"}
				if mirror {
					wantA = append(wantA, "+12025550100")
					wantB = append(wantB, "x@example.com")
				}
				if got := a.values(); !slices.Equal(got, wantA) {
					t.Errorf("a lists %q, want %q", got, wantA)
				}
				if got := b.values(); !slices.Equal(got, wantB) {
					t.Errorf("b lists %q, want %q", got, wantB)
				}
				if v := blocked(t, g, "x@example.com"); v.Source != "a" {
					t.Errorf("source = %q, want a", v.Source)
				}
			})
		})
	}
}

// TestEngine_Tombstone: an unblocked contact that the remote still lists is
// not re-blocked by a pull, and is counted; a remote block created after
// the unblock is applied.
func TestEngine_Tombstone(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		r := newFakeRemote("fake")
		e := newEngine(t, g, []blocksync.Remote{r})
		ctx := t.Context()

		c := block(t, g, "ann@example.com")                    // local, pushed
		r.add(mustEmail(t, "bob@example.com"), "", time.Now()) // remote, pulled
		syncOnce(t, e)
		time.Sleep(time.Second)
		for _, s := range []string{"ann@example.com", "bob@example.com"} {
			if ok, err := g.Unblock(ctx, s); !ok || err != nil {
				t.Fatalf("unblock %s: %v %v", s, ok, err)
			}
		}
		rep := syncOnce(t, e)
		if rr := rep.Remotes[0]; rr.Pulled != 0 || rr.Pushed != 0 {
			t.Fatalf("report after unblock = %+v", rr)
		}
		for _, s := range []string{"ann@example.com", "bob@example.com"} {
			if v := blocked(t, g, s); v.Blocked {
				t.Fatalf("%s re-blocked by a pull: %+v", s, v)
			}
		}
		if s := remoteStats(t, e, "fake"); s.StillListed != 2 {
			t.Fatalf("StillListed = %d, want 2", s.StillListed)
		}

		// The remote lists ann again, after the unblock: that is a new block.
		time.Sleep(time.Second)
		r.add(c, "again", time.Now())
		rep = syncOnce(t, e)
		if rr := rep.Remotes[0]; rr.Pulled != 1 {
			t.Fatalf("report = %+v, want 1 pulled", rr)
		}
		if v := blocked(t, g, "ann@example.com"); !v.Blocked || v.Reason != "again" {
			t.Fatalf("ann = %+v, want blocked again", v)
		}
		if s := remoteStats(t, e, "fake"); s.StillListed != 1 {
			t.Fatalf("StillListed = %d, want 1", s.StillListed)
		}
		// A local block again of bob is not pushed: the remote still
		// lists him (it cannot unblock). It clears the mark.
		block(t, g, "bob@example.com")
		if rr := syncOnce(t, e).Remotes[0]; rr.Pushed != 0 || rr.AlreadyListed != 1 || rr.Pending != 0 {
			t.Fatalf("report = %+v, want nothing pushed, 1 already listed", rr)
		}
		if s := remoteStats(t, e, "fake"); s.StillListed != 0 {
			t.Fatalf("StillListed = %d, want 0", s.StillListed)
		}
		if n := r.count("bob@example.com"); n != 1 {
			t.Fatalf("bob listed %d times, want 1", n)
		}

		// An operator removes a still-listed contact at the remote: a
		// full pull notices.
		block(t, g, "carl@example.com")
		syncOnce(t, e)
		if _, err := g.Unblock(ctx, "carl@example.com"); err != nil {
			t.Fatal(err)
		}
		syncOnce(t, e)
		if s := remoteStats(t, e, "fake"); s.StillListed != 1 {
			t.Fatalf("StillListed = %d, want 1 (carl)", s.StillListed)
		}
		r.remove("carl@example.com")
		syncOnce(t, e)
		if s := remoteStats(t, e, "fake"); s.StillListed != 0 {
			t.Fatalf("StillListed = %d after the remote dropped carl, want 0", s.StillListed)
		}
	})
}

// TestEngine_ExpiredPush: a block the engine pushed with an expiry is not
// brought back by a pull once it has expired locally.
func TestEngine_ExpiredPush(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		r := newFakeRemote("fake")
		// The remote gives no ids: the engine must go by contact.
		e := newEngine(t, g, []blocksync.Remote{noIDs{r}})
		block(t, g, "ann@example.com", guard.WithExpiry(time.Minute))
		syncOnce(t, e)
		if v := blocked(t, g, "ann@example.com"); !v.Blocked || v.ExpiresAt.IsZero() {
			t.Fatalf("the pull of its own push made the block permanent: %+v", v)
		}
		time.Sleep(2 * time.Minute)
		if v := blocked(t, g, "ann@example.com"); v.Blocked {
			t.Fatal("still blocked after expiry")
		}
		rep := syncOnce(t, e)
		if v := blocked(t, g, "ann@example.com"); v.Blocked {
			t.Fatalf("expired block brought back by a pull: %+v", rep.Remotes[0])
		}
		if rr := rep.Remotes[0]; rr.SkippedUnblocked != 1 {
			t.Fatalf("report = %+v, want 1 skipped as unblocked", rr)
		}
		if s := remoteStats(t, e, "fake"); s.StillListed != 1 {
			t.Fatalf("StillListed = %d, want 1", s.StillListed)
		}
	})
}

// noIDs hides a remote's ids.
type noIDs struct{ *fakeRemote }

func (n noIDs) Push(ctx context.Context, recs []storage.Record) ([]blocksync.Ack, error) {
	acks, err := n.fakeRemote.Push(ctx, recs)
	for i := range acks {
		acks[i].ID = ""
	}
	return acks, err
}

func (n noIDs) Pull(ctx context.Context, cur blocksync.Cursor) (blocksync.Page, error) {
	p, err := n.fakeRemote.Pull(ctx, cur)
	for i := range p.Blocks {
		p.Blocks[i].ID = ""
	}
	return p, err
}

// TestEngine_Masked: a masked entry the engine pushed is recognized by its
// id; one it did not push is skipped, counted once, never a key.
func TestEngine_Masked(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		r := newFakeRemote("fake")
		r.mask = func(blocksync.RemoteBlock) bool { return true }
		e := newEngine(t, g, []blocksync.Remote{r})
		block(t, g, "ann@example.com")
		r.add(mustEmail(t, "bob@example.com"), "", time.Now())
		rep := syncOnce(t, e)
		if rr := rep.Remotes[0]; rr.Pushed != 1 || rr.SkippedMasked != 1 || rr.Pulled != 0 || rr.Invalid != 0 {
			t.Fatalf("report = %+v, want 1 pushed, 1 skipped masked", rr)
		}
		rep = syncOnce(t, e)
		if rr := rep.Remotes[0]; rr.SkippedMasked != 0 {
			t.Fatalf("masked entry counted again: %+v", rr)
		}
		if v := blocked(t, g, "bob@example.com"); v.Blocked {
			t.Fatal("masked entry applied")
		}
		if n, err := countEntries(t, g); n != 1 || err != nil {
			t.Fatalf("store holds %d entries (%v), want only ann's", n, err)
		}
	})
}

// TestEngine_InvalidRemoteValue: a remote value that is not a contact is
// counted once, not applied, and does not stop the pull.
func TestEngine_InvalidRemoteValue(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		r := newFakeRemote("fake")
		r.list = append(r.list, blocksync.RemoteBlock{ID: "x", Kind: normalize.Email, Value: "not an email"},
			blocksync.RemoteBlock{ID: strings.Repeat("long\x00", 300), Value: "+12025550100"})
		r.add(mustEmail(t, "bob@example.com"), "", time.Now())
		e := newEngine(t, g, []blocksync.Remote{r})
		if rr := syncOnce(t, e).Remotes[0]; rr.Invalid != 1 || rr.Pulled != 2 {
			t.Fatalf("report = %+v, want 1 invalid, 2 pulled", rr)
		}
		if rr := syncOnce(t, e).Remotes[0]; rr.Invalid != 0 {
			t.Fatalf("second report = %+v, want the invalid entry counted once", rr)
		}
	})
}

// TestEngine_Pagination pulls a list of many pages.
func TestEngine_Pagination(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		r := newFakeRemote("fake")
		r.pageSize = 7
		const n = 250
		for i := range n {
			r.add(mustEmail(t, emailN(i)), "", time.Now())
		}
		e := newEngine(t, g, []blocksync.Remote{r})
		if rr := syncOnce(t, e).Remotes[0]; rr.Pulled != n {
			t.Fatalf("pulled %d, want %d", rr.Pulled, n)
		}
		if r.pullCount() != (n+6)/7 {
			t.Fatalf("%d page requests, want %d", r.pullCount(), (n+6)/7)
		}
		allBlocked(t, g, n)
	})
}

// TestEngine_Failures: temporary failures are retried after the backoff
// (at least Retry-After) without dropping anything; a permanent failure
// dead-letters its record with the remote's message and the queue moves
// on; an authorization failure stops the pass and leaves records pending.
func TestEngine_Failures(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		r := newFakeRemote("fake")
		r.refuse = func(c normalize.Contact) string {
			if c.Value == "refused@example.com" {
				return "not our kind of email"
			}
			return ""
		}
		r.pushErr = func(rec storage.Record, attempt int) (error, bool) {
			switch {
			case rec.Contact.Value == "slow@example.com" && attempt == 1:
				return &blocksync.RemoteError{Class: blocksync.Temporary, Status: 429, RateLimited: true, RetryAfter: 30 * time.Second}, false
			case rec.Contact.Value == "flaky@example.com" && attempt <= 3:
				return &blocksync.RemoteError{Class: blocksync.Temporary, Status: 503}, attempt == 2
			case rec.Contact.Value == "bad@example.com":
				return &blocksync.RemoteError{Class: blocksync.Permanent, Status: 400, Message: "the request body is not valid"}, false
			}
			return nil, false
		}
		e := newEngine(t, g, []blocksync.Remote{r})
		for _, s := range []string{"slow@example.com", "flaky@example.com", "bad@example.com", "refused@example.com", "ok@example.com"} {
			block(t, g, s)
		}
		start := time.Now()
		rep := syncOnce(t, e)
		rr := rep.Remotes[0]
		if rr.Pushed != 3 || rr.DeadLettered != 2 || rr.Pending != 0 || rr.Retries != 4 || rr.Resent != 3 {
			t.Fatalf("report = %+v, want 3 pushed, 2 dead-lettered, 4 retries, 3 resent", rr)
		}
		if took := time.Since(start); took < 30*time.Second {
			t.Fatalf("pass took %v: Retry-After 30s not honoured", took)
		}
		if n := r.count("flaky@example.com"); n != 2 {
			t.Fatalf("flaky listed %d times, want 2 (one lost answer)", n)
		}
		dl, err := g.Replication().DeadLetters(t.Context(), blocksync.Consumer("fake"))
		if err != nil {
			t.Fatal(err)
		}
		reasons := map[string]string{}
		for _, d := range dl {
			reasons[d.Record.Contact.Value] = d.Reason
		}
		if got := reasons["bad@example.com"]; got != "sync: remote: the request body is not valid" {
			t.Errorf("bad's dead letter reason = %q", got)
		}
		if got := reasons["refused@example.com"]; got != "not our kind of email" {
			t.Errorf("refused's dead letter reason = %q", got)
		}
		s := remoteStats(t, e, "fake")
		if s.DeadLetters != 2 || s.LastError == "" {
			t.Fatalf("stats = %+v", s)
		}

		// Retried dead letters are for this remote only, whatever their
		// source, and go through again.
		r.pushErr = nil
		r.refuse = nil
		if n, err := g.Replication().RetryDeadLetters(t.Context(), blocksync.Consumer("fake")); n != 2 || err != nil {
			t.Fatalf("RetryDeadLetters = %d, %v", n, err)
		}
		if rr := syncOnce(t, e).Remotes[0]; rr.Pushed != 2 || rr.DeadLettered != 0 {
			t.Fatalf("after retry: %+v, want 2 pushed", rr)
		}

		// Unauthorized: the pass stops, nothing is dead-lettered.
		r.pushErr = func(storage.Record, int) (error, bool) {
			return &blocksync.RemoteError{Class: blocksync.Unauthorized, Status: 401, Message: "Unauthorized"}, false
		}
		block(t, g, "later1@example.com")
		block(t, g, "later2@example.com")
		rep, err = e.SyncOnce(t.Context())
		if !errors.Is(err, blocksync.ErrUnauthorized) {
			t.Fatalf("SyncOnce error = %v, want ErrUnauthorized", err)
		}
		if rr := rep.Remotes[0]; rr.Pending != 2 || rr.DeadLettered != 0 || !errors.Is(rr.Err, blocksync.ErrUnauthorized) {
			t.Fatalf("report = %+v, want 2 pending", rr)
		}
		r.pushErr = nil
		if rr := syncOnce(t, e).Remotes[0]; rr.Pushed != 2 || rr.Pending != 0 {
			t.Fatalf("after the token is fixed: %+v", rr)
		}
	})
}

// TestEngine_PullFailures: a failing page is retried from that page, not
// from the start; a page that keeps breaking the schema ends the pull.
func TestEngine_PullFailures(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		r := newFakeRemote("fake")
		for i := range 30 {
			r.add(mustEmail(t, emailN(i)), "", time.Now())
		}
		fails := map[int]int{}
		r.pullErr = func(page int) error {
			if fails[page]++; page == 2 && fails[page] <= 2 {
				return &blocksync.RemoteError{Class: blocksync.Temporary, Status: 502}
			}
			return nil
		}
		e := newEngine(t, g, []blocksync.Remote{r})
		if rr := syncOnce(t, e).Remotes[0]; rr.Pulled != 30 || rr.Retries != 2 {
			t.Fatalf("report = %+v, want 30 pulled after 2 retries", rr)
		}
		if fails[1] != 1 || fails[3] != 1 {
			t.Fatalf("page fetches = %v: a failed page restarted the pull", fails)
		}

		r.pullErr = func(page int) error {
			return &blocksync.RemoteError{Class: blocksync.Permanent, Status: 200, Message: "schema"}
		}
		before := r.pullCount()
		rep, err := e.SyncOnce(t.Context())
		if err == nil || rep.Remotes[0].Err == nil {
			t.Fatal("a pull that keeps failing reported no error")
		}
		if n := r.pullCount() - before; n != 3 {
			t.Fatalf("%d attempts at a broken page, want 3 (WithPermanentRetries default 2)", n)
		}

		// A 4xx other than 408 and 429 ends the pull at once; 408 and 429
		// are retried (two failures, then the three pages).
		for _, c := range []struct {
			status, attempts int
			class            blocksync.ErrorClass
		}{{400, 1, blocksync.Permanent}, {404, 1, blocksync.Permanent}, {422, 1, blocksync.Permanent},
			{301, 1, blocksync.Permanent}, {307, 1, blocksync.Permanent},
			{408, 5, blocksync.Temporary}, {429, 5, blocksync.Temporary}} {
			fails := 0
			r.pullErr = func(page int) error {
				if fails++; fails <= 2 {
					return &blocksync.RemoteError{Class: c.class, Status: c.status}
				}
				return nil
			}
			before := r.pullCount()
			rep, _ := e.SyncOnce(t.Context())
			if n := r.pullCount() - before; n != c.attempts || (c.attempts == 1) != (rep.Remotes[0].Err != nil) {
				t.Fatalf("%d: %d attempts (%+v), want %d", c.status, n, rep.Remotes[0], c.attempts)
			}
		}
	})
}

// TestSyncOnce_Deadline: when ctx ends the pass gives up, leaving records
// pending, and without waiting a backoff past the deadline.
func TestSyncOnce_Deadline(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		r := newFakeRemote("fake")
		r.pushErr = func(storage.Record, int) (error, bool) {
			return &blocksync.RemoteError{Class: blocksync.Temporary, Status: 503}, false
		}
		e := newEngine(t, g, []blocksync.Remote{r}, blocksync.WithBackoff(time.Second, time.Minute))
		block(t, g, "a@example.com")
		block(t, g, "b@example.com")
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		start := time.Now()
		rep, err := e.SyncOnce(ctx)
		if err == nil {
			t.Fatal("no error")
		}
		if took := time.Since(start); took > 20*time.Second {
			t.Fatalf("SyncOnce took %v, past its 20s deadline", took)
		}
		if rr := rep.Remotes[0]; rr.Pending != 2 || rr.Pushed != 0 || rr.DeadLettered != 0 {
			t.Fatalf("report = %+v, want 2 pending", rr)
		}
	})
}

// TestRun_LocalBlockReachesRemoteFast: under Run, a local block reaches the
// remote within a second, long before the interval; remote blocks arrive
// at the interval.
func TestRun_LocalBlockReachesRemoteFast(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		r := newFakeRemote("fake")
		e := newEngine(t, g, []blocksync.Remote{r}, blocksync.WithInterval(10*time.Minute))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		synctest.Wait() // the first pass is done

		if err := e.Run(ctx); !errors.Is(err, blocksync.ErrRunning) {
			t.Errorf("second Run = %v, want ErrRunning", err)
		}
		start := time.Now()
		block(t, g, "ann@example.com")
		synctest.Wait()
		if got := r.values(); !slices.Equal(got, []string{"ann@example.com"}) {
			t.Fatalf("remote lists %q right after the block", got)
		}
		if d := r.firstPush().Sub(start); d > time.Second {
			t.Fatalf("block reached the remote after %v", d)
		}
		pulls := r.pullCount()
		r.add(mustEmail(t, "bob@example.com"), "", time.Now())
		time.Sleep(8 * time.Minute)
		synctest.Wait()
		if r.pullCount() != pulls {
			t.Fatalf("pulled before the interval")
		}
		time.Sleep(4 * time.Minute) // interval 10m ± 10%
		synctest.Wait()
		if !blocked(t, g, "bob@example.com").Blocked {
			t.Fatal("remote block not pulled after the interval")
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v, want nil after cancel", err)
		}
	})
}

// TestRun_BacksOff: under Run a failing remote is retried with growing,
// capped waits, and recovers without losing anything.
func TestRun_BacksOff(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		r := newFakeRemote("fake")
		var times []time.Time
		r.pushErr = func(_ storage.Record, attempt int) (error, bool) {
			times = append(times, time.Now())
			if attempt <= 8 {
				return &blocksync.RemoteError{Class: blocksync.Temporary, Status: 500}, false
			}
			return nil, false
		}
		e := newEngine(t, g, []blocksync.Remote{r}, blocksync.WithBackoff(time.Second, 10*time.Second))
		block(t, g, "ann@example.com")
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		cancel()
		<-done
		if len(times) != 9 || r.count("ann@example.com") != 1 {
			t.Fatalf("%d attempts, %d listed; want 9 and 1", len(times), r.count("ann@example.com"))
		}
		for i := 1; i < len(times); i++ {
			gap := times[i].Sub(times[i-1])
			want := min(time.Second<<(i-1), 10*time.Second)
			if gap < want/2 || gap > want {
				t.Errorf("wait %d = %v, want within [%v, %v]", i, gap, want/2, want)
			}
		}
	})
}

func mustEmail(t *testing.T, s string) normalize.Contact {
	t.Helper()
	return normalize.Contact{Kind: normalize.Email, Value: s}
}

func emailN(i int) string { return "user" + strconv.Itoa(i) + "@example.com" }

// TestEngine_RetriedDeadLetterTarget: a dead letter re-queued for one
// remote goes to that remote only.
func TestEngine_RetriedDeadLetterTarget(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		a, b := newFakeRemote("a"), newFakeRemote("b")
		refuse := true
		a.refuse = func(normalize.Contact) string {
			if refuse {
				return "not now"
			}
			return ""
		}
		e := newEngine(t, g, []blocksync.Remote{a, b})
		block(t, g, "ann@example.com")
		rep := syncOnce(t, e)
		if rep.Remotes[0].DeadLettered != 1 || rep.Remotes[1].Pushed != 1 {
			t.Fatalf("report %+v", rep)
		}
		refuse = false
		if n, err := g.Replication().RetryDeadLetters(t.Context(), blocksync.Consumer("a")); n != 1 || err != nil {
			t.Fatalf("RetryDeadLetters = %d, %v", n, err)
		}
		rep = syncOnce(t, e)
		if rep.Remotes[0].Pushed != 1 || rep.Remotes[1].Pushed != 0 {
			t.Fatalf("report %+v, want the retry pushed to a only", rep)
		}
		if a.count("ann@example.com") != 1 || b.count("ann@example.com") != 1 {
			t.Fatalf("a lists %q, b lists %q", a.values(), b.values())
		}
	})
}

// TestRun_PullFailsPushGoesOn: a remote whose pulls fail (a token without
// the read scope) still gets local blocks at once, while the pull is
// retried after the backoff.
func TestRun_PullFailsPushGoesOn(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		r := newFakeRemote("fake")
		var pullTimes []time.Time
		r.pullErr = func(int) error {
			pullTimes = append(pullTimes, time.Now())
			return &blocksync.RemoteError{Class: blocksync.Unauthorized, Status: 403, Message: "Forbidden"}
		}
		e := newEngine(t, g, []blocksync.Remote{r}, blocksync.WithBackoff(10*time.Second, time.Minute))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		synctest.Wait()
		start := time.Now()
		block(t, g, "ann@example.com")
		synctest.Wait()
		if d := r.firstPush().Sub(start); r.count("ann@example.com") != 1 || d > time.Second {
			t.Fatalf("local block pushed after %v while pulls fail", d)
		}
		time.Sleep(2 * time.Minute)
		cancel()
		<-done
		if n := len(pullTimes); n < 3 || n > 6 {
			t.Fatalf("%d pull attempts in 2 minutes, want a few, after backoffs", n)
		}
		if s := remoteStats(t, e, "fake"); !strings.Contains(s.LastError, "Forbidden") {
			t.Fatalf("LastError = %q", s.LastError)
		}
	})
}

// secretRemote is a fake remote that holds a secret and redacts it.
type secretRemote struct {
	*fakeRemote
	secret string
}

func (s secretRemote) Redact(v string) string { return strings.ReplaceAll(v, s.secret, "[token]") }

// TestEngine_RedactsEverySecret: a remote's error text that carries a
// secret of any of the engine's remotes is redacted before it is stored
// as a dead-letter reason, kept as the last error, or returned.
func TestEngine_RedactsEverySecret(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		const secretA, secretB = "tok-A-SECRET", "tok-B-SECRET"
		a := secretRemote{newFakeRemote("a"), secretA}
		b := secretRemote{newFakeRemote("b"), secretB}
		// a's errors carry both secrets (say, a proxy shared by both).
		a.pushErr = func(r storage.Record, attempt int) (error, bool) {
			if r.Contact.Value == "refused@example.com" {
				return &blocksync.RemoteError{Class: blocksync.Permanent, Status: 400,
					Message: "refused; saw " + secretA + " and " + secretB}, false
			}
			return nil, false
		}
		b.pullErr = func(int) error {
			return &blocksync.RemoteError{Class: blocksync.Permanent, Status: 400, Message: "bad query; saw " + secretA}
		}
		e := newEngine(t, g, []blocksync.Remote{a, b})
		block(t, g, "refused@example.com")
		rep, err := e.SyncOnce(t.Context())
		if err == nil || strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "[token]") {
			t.Fatalf("SyncOnce error %v: want the pull error, redacted", err)
		}
		for _, rr := range rep.Remotes {
			if rr.Err != nil && strings.Contains(rr.Err.Error(), "SECRET") {
				t.Errorf("%s: report error %q shows a secret", rr.Remote, rr.Err)
			}
		}
		dl, err := g.Replication().DeadLetters(t.Context(), blocksync.Consumer("a"))
		if err != nil || len(dl) != 1 {
			t.Fatalf("dead letters %+v, %v; want 1", dl, err)
		}
		if r := dl[0].Reason; strings.Contains(r, "SECRET") || strings.Count(r, "[token]") != 2 {
			t.Errorf("stored reason %q: want both secrets redacted", r)
		}
		if s := remoteStats(t, e, "b"); s.LastError == "" || strings.Contains(s.LastError, "SECRET") {
			t.Errorf("last error %q", s.LastError)
		}
	})
}

// TestEngine_ReblockAfterRemoteDropped: a contact whose pushed block
// lapsed is not pushed again while the remote lists it; once a complete
// full pull shows that the remote dropped it (an operator removed it), a
// new block of it is pushed again.
func TestEngine_ReblockAfterRemoteDropped(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		r := newFakeRemote("fake")
		e := newEngine(t, g, []blocksync.Remote{r})
		block(t, g, "bob@example.com") // the list is never empty
		block(t, g, "ann@example.com", guard.WithExpiry(time.Minute))
		syncOnce(t, e)
		time.Sleep(2 * time.Minute)
		block(t, g, "ann@example.com", guard.WithExpiry(time.Minute))
		if rr := syncOnce(t, e).Remotes[0]; rr.Pushed != 0 || rr.AlreadyListed != 1 {
			t.Fatalf("report %+v, want 1 already listed", rr)
		}
		time.Sleep(2 * time.Minute)
		r.remove("ann@example.com")
		syncOnce(t, e) // a full pull: ann is gone
		block(t, g, "ann@example.com")
		if rr := syncOnce(t, e).Remotes[0]; rr.Pushed != 1 || rr.AlreadyListed != 0 {
			t.Fatalf("report %+v, want ann pushed again", rr)
		}
		if n := r.count("ann@example.com"); n != 1 {
			t.Fatalf("remote lists ann %d times, want 1", n)
		}
	})
}
