package guard_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/internal/testclock"
	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

func openGuard(t testing.TB, dir string, opts ...guard.Option) *guard.Guard {
	t.Helper()
	g, err := guard.Open(dir, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}

func mustCheck(t testing.TB, g *guard.Guard, r string) guard.Verdict {
	t.Helper()
	v, err := g.Check(context.Background(), r)
	if err != nil {
		t.Fatalf("Check(%q): %v", r, err)
	}
	return v
}

func TestGuard_BlockThenCheckEveryForm(t *testing.T) {
	ctx := t.Context()
	g := openGuard(t, t.TempDir(), guard.WithRegion("GB"))

	tests := []struct {
		block string
		forms []string // other inputs for the same contact
	}{
		{"Ann.Lee@Example.COM", []string{"ann.lee@example.com", "Ann Lee <ann.lee@example.com>", "<ANN.LEE@EXAMPLE.COM>", "mailto:ann.lee@example.com", "  ann.lee@example.com. "}},
		{"020 7183 8750", []string{"+442071838750", "+44 (0)20 7183 8750", "0044 20 7183 8750", "tel:+44-20-7183-8750", "(020) 7183-8750"}},
		{"+1 202-555-0147", []string{"+12025550147", "001 202 555 0147"}},
	}
	for _, tt := range tests {
		if v := mustCheck(t, g, tt.block); v.Blocked {
			t.Fatalf("%q blocked before Block", tt.block)
		}
		bv, err := g.Block(ctx, tt.block, "asked to stop")
		if err != nil {
			t.Fatalf("Block(%q): %v", tt.block, err)
		}
		if !bv.Blocked || bv.Reason != "asked to stop" || bv.Source != "local" {
			t.Fatalf("Block verdict = %+v", bv)
		}
		for _, f := range append([]string{tt.block}, tt.forms...) {
			v := mustCheck(t, g, f)
			if !v.Blocked {
				t.Errorf("Check(%q) after Block(%q): not blocked", f, tt.block)
				continue
			}
			if v.Scope != guard.ScopeAddress || v.Reason != "asked to stop" || v.Source != "local" || v.CreatedAt.IsZero() {
				t.Errorf("Check(%q) verdict = %+v", f, v)
			}
			if v.Contact != bv.Contact {
				t.Errorf("Check(%q) contact %v, Block gave %v", f, v.Contact, bv.Contact)
			}
		}
	}
	if v := mustCheck(t, g, "someone.else@example.com"); v.Blocked {
		t.Errorf("unrelated address blocked: %+v", v)
	}
}

func TestGuard_DomainBlocks(t *testing.T) {
	ctx := t.Context()
	g := openGuard(t, t.TempDir())
	for _, d := range []string{"spam.example", "@junk.test", "*.bad.org"} {
		if _, err := g.Block(ctx, d, "domain "+d); err != nil {
			t.Fatalf("Block(%q): %v", d, err)
		}
	}
	tests := []struct {
		in      string
		blocked bool
		matched string
	}{
		{"a@spam.example", true, "spam.example"},
		{"A@MAIL.SPAM.EXAMPLE", true, "spam.example"},
		{"x@deep.sub.junk.test", true, "junk.test"},
		{"x@bad.org", true, "bad.org"},
		{"x@www.bad.org", true, "bad.org"},
		{"spam.example", true, "spam.example"},
		{"sub.spam.example", true, "spam.example"},
		{"x@notspam.example", false, ""},
		{"x@spam.example.com", false, ""},
		{"x@org.bad", false, ""},
	}
	for _, tt := range tests {
		v := mustCheck(t, g, tt.in)
		if v.Blocked != tt.blocked {
			t.Errorf("Check(%q).Blocked = %v, want %v", tt.in, v.Blocked, tt.blocked)
			continue
		}
		if !tt.blocked {
			continue
		}
		if v.BlockedContact.Value != tt.matched || v.BlockedContact.Kind != normalize.Domain {
			t.Errorf("Check(%q).BlockedContact = %v, want domain %s", tt.in, v.BlockedContact, tt.matched)
		}
		if v.Contact.Kind == normalize.Email && v.Scope != guard.ScopeDomain {
			t.Errorf("Check(%q).Scope = %v, want domain", tt.in, v.Scope)
		}
		if v.Reason == "" {
			t.Errorf("Check(%q) has no reason", tt.in)
		}
	}
	// Unblocking the domain lifts it for its addresses at once.
	if ok, err := g.Unblock(ctx, "*.spam.example"); err != nil || !ok {
		t.Fatalf("Unblock domain = %v, %v", ok, err)
	}
	if v := mustCheck(t, g, "a@mail.spam.example"); v.Blocked {
		t.Errorf("still blocked after domain unblock: %+v", v)
	}
	if got := g.Stats().DomainBlocks; got != 2 {
		t.Errorf("DomainBlocks = %d, want 2", got)
	}
}

func TestGuard_AddressAndDomainBothBlocked(t *testing.T) {
	ctx := t.Context()
	g := openGuard(t, t.TempDir())
	mustBlock(t, g, "x@corp.test", "address")
	mustBlock(t, g, "corp.test", "domain")
	v := mustCheck(t, g, "x@corp.test")
	if !v.Blocked || v.Scope != guard.ScopeAddress || v.Reason != "address" {
		t.Errorf("verdict = %+v, want the address block", v)
	}
	// Unblocking the address leaves the domain block in force.
	if _, err := g.Unblock(ctx, "x@corp.test"); err != nil {
		t.Fatal(err)
	}
	v = mustCheck(t, g, "x@corp.test")
	if !v.Blocked || v.Scope != guard.ScopeDomain || v.Reason != "domain" {
		t.Errorf("verdict after address unblock = %+v, want the domain block", v)
	}
}

func mustBlock(t testing.TB, g *guard.Guard, r, reason string, opts ...guard.BlockOption) {
	t.Helper()
	if _, err := g.Block(context.Background(), r, reason, opts...); err != nil {
		t.Fatalf("Block(%q): %v", r, err)
	}
}

func TestGuard_ExpiringBlock(t *testing.T) {
	// The fake clock starts at the real time: Badger's own TTL runs on the
	// real clock, and the store checks expiry against the fake one too.
	clk := testclock.New()
	g := openGuard(t, t.TempDir(), guard.WithClock(clk.Now))
	mustBlock(t, g, "temp@example.com", "cool-off", guard.WithExpiry(time.Hour))
	mustBlock(t, g, "perm@example.com", "forever")
	v := mustCheck(t, g, "temp@example.com")
	if !v.Blocked || !v.ExpiresAt.Equal(clk.Now().Add(time.Hour)) {
		t.Fatalf("verdict = %+v, want blocked until +1h", v)
	}
	clk.Advance(59 * time.Minute)
	if v := mustCheck(t, g, "temp@example.com"); !v.Blocked {
		t.Fatal("lapsed a minute early")
	}
	clk.Advance(2 * time.Minute)
	if v := mustCheck(t, g, "temp@example.com"); v.Blocked {
		t.Errorf("still blocked after expiry: %+v", v)
	}
	if v := mustCheck(t, g, "perm@example.com"); !v.Blocked {
		t.Error("permanent block lapsed")
	}
	if _, err := g.Block(t.Context(), "past@example.com", "x", guard.WithExpiresAt(clk.Now().Add(-time.Second))); err == nil {
		t.Error("a block that expires in the past was accepted")
	}
}

func TestGuard_UnblockAndReblock(t *testing.T) {
	ctx := t.Context()
	g := openGuard(t, t.TempDir())
	mustBlock(t, g, "+12025550147", "first")
	ok, err := g.Unblock(ctx, "(202) 555-0147")
	if err != nil || !ok {
		t.Fatalf("Unblock = %v, %v; want true", ok, err)
	}
	if v := mustCheck(t, g, "+12025550147"); v.Blocked {
		t.Fatal("blocked after unblock")
	}
	if ok, err := g.Unblock(ctx, "+12025550147"); err != nil || ok {
		t.Fatalf("second Unblock = %v, %v; want false, nil", ok, err)
	}
	mustBlock(t, g, "202.555.0147", "second")
	v := mustCheck(t, g, "+1 202 555 0147")
	if !v.Blocked || v.Reason != "second" {
		t.Fatalf("re-block verdict = %+v", v)
	}
	st := g.Stats()
	if st.Unblocks != 1 || st.Blocks != 2 {
		t.Errorf("Stats blocks/unblocks = %d/%d, want 2/1", st.Blocks, st.Unblocks)
	}
}

func TestGuard_InvalidInput(t *testing.T) {
	ctx := t.Context()
	g := openGuard(t, t.TempDir())
	for _, in := range []string{"", "not an address", "a@b", "a@@b.com", "x\r\n@example.com", "+1", "@", string([]byte{0xff, 0xfe})} {
		v, err := g.Check(ctx, in)
		if !errors.Is(err, normalize.ErrInvalid) {
			t.Errorf("Check(%q) err = %v, want ErrInvalid", in, err)
		}
		if v.Blocked || v.Input != in {
			t.Errorf("Check(%q) verdict = %+v", in, v)
		}
		if _, err := g.Block(ctx, in, "x"); !errors.Is(err, normalize.ErrInvalid) {
			t.Errorf("Block(%q) err = %v, want ErrInvalid", in, err)
		}
		if _, err := g.Unblock(ctx, in); !errors.Is(err, normalize.ErrInvalid) {
			t.Errorf("Unblock(%q) err = %v, want ErrInvalid", in, err)
		}
	}
	if got := g.Stats().Invalid; got != 8 {
		t.Errorf("Stats.Invalid = %d, want 8", got)
	}
}

func TestGuard_StoreFailureFailsClosed(t *testing.T) {
	for _, mode := range []guard.FailMode{guard.FailClosed, guard.FailOpen} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			ctx := t.Context()
			g, err := guard.Open(t.TempDir(), guard.WithFailMode(mode), guard.WithSnapshot(false))
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			s := guard.StoreOf(g)
			mustBlock(t, g, "blocked@example.com", "x")
			// Break the store under the guard.
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			v, err := g.Check(ctx, "blocked@example.com")
			switch mode {
			case guard.FailClosed:
				if !errors.Is(err, guard.ErrUnavailable) || !v.Blocked {
					t.Fatalf("fail closed: verdict %+v, err %v; want blocked + ErrUnavailable", v, err)
				}
			case guard.FailOpen:
				if err != nil || v.Blocked {
					t.Fatalf("fail open: verdict %+v, err %v; want allowed", v, err)
				}
			}
			if g.Stats().StoreErrors != 1 {
				t.Errorf("StoreErrors = %d, want 1", g.Stats().StoreErrors)
			}
			// A wrapped send refuses under fail-closed.
			var sent []string
			w := guard.Wrap(g, recorder(&sent), guard.SingleRecipient(func(m string) string { return m }))
			err = w.Send(ctx, "blocked@example.com")
			if mode == guard.FailClosed && (!errors.Is(err, guard.ErrUnavailable) || len(sent) != 0) {
				t.Errorf("wrapped send under fail-closed: err %v, sent %v", err, sent)
			}
		})
	}
}

