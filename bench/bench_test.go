package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bits-and-blooms/bloom/v3"
	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

// checkCase is one kind of recipient the Check benchmarks look up.
type checkCase struct {
	name    string
	inputs  []string // cycled through; the length is a power of two
	blocked bool     // every input's right answer
}

var (
	casesOnce sync.Once
	cases     []checkCase
	casesErr  error
	fpOnce    sync.Once
	fpRate    float64 // measured over fpProbes absent keys
	fpProbes  int
)

// getCases builds the inputs on first use. Finding filter false positives
// takes some thousands of checks.
func getCases(b *testing.B, f *fixture) []checkCase {
	b.Helper()
	casesOnce.Do(func() { cases, casesErr = buildCases(f) })
	if casesErr != nil {
		b.Fatal(casesErr)
	}
	return cases
}

func buildCases(f *fixture) ([]checkCase, error) {
	stride := max(1, f.n/4096)
	blocked := sample(4096, func(i int) string {
		j := i * stride % f.n
		if j%4 == 3 {
			j-- // a phone; take the email before it
		}
		return email(j)
	}, nil)
	coldStride := max(1, f.n/65536)
	coldBlocked := sample(65536, func(i int) string {
		j := (i*coldStride + 1) % f.n
		if j%4 == 3 {
			j--
		}
		return email(j)
	}, nil)
	fps, err := findFalsePositives(f.g, 64)
	if err != nil {
		return nil, err
	}
	return []checkCase{
		{name: "allowed-email", inputs: sample(4096, func(i int) string {
			return "someone" + strconv.Itoa(i) + "@nowhere" + strconv.Itoa(i%101) + ".test"
		}, nil)},
		{name: "allowed-e164", inputs: sample(4096, func(i int) string {
			return fmt.Sprintf("+1720%03d%04d", 200+i/10000, i%10000)
		}, nil)},
		// 4,096 distinct national numbers: after the first round every one
		// is in the normalizer's memo (8,192 by default).
		{name: "allowed-national", inputs: sample(4096, func(i int) string {
			return fmt.Sprintf("(720) %03d-%04d", 300+i/10000, i%10000)
		}, nil)},
		// 65,536 distinct national numbers cycled through an 8,192-entry
		// LRU: every check parses with libphonenumber.
		{name: "allowed-national-cold", inputs: sample(1<<16, func(i int) string {
			return fmt.Sprintf("(720) %03d-%04d", 400+i/10000, i%10000)
		}, nil)},
		{name: "blocked-email", inputs: blocked, blocked: true},
		// More distinct blocked emails than the guard's blocked cache
		// holds (16,384), cycled: every check misses it, a first check.
		{name: "blocked-email-cold", inputs: coldBlocked, blocked: true},
		{name: "filter-fp", inputs: fps},
	}, nil
}

// findFalsePositives returns k absent emails the filter says "maybe" to:
// it checks fresh addresses and keeps those after which the guard counted
// a false positive (the store said no).
func findFalsePositives(g *guard.Guard, k int) ([]string, error) {
	ctx := context.Background()
	var out []string
	for i := 0; len(out) < k; i++ {
		if i > 50_000_000 {
			return nil, fmt.Errorf("bench: found only %d filter false positives in %d probes", len(out), i)
		}
		in := "fp" + strconv.Itoa(i) + "@probe.test"
		before := g.Stats().FalsePositives
		v, err := g.Check(ctx, in)
		if err != nil || v.Blocked {
			return nil, fmt.Errorf("bench: probe %q: blocked %v, %v", in, v.Blocked, err)
		}
		if g.Stats().FalsePositives > before {
			out = append(out, in)
		}
	}
	return out, nil
}

// measureFPRate checks min(N, 1M) absent addresses and returns the share
// the filter said "maybe" to.
func measureFPRate(f *fixture) (float64, int) {
	fpOnce.Do(func() {
		ctx := context.Background()
		fpProbes = min(f.n, 1_000_000)
		before := f.g.Stats().FalsePositives
		for i := range fpProbes {
			_, _ = f.g.Check(ctx, "absent"+strconv.Itoa(i)+"@rate.test")
		}
		fpRate = float64(f.g.Stats().FalsePositives-before) / float64(fpProbes)
	})
	return fpRate, fpProbes
}

