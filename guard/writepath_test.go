package guard_test

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

// The exported methods of Guard and Replication, each classed as a write
// (it may create or remove a block, or append to the change log) or not.
// TestWritePaths covers every write; a new exported method fails
// TestWritePaths_Classified until it is classed here (and, if it writes,
// covered below).
var (
	guardWrites = []string{"Block", "BlockContact", "Import", "ImportEntries", "Unblock", "UnblockContact", "UnblockContactIfSource"}
	// CountEvent and ResetEvents keep counters beside the entries.
	guardOthers = []string{"Check", "Close", "CountEvent", "Normalizer", "Rebuild", "Replication", "ResetEvents", "Scan", "Stats"}
	replWrites  = []string{"Apply", "ApplyIf", "RetryDeadLetters"}
	// Offsets, dead letters and state live beside the entries: they never
	// create or remove a block.
	replOthers = []string{"AddDeadLetter", "Bootstrap", "Changes", "DeadLetters", "DeleteState", "Entry", "Forget",
		"LastSeq", "LogStats", "Normalizer", "Offset", "ReadLog", "ScanState", "SetOffset", "SetState", "State", "Unblocked"}
)

func methodNames(v any) []string {
	t := reflect.TypeOf(v)
	var out []string
	for i := range t.NumMethod() {
		out = append(out, t.Method(i).Name)
	}
	return out
}

func TestWritePaths_Classified(t *testing.T) {
	check := func(what string, got []string, classes ...[]string) {
		t.Helper()
		var want []string
		for _, c := range classes {
			want = append(want, c...)
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s methods = %v\nclassified   %v\n(class every exported method in writepath_test.go)", what, got, want)
		}
	}
	check("Guard", methodNames(&guard.Guard{}), guardWrites, guardOthers)
	check("Replication", methodNames(&guard.Replication{}), replWrites, replOthers)
}

// writePath is one exported way to change the blocklist: do changes it,
// and want says what Check must answer for each probe afterwards.
type writePath struct {
	name string
	do   func(t *testing.T, g *guard.Guard)
	want map[string]bool // probe → blocked
}