func recorder(sent *[]string) guard.Sender[string] {
	var mu sync.Mutex
	return guard.SenderFunc[string](func(_ context.Context, m string) error {
		mu.Lock()
		*sent = append(*sent, m)
		mu.Unlock()
		return nil
	})
}

func TestGuard_Import(t *testing.T) {
	ctx := t.Context()
	g := openGuard(t, t.TempDir())
	mustBlock(t, g, "old@example.com", "before")
	in := []string{"a@example.com", "A@EXAMPLE.COM", "old@example.com", "bogus", "+442071838750", "spam.test", "", "b@example.com"}
	res, err := g.Import(ctx, in, "imported list")
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 4 || res.Present != 2 || len(res.Invalid) != 2 {
		t.Fatalf("Import = %+v, want added 4, present 2, invalid 2", res)
	}
	if res.Invalid[0].Index != 3 || res.Invalid[1].Index != 6 || !errors.Is(res.Invalid[0].Err, normalize.ErrInvalid) {
		t.Errorf("Invalid = %+v", res.Invalid)
	}
	for _, r := range []string{"a@example.com", "b@example.com", "+442071838750", "x@spam.test"} {
		v := mustCheck(t, g, r)
		if !v.Blocked {
			t.Errorf("%q not blocked after Import", r)
		}
		if v.Source != "import" || v.Reason != "imported list" {
			t.Errorf("%q verdict = %+v", r, v)
		}
	}
	if v := mustCheck(t, g, "old@example.com"); v.Reason != "before" {
		t.Errorf("Import replaced an existing block: %+v", v)
	}
}