// BenchmarkMemory reports the fixture's sizes and build figures; its
// ns/op is meaningless and reported as 0.
func BenchmarkMemory(b *testing.B) {
	f := getFixture(b)
	serveAnon, serveFile, serveHeap := measureServing(b, f)
	rate, _ := measureFPRate(f)
	m := getMap(b)
	st := f.g.Stats()
	for b.Loop() {
	}
	n := float64(f.n)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(f.build.anonPeak)/(1<<20), "import-anon-peak-MB")
	b.ReportMetric(float64(f.build.filePeak)/(1<<20), "import-file-peak-MB")
	b.ReportMetric(float64(serveAnon)/(1<<20), "serve-anon-peak-MB")
	b.ReportMetric(float64(serveFile)/(1<<20), "serve-file-peak-MB")
	b.ReportMetric(float64(f.build.heapPeak)/(1<<20), "import-goheap-peak-MB")
	b.ReportMetric(float64(serveHeap)/(1<<20), "serve-goheap-peak-MB")
	b.ReportMetric(float64(st.Filter.Bits)/8/n, "filter-B/entry")
	b.ReportMetric(float64(m.bytes)/n, "map-B/entry")
	b.ReportMetric(float64(f.build.disk)/n, "disk-B/entry")
	b.ReportMetric(float64(f.build.peakRSS)/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(f.build.rssAnon)/(1<<20), "rss-anon-MB")
	b.ReportMetric(float64(f.build.rssFile)/(1<<20), "rss-file-MB")
	b.ReportMetric(float64(f.build.heap)/(1<<20), "heap-MB")
	b.ReportMetric(rate, "fp-rate")
	b.ReportMetric(f.build.total.Seconds(), "build-s")
	b.ReportMetric(n/f.build.imported.Seconds(), "import-entries/s")
}

var (
	serveOnce                       sync.Once
	serveAnon, serveFile, serveHeap uint64
)

// measureServing checks a mix of inputs — allowed, blocked (cached and
// cold), filter false positives — from GOMAXPROCS goroutines for 3 s,
// before any baseline is built in this process, and returns the highest
// RssAnon and RssFile sampled meanwhile.
func measureServing(b *testing.B, f *fixture) (anon, file, heap uint64) {
	cs := getCases(b, f)
	serveOnce.Do(func() {
		ctx := context.Background()
		stop := sampleRSS()
		deadline := time.Now().Add(3 * time.Second)
		var wg sync.WaitGroup
		for w := range runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				for i := w; time.Now().Before(deadline); i++ {
					for _, c := range cs {
						if c.name == "allowed-national-cold" && i%16 != 0 {
							continue // a parse each: keep it a small share
						}
						_, _ = f.g.Check(ctx, c.inputs[i&(len(c.inputs)-1)])
					}
				}
			})
		}
		wg.Wait()
		serveAnon, serveFile, serveHeap = stop()
	})
	return serveAnon, serveFile, serveHeap
}

// impl is one way of answering "is this recipient blocked?".
type impl struct {
	name    string
	prepare func(b *testing.B) // before the first checker; may build a baseline
	// allowedOnly: the implementation answers allowed cases only, and
	// only "no" is certain (the floor says "maybe" to blocked keys and
	// false positives alike).
	allowedOnly bool
	// checker returns a check function for one goroutine.
	checker func() func(in string) (bool, error)
}

func impls(f *fixture) []impl {
	ctx := context.Background()
	var m map[string]struct{}
	var floor *bloom.BloomFilter
	var redisAt string
	return []impl{
		{
			name:    "guard",
			prepare: func(*testing.B) {},
			checker: func() func(string) (bool, error) {
				return func(in string) (bool, error) {
					v, err := f.g.Check(ctx, in)
					return v.Blocked, err
				}
			},
		},
		{
			// Badger alone: normalize, then the store's exact look-up,
			// with no filter in front.
			name:    "badger",
			prepare: func(b *testing.B) { getBadger(b, f) },
			checker: func() func(string) (bool, error) {
				s := badgerStore
				return keyed(f.g.Normalizer(), func(key []byte) (bool, error) {
					_, ok, err := s.GetKey(ctx, key)
					return ok, err
				})
			},
		},
		{
			// The floor: normalize, then one bare bloom.Test on a filter
			// of the guard's size holding the same keys (see
			// BenchmarkRatio). Allowed cases only.
			name:        "floor",
			allowedOnly: true,
			prepare:     func(b *testing.B) { floor = getFloor(b, f) },
			checker:     func() func(string) (bool, error) { return floorChecker(f, floor) },
		},
		{
			// Redis (opt-in, SENDGUARD_BENCH_REDIS=1): SISMEMBER over
			// loopback, one connection per goroutine.
			name:    "redis",
			prepare: func(b *testing.B) { redisAt = getRedis(b, f) },
			checker: func() func(string) (bool, error) { return redisChecker(f, redisAt) },
		},
		{
			// A Go map holding every key: normalize, then one map probe.
			name: "map",
			prepare: func(b *testing.B) {
				mf := getMap(b)
				m = mf.m
				b.ReportMetric(float64(mf.bytes)/float64(f.n), "map-B/entry")
			},
			checker: func() func(string) (bool, error) {
				return keyed(f.g.Normalizer(), func(key []byte) (bool, error) {
					_, ok := m[string(key)]
					return ok, nil
				})
			},
		},
	}
}