func canon(t *testing.T, g *guard.Guard, in string) normalize.Contact {
	t.Helper()
	c, err := g.Normalizer().Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writePaths() []writePath {
	ctx := context.Background()
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// pre blocks what an unblock path then removes.
	pre := func(t *testing.T, g *guard.Guard, in ...string) {
		t.Helper()
		for _, r := range in {
			_, err := g.Block(ctx, r, "pre")
			must(t, err)
		}
	}
	return []writePath{
		{"Block", func(t *testing.T, g *guard.Guard) {
			_, err := g.Block(ctx, "Ann@Example.com", "x")
			must(t, err)
			_, err = g.Block(ctx, "blocked.test", "x")
			must(t, err)
		}, map[string]bool{"ann@example.com": true, "x@sub.blocked.test": true, "bob@example.com": false}},
		{"BlockContact", func(t *testing.T, g *guard.Guard) {
			_, err := g.BlockContact(ctx, canon(t, g, "+14155550100"), "(415) 555-0100", "x")
			must(t, err)
			_, err = g.BlockContact(ctx, canon(t, g, "bc.test"), "bc.test", "x")
			must(t, err)
		}, map[string]bool{"+1 415 555 0100": true, "y@bc.test": true}},
		{"Import", func(t *testing.T, g *guard.Guard) {
			_, err := g.Import(ctx, []string{"imp@example.com", "imp.test", "+14155550101"}, "x")
			must(t, err)
		}, map[string]bool{"imp@example.com": true, "z@a.imp.test": true, "+14155550101": true}},
		{"ImportEntries", func(t *testing.T, g *guard.Guard) {
			_, err := g.ImportEntries(ctx, []guard.ImportEntry{
				{Recipient: "ie@example.com", Reason: "x", Source: "restore"},
				{Recipient: "ie.test", Reason: "x", ExpiresAt: time.Now().Add(time.Hour)},
			})
			must(t, err)
		}, map[string]bool{"ie@example.com": true, "q@ie.test": true}},
		{"Apply/block", func(t *testing.T, g *guard.Guard) {
			for _, in := range []string{"ap@example.com", "ap.test", "+14155550102"} {
				_, err := g.Replication().Apply(ctx, storage.Record{Op: storage.OpBlock, Contact: canon(t, g, in),
					Reason: "remote", Source: "peer", Origin: "fleet", CreatedAt: time.Now().Add(-time.Hour)})
				must(t, err)
			}
		}, map[string]bool{"ap@example.com": true, "w@ap.test": true, "+14155550102": true}},
		{"ApplyIf", func(t *testing.T, g *guard.Guard) {
			pre(t, g, "ai@example.com")
			yes := func() bool { return true }
			for _, in := range []string{"aib@example.com", "ai.test", "+14155550103"} {
				_, err := g.Replication().ApplyIf(ctx, storage.Record{Op: storage.OpBlock, Contact: canon(t, g, in),
					Reason: "remote", Origin: "fleet"}, yes)
				must(t, err)
			}
			ok, err := g.Replication().ApplyIf(ctx, storage.Record{Op: storage.OpUnblock, Contact: canon(t, g, "ai@example.com"), Origin: "fleet"}, yes)
			must(t, err)
			if !ok {
				t.Fatal("ApplyIf unblock: nothing changed")
			}
		}, map[string]bool{"aib@example.com": true, "w@ai.test": true, "+14155550103": true, "ai@example.com": false}},
		{"Unblock", func(t *testing.T, g *guard.Guard) {
			pre(t, g, "un@example.com", "un.test")
			_, err := g.Unblock(ctx, "un@example.com")
			must(t, err)
			_, err = g.Unblock(ctx, "un.test")
			must(t, err)
		}, map[string]bool{"un@example.com": false, "v@un.test": false}},
		{"UnblockContact", func(t *testing.T, g *guard.Guard) {
			pre(t, g, "uc@example.com")
			_, err := g.UnblockContact(ctx, canon(t, g, "uc@example.com"))
			must(t, err)
		}, map[string]bool{"uc@example.com": false}},
		{"UnblockContactIfSource", func(t *testing.T, g *guard.Guard) {
			_, err := g.Block(ctx, "sms@example.com", "STOP", guard.WithSource("sms"))
			must(t, err)
			pre(t, g, "kept@example.com")
			for _, in := range []string{"sms@example.com", "kept@example.com"} {
				_, err := g.UnblockContactIfSource(ctx, canon(t, g, in), "sms")
				must(t, err)
			}
		}, map[string]bool{"sms@example.com": false, "kept@example.com": true}},
		{"Apply/unblock", func(t *testing.T, g *guard.Guard) {
			pre(t, g, "au@example.com", "au.test")
			for _, in := range []string{"au@example.com", "au.test"} {
				ok, err := g.Replication().Apply(ctx, storage.Record{Op: storage.OpUnblock, Contact: canon(t, g, in), Origin: "fleet"})
				must(t, err)
				if !ok {
					t.Fatalf("Apply unblock %s: nothing changed", in)
				}
			}
		}, map[string]bool{"au@example.com": false, "k@au.test": false}},
		{"RetryDeadLetters", func(t *testing.T, g *guard.Guard) {
			// Writes log records only: the block stays, nothing else appears.
			pre(t, g, "dl@example.com")
			r := g.Replication()
			recs, err := r.ReadLog(ctx, 0, 0)
			must(t, err)
			must(t, r.AddDeadLetter(ctx, "remote/x", recs[len(recs)-1], "refused"))
			if n, err := r.RetryDeadLetters(ctx, "remote/x"); n != 1 || err != nil {
				t.Fatalf("RetryDeadLetters = %d, %v; want 1", n, err)
			}
		}, map[string]bool{"dl@example.com": true, "other@example.com": false}},
	}
}

func probe(t *testing.T, g *guard.Guard, when string, want map[string]bool) {
	t.Helper()
	for in, blocked := range want {
		v, err := g.Check(context.Background(), in)
		if err != nil {
			t.Fatalf("%s: Check(%q): %v", when, in, err)
		}
		if v.Blocked != blocked {
			t.Errorf("%s: Check(%q).Blocked = %v, want %v", when, in, v.Blocked, blocked)
		}
	}
}

// TestWritePaths proves that Check sees every exported write at once
// (while other goroutines check), after Close and Open (the snapshot
// path), and after a reopen without the snapshot (the scan path).
func TestWritePaths(t *testing.T) {
	for _, wp := range writePaths() {
		t.Run(wp.name, func(t *testing.T) {
			dir := t.TempDir()
			g, err := guard.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range 2 { // concurrent checks for the race detector
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						for in := range wp.want {
							_, _ = g.Check(context.Background(), in)
						}
					}
				})
			}
			wp.do(t, g)
			close(stop)
			wg.Wait()
			probe(t, g, "after the write", wp.want)
			if err := g.Close(); err != nil {
				t.Fatal(err)
			}
			for _, opts := range [][]guard.Option{nil, {guard.WithSnapshot(false)}} {
				g, err := guard.Open(dir, opts...)
				if err != nil {
					t.Fatal(err)
				}
				probe(t, g, "after reopen", wp.want)
				if err := g.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestWritePaths_StoreBehindTheGuard: a block written to the store by
// something other than the guard, while no guard is open, is seen by the
// next Open although a snapshot from the last Close exists: the snapshot's
// stamp covers every write.
func TestWritePaths_StoreBehindTheGuard(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	g, err := guard.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Block(ctx, "first@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	c := canon(t, g, "behind@example.com")
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put(ctx, storage.Entry{Contact: c, Reason: "direct"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	g, err = guard.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	probe(t, g, "after a write behind the guard", map[string]bool{"first@example.com": true, "behind@example.com": true})
}