func TestGuard_ImportEntries(t *testing.T) {
	ctx := t.Context()
	clk := testclock.New()
	g := openGuard(t, t.TempDir(), guard.WithClock(clk.Now))
	mustBlock(t, g, "old@example.com", "before")
	made := clk.Now().Add(-48 * time.Hour)
	until := clk.Now().Add(time.Hour)
	in := []guard.ImportEntry{
		{Recipient: "Ann <ann@example.com>", Reason: "bounced", Source: "opencx", CreatedAt: made},
		{Recipient: "+44 20 7183 8750", Reason: "STOP", Source: "ocamba", ExpiresAt: until},
		{Recipient: "spam.test", Reason: "spam domain"},
		{Recipient: "gone@example.com", Reason: "lapsed", ExpiresAt: clk.Now().Add(-time.Minute)},
		{Recipient: "not an address", Reason: "x"},
		{Recipient: "long@example.com", Reason: strings.Repeat("r", 64<<10+1)},
		{Recipient: "ANN@example.com", Reason: "again"},
		{Recipient: "old@example.com", Reason: "replaced?"},
	}
	res, err := g.ImportEntries(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 3 || res.Present != 2 || res.Expired != 1 || len(res.Invalid) != 2 {
		t.Fatalf("ImportEntries = %+v, want added 3, present 2, expired 1, invalid 2", res)
	}
	if res.Invalid[0].Index != 4 || res.Invalid[1].Index != 5 || !errors.Is(res.Invalid[1].Err, normalize.ErrInvalid) {
		t.Errorf("Invalid = %+v", res.Invalid)
	}
	for _, tc := range []struct {
		in, reason, source string
		created, expires   time.Time
	}{
		{"ann@example.com", "bounced", "opencx", made, time.Time{}},
		{"+442071838750", "STOP", "ocamba", clk.Now(), until},
		{"x@spam.test", "spam domain", "import", clk.Now(), time.Time{}},
		{"old@example.com", "before", "local", clk.Now(), time.Time{}},
	} {
		v := mustCheck(t, g, tc.in)
		if !v.Blocked || v.Reason != tc.reason || v.Source != tc.source ||
			!v.CreatedAt.Equal(tc.created) || !v.ExpiresAt.Equal(tc.expires) {
			t.Errorf("%q verdict = %+v, want reason %q, source %q, created %v, expires %v",
				tc.in, v, tc.reason, tc.source, tc.created, tc.expires)
		}
	}
	for _, r := range []string{"gone@example.com", "long@example.com"} {
		if v := mustCheck(t, g, r); v.Blocked {
			t.Errorf("%q blocked: %+v", r, v)
		}
	}
	clk.Advance(2 * time.Hour)
	if v := mustCheck(t, g, "+442071838750"); v.Blocked {
		t.Errorf("imported block did not lapse: %+v", v)
	}
}

func TestGuard_ReopenKeepsBlocks(t *testing.T) {
	for _, tc := range []struct {
		name     string
		snapshot bool
		corrupt  bool
		writeRaw bool // write through the store after Close, behind the snapshot's back
	}{
		{name: "scan", snapshot: false},
		{name: "snapshot", snapshot: true},
		{name: "corrupt-snapshot", snapshot: true, corrupt: true},
		{name: "stale-snapshot", snapshot: true, writeRaw: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			dir := t.TempDir()
			g, err := guard.Open(dir, guard.WithSnapshot(tc.snapshot))
			if err != nil {
				t.Fatal(err)
			}
			var blocked []string
			for i := range 300 {
				r := fmt.Sprintf("user%d@example.com", i)
				mustBlock(t, g, r, "r")
				blocked = append(blocked, r)
			}
			if err := g.Close(); err != nil {
				t.Fatal(err)
			}
			snap := filepath.Join(dir, "sendguard-filter.snap")
			_, statErr := os.Stat(snap)
			if tc.snapshot != (statErr == nil) {
				t.Fatalf("snapshot file present = %v, want %v", statErr == nil, tc.snapshot)
			}
			if tc.corrupt {
				b, err := os.ReadFile(snap)
				if err != nil {
					t.Fatal(err)
				}
				for i := len(b) / 2; i < len(b); i++ {
					b[i] ^= 0xff
				}
				if err := os.WriteFile(snap, b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tc.writeRaw {
				s, err := storage.Open(dir, storage.Options{})
				if err != nil {
					t.Fatal(err)
				}
				n, _ := normalize.New()
				c, _ := n.Parse("late@example.com")
				if _, _, err := s.Put(ctx, storage.Entry{Contact: c, Original: "late@example.com", Source: "local", CreatedAt: time.Now()}); err != nil {
					t.Fatal(err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				blocked = append(blocked, "late@example.com")
			}
			g2 := openGuard(t, dir, guard.WithSnapshot(tc.snapshot))
			for _, r := range blocked {
				if v := mustCheck(t, g2, r); !v.Blocked {
					t.Fatalf("%q not blocked after reopen", r)
				}
			}
			if v := mustCheck(t, g2, "never@example.com"); v.Blocked {
				t.Error("unblocked address blocked after reopen")
			}
		})
	}
}

func TestGuard_SecondOpenFails(t *testing.T) {
	dir := t.TempDir()
	openGuard(t, dir)
	if _, err := guard.Open(dir); !errors.Is(err, storage.ErrLocked) {
		t.Fatalf("second Open err = %v, want ErrLocked", err)
	}
}

func TestGuard_ProviderFoldingIsPersisted(t *testing.T) {
	dir := t.TempDir()
	g, err := guard.Open(dir, guard.WithProviderFolding(true))
	if err != nil {
		t.Fatal(err)
	}
	mustBlock(t, g, "first.last+news@gmail.com", "x")
	if v := mustCheck(t, g, "FirstLast@googlemail.com"); !v.Blocked {
		t.Error("folded variant not blocked")
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := guard.Open(dir, guard.WithProviderFolding(false)); !errors.Is(err, storage.ErrSettings) {
		t.Fatalf("Open with other folding: err = %v, want ErrSettings", err)
	}
	g2 := openGuard(t, dir) // not given: the store's value is used
	if !g2.Normalizer().ProviderFolding() {
		t.Fatal("reopen without the option did not take the store's folding")
	}
	if v := mustCheck(t, g2, "f.i.r.s.t.l.a.s.t@gmail.com"); !v.Blocked {
		t.Error("folded variant not blocked after reopen")
	}
}

func TestGuard_DiskFull(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	g := openGuard(t, dir)
	mustBlock(t, g, "ann@example.com", "unsubscribed")
	mustBlock(t, g, "spam.test", "spam")
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}

	// The store sees less free space than it keeps: every write is refused
	// with ErrDiskFull, and every check still answers from what is stored.
	full, err := guard.Open(dir, guard.WithMinFreeDisk(math.MaxInt64))
	if err != nil {
		t.Fatalf("Open on a full disk: %v", err)
	}
	if _, err := full.Block(ctx, "bob@example.com", "x"); !errors.Is(err, storage.ErrDiskFull) {
		t.Errorf("Block on a full disk: %v, want ErrDiskFull", err)
	}
	if _, err := full.Unblock(ctx, "ann@example.com"); !errors.Is(err, storage.ErrDiskFull) {
		t.Errorf("Unblock on a full disk: %v, want ErrDiskFull", err)
	}
	if res, err := full.Import(ctx, []string{"c@example.com"}, "x"); !errors.Is(err, storage.ErrDiskFull) || res.Added != 0 {
		t.Errorf("Import on a full disk: %+v, %v; want ErrDiskFull and nothing added", res, err)
	}
	for _, r := range []string{"ann@example.com", "x@spam.test"} {
		if v := mustCheck(t, full, r); !v.Blocked {
			t.Errorf("%s allowed on a full disk", r)
		}
	}
	if err := full.Close(); err != nil {
		t.Fatalf("Close on a full disk: %v", err)
	}

	g = openGuard(t, dir)
	if v := mustCheck(t, g, "ann@example.com"); !v.Blocked || v.Reason != "unsubscribed" {
		t.Errorf("after the full disk: %+v", v)
	}
	mustBlock(t, g, "bob@example.com", "x")
}

func TestGuard_CloseIsIdempotent(t *testing.T) {
	g, err := guard.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = g.Close() })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if _, err := g.Check(t.Context(), "a@example.com"); !errors.Is(err, guard.ErrClosed) {
		t.Errorf("Check after Close: %v, want ErrClosed", err)
	}
	if _, err := g.Block(t.Context(), "a@example.com", "x"); !errors.Is(err, guard.ErrClosed) {
		t.Errorf("Block after Close: %v, want ErrClosed", err)
	}
}

func TestGuard_Stats(t *testing.T) {
	g := openGuard(t, t.TempDir())
	mustBlock(t, g, "b@example.com", "x")
	mustCheck(t, g, "b@example.com")
	mustCheck(t, g, "a@example.com")
	mustCheck(t, g, "c@example.com")
	_, _ = g.Check(t.Context(), "nope")
	st := g.Stats()
	if st.Checks != 3 || st.Allowed != 2 || st.Blocked != 1 || st.Invalid != 1 || st.Blocks != 1 {
		t.Errorf("Stats = %+v", st)
	}
	if st.FilterMaybes < 1 || st.Filter.Count < 1 || st.Filter.Capacity == 0 {
		t.Errorf("filter stats = %+v", st.Filter)
	}
}