// keyed returns a check that normalizes its input with n, as the guard
// does, and asks lookup about the key (a buffer of its own, reused).
func keyed(n *normalize.Normalizer, lookup func(key []byte) (bool, error)) func(string) (bool, error) {
	buf := make([]byte, 0, 256)
	return func(in string) (bool, error) {
		c, err := n.Parse(in)
		if err != nil {
			return false, err
		}
		buf = c.AppendKey(buf[:0])
		return lookup(buf)
	}
}

// BenchmarkCheck times one check on one goroutine, per implementation and
// kind of recipient.
func BenchmarkCheck(b *testing.B) { benchCheck(b, false) }

// BenchmarkCheckParallel is BenchmarkCheck from GOMAXPROCS goroutines
// (b.RunParallel): ns/op is wall time per check with all of them busy.
func BenchmarkCheckParallel(b *testing.B) { benchCheck(b, true) }

func benchCheck(b *testing.B, parallel bool) {
	f := getFixture(b)
	cs := getCases(b, f)
	for _, im := range impls(f) {
		for _, c := range cs {
			if im.allowedOnly && (c.blocked || c.name == "filter-fp") {
				continue
			}
			verified := false
			b.Run(im.name+"/"+c.name, func(b *testing.B) {
				im.prepare(b)
				check := im.checker()
				// Every answer is checked once before timing (which also
				// fills the normalizer's memo where inputs fit in it).
				// RunParallel benchmarks are called once per round; one
				// check is enough.
				for _, in := range c.inputs {
					if verified {
						break
					}
					got, err := check(in)
					if im.allowedOnly && got && err == nil {
						continue // a filter false positive: the floor cannot tell
					}
					if err != nil || got != c.blocked {
						b.Fatalf("%s(%q) = %v, %v; want %v", im.name, in, got, err, c.blocked)
					}
				}
				verified = true
				mask := len(c.inputs) - 1
				b.ReportAllocs()
				if !parallel {
					i := 0
					for b.Loop() {
						_, _ = check(c.inputs[i&mask])
						i++
					}
					return
				}
				var seed sync.Mutex
				next := 0
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					seed.Lock()
					check := im.checker()
					// Start each goroutine as far from the others as can
					// be: for blocked-email-cold, no goroutine must find in
					// the guard's cache what another just read.
					i := next * (len(c.inputs) / runtime.GOMAXPROCS(0))
					next++
					seed.Unlock()
					for pb.Next() {
						_, _ = check(c.inputs[i&mask])
						i++
					}
				})
			})
		}
	}
}

// benchMsg is a message with only recipients.
type benchMsg struct{ To []string }

var benchAddressing = guard.AddressingFuncs[benchMsg]{
	RecipientsFunc: func(m benchMsg) []string { return m.To },
	WithoutFunc: func(m benchMsg, drop []int) benchMsg {
		out := benchMsg{To: make([]string, 0, len(m.To)-len(drop))}
		for i, r := range m.To {
			if len(drop) > 0 && drop[0] == i {
				drop = drop[1:]
				continue
			}
			out.To = append(out.To, r)
		}
		return out
	},
}

// BenchmarkSend times a wrapped send of a 5-recipient message to a
// sender that does nothing: the guard's whole cost per message.
func BenchmarkSend(b *testing.B) {
	f := getFixture(b)
	cs := getCases(b, f)
	byName := map[string][]string{}
	for _, c := range cs {
		byName[c.name] = c.inputs
	}
	noop := guard.SenderFunc[benchMsg](func(context.Context, benchMsg) error { return nil })
	send := guard.Wrap(f.g, noop, benchAddressing, guard.WithPolicy(guard.DropBlocked))
	msgs := func(parts ...string) []benchMsg {
		out := make([]benchMsg, 256)
		for i := range out {
			for j, p := range parts {
				in := byName[p]
				out[i].To = append(out[i].To, in[(i*len(parts)+j)%len(in)])
			}
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		msgs    []benchMsg
		blocked bool
	}{
		{"5-allowed-emails", msgs("allowed-email", "allowed-email", "allowed-email", "allowed-email", "allowed-email"), false},
		{"5-allowed-mixed", msgs("allowed-email", "allowed-email", "allowed-e164", "allowed-national", "allowed-email"), false},
		{"5-one-blocked", msgs("allowed-email", "allowed-email", "blocked-email", "allowed-email", "allowed-email"), true},
	} {
		for _, parallel := range []bool{false, true} {
			name := tc.name
			if parallel {
				name += "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				ctx := context.Background()
				for _, m := range tc.msgs {
					err := send.Send(ctx, m)
					var be *guard.BlockedError
					if tc.blocked != errors.As(err, &be) || (tc.blocked && (!be.Sent || len(be.Suppressed) != 1)) {
						b.Fatalf("Send(%v) = %v", m.To, err)
					}
				}
				b.ReportAllocs()
				if !parallel {
					i := 0
					for b.Loop() {
						_ = send.Send(ctx, tc.msgs[i&255])
						i++
					}
					return
				}
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						_ = send.Send(ctx, tc.msgs[i&255])
						i++
					}
				})
			})
		}
	}
}

// BenchmarkImport times guard.Import of 10,000 new contacts into an
// on-disk store (a fresh one per benchmark round, growing by a chunk per
// op). The fixture's own build rate is in BenchmarkMemory.
func BenchmarkImport(b *testing.B) {
	const chunk = 10_000
	g, err := guard.Open(b.TempDir(), guard.WithExpectedSize(1<<20))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = g.Close() }()
	ctx := context.Background()
	batch := make([]string, chunk)
	b.ReportAllocs()
	b.ResetTimer()
	for op := 0; op < b.N; op++ {
		b.StopTimer()
		for i := range batch {
			batch[i] = contact(op*chunk + i)
		}
		b.StartTimer()
		res, err := g.Import(ctx, batch, "bench")
		if err != nil || res.Added != chunk {
			b.Fatalf("Import: added %d of %d, %v", res.Added, chunk, err)
		}
	}
	b.ReportMetric(float64(chunk*b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkOpen times guard.Open of the fixture's N-entry store: with the
// filter snapshot the last Close wrote, and without (a key scan of the
// store). Close (which writes the snapshot) is not timed.
func BenchmarkOpen(b *testing.B) {
	f := getFixture(b)
	if err := f.g.Close(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		g, err := guard.Open(f.dir, f.opts...)
		if err != nil {
			b.Fatal(err)
		}
		f.g = g
	}()
	for _, tc := range []struct {
		name     string
		snapshot bool
	}{{"snapshot", true}, {"scan", false}} {
		b.Run(tc.name, func(b *testing.B) {
			opts := append(append([]guard.Option(nil), f.opts...), guard.WithSnapshot(tc.snapshot))
			for range b.N {
				start := time.Now()
				g, err := guard.Open(f.dir, opts...)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				// A snapshot keeps the time of the rebuild it was taken
				// from; a scan is a rebuild now.
				if scanned := !g.Stats().Filter.LastRebuild.Before(start); scanned == tc.snapshot {
					_ = g.Close()
					b.Fatalf("WithSnapshot(%v): the filter was scanned %v", tc.snapshot, scanned)
				}
				if err := g.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			if fi, err := os.Stat(filepath.Join(f.dir, "sendguard-filter.snap")); err == nil {
				b.ReportMetric(float64(fi.Size())/(1<<20), "snapshot-MB")
			}
		})
	}
}

// The Badger baseline's own store, with the fixture's contacts: the
// guard's store is the guard's alone.
var (
	badgerOnce  sync.Once
	badgerStore *storage.Store
	badgerErr   error
)

// getBadger builds the baseline's store on first use: a plain
// storage.Store in its own directory, holding the same keys as the
// fixture's guard.
func getBadger(b *testing.B, f *fixture) {
	b.Helper()
	badgerOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sendguard-bench-badger-")
		if err != nil {
			badgerErr = err
			return
		}
		s, err := storage.Open(dir, storage.Options{})
		if err != nil {
			badgerErr = err
			return
		}
		badgerStore = s
		norm := f.g.Normalizer()
		const chunk = 50_000
		for lo := 0; lo < f.n; lo += chunk {
			entries := make([]storage.Entry, 0, chunk)
			for i := lo; i < min(lo+chunk, f.n); i++ {
				c, err := norm.Parse(contact(i))
				if err != nil {
					badgerErr = err
					return
				}
				entries = append(entries, storage.Entry{Contact: c, Reason: "bench"})
			}
			if _, err := s.Import(context.Background(), entries); err != nil {
				badgerErr = err
				return
			}
		}
	})
	if badgerErr != nil {
		b.Fatal(badgerErr)
	}
}
