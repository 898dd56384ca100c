package filter

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bits-and-blooms/bloom/v3"
)

// benchSizes are the key counts benchmarked: 1M, and 10M when the
// environment has SENDGUARD_BENCH_10M=1 (see the package documentation).
func benchSizes() []int {
	sizes := []int{1_000_000}
	if os.Getenv("SENDGUARD_BENCH_10M") == "1" {
		sizes = append(sizes, 10_000_000)
	}
	return sizes
}

func sizeName(n int) string {
	if n%1_000_000 == 0 {
		return strconv.Itoa(n/1_000_000) + "M"
	}
	return strconv.Itoa(n)
}

const probeCount = 1 << 16 // keys probed per benchmark, cycled through

// benchFixture is a Filter holding n keys, and keys to probe it with.
type benchFixture struct {
	n       int
	f       *Filter
	present [][]byte // added keys, in random order
	absent  [][]byte // keys never added
	fpRate  float64  // measured over absent
}

func newBenchFixture(b *testing.B, n int) *benchFixture {
	b.Helper()
	fx := &benchFixture{n: n, f: New(uint(n), DefaultFPRate)}
	if err := fx.f.Rebuild(context.Background(), uint(n), keysSource("user", 0, n)); err != nil {
		b.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	fp := 0
	for i := range probeCount {
		fx.present = append(fx.present, key("user", rnd.IntN(n)))
		fx.absent = append(fx.absent, key("other", i))
		if fx.f.MayContain(fx.absent[i]) {
			fp++
		}
	}
	fx.fpRate = float64(fp) / probeCount
	return fx
}

// withRecent returns a Filter answering from the same bloom filter as fx.f
// plus recent keys not yet folded into it: the state between two folds.
func (fx *benchFixture) withRecent(recent int) *Filter {
	bf := &fx.f.cur.Load().bf
	r := newRecentSet(fx.f.foldLimitFor(bf), fx.f.fpRate/10)
	for i := range recent {
		r.insert(key("recent", i))
	}
	g := &Filter{fpRate: fx.f.fpRate}
	g.cur.Store(&state{bf: *bf, recent: r})
	return g
}

// BenchmarkMayContain measures Filter.MayContain against a bare bloom/v3 Test
// on the very same bloom filter and keys, serially and in parallel. Compare
// the parallel ns/op across -cpu=1,2 for the scaling.
func BenchmarkMayContain(b *testing.B) {
	for _, n := range benchSizes() {
		fx := newBenchFixture(b, n)
		bf := &fx.f.cur.Load().bf
		bitsPerKey := float64(bf.Cap()) / float64(n)
		b.Run(sizeName(n), func(b *testing.B) {
			for _, probe := range []struct {
				name string
				keys [][]byte
				want bool // every answer must be true (present keys)
			}{
				{"absent", fx.absent, false},
				{"present", fx.present, true},
			} {
				b.Run(probe.name, func(b *testing.B) {
					impls := []struct {
						name string
						test func([]byte) bool
					}{
						{"filter", fx.f.MayContain},
						{"bare", bf.Test},
					}
					if !probe.want {
						impls = append(impls, struct {
							name string
							test func([]byte) bool
						}{"filter-recent", fx.withRecent(1000).MayContain})
					}
					for _, impl := range impls {
						b.Run(impl.name, func(b *testing.B) {
							benchProbe(b, impl.test, probe.keys, probe.want, fx.fpRate, bitsPerKey)
						})
						b.Run(impl.name+"-parallel", func(b *testing.B) {
							benchProbeParallel(b, impl.test, probe.keys, probe.want, fx.fpRate, bitsPerKey)
						})
					}
				})
			}
		})
	}
}

// BenchmarkMayContainOverhead measures the cost of Filter.MayContain over a
// bare bloom/v3 Test on the same bloom filter and keys by interleaving the two
// in short blocks within one benchmark (each block of probes goes to one of
// them, in turn), so that load from other processes on a shared machine falls
// on both alike. It reports each one's ns/op and the overhead in percent;
// "parallel" does the same in every goroutine of b.RunParallel.
func BenchmarkMayContainOverhead(b *testing.B) {
	for _, n := range benchSizes() {
		fx := newBenchFixture(b, n)
		bare := fx.f.cur.Load().bf.Test
		for _, probe := range []struct {
			name    string
			keys    [][]byte
			present bool
			filter  func([]byte) bool
		}{
			{"absent", fx.absent, false, fx.f.MayContain},
			{"present", fx.present, true, fx.f.MayContain},
			// Keys added since the last fold: the usual state once blocks
			// arrive one at a time.
			{"absent-recent", fx.absent, false, fx.withRecent(1000).MayContain},
		} {
			impls := [2]func([]byte) bool{probe.filter, bare}
			for _, parallel := range []bool{false, true} {
				name := sizeName(n) + "/" + probe.name
				if parallel {
					name += "/parallel"
				}
				b.Run(name, func(b *testing.B) {
					var ns, ops [2]atomic.Int64 // per impl: time taken, probes done
					var misses atomic.Int64     // present keys reported absent
					// run probes in blocks until next says stop.
					run := func(next func() bool) {
						i := rand.IntN(probeCount)
						for block := 0; ; block++ {
							test := impls[block%2]
							c, hits := 0, 0
							t0 := time.Now()
							for ; c < overheadBlock && next(); c++ {
								if test(probe.keys[(i+c)&(probeCount-1)]) {
									hits++
								}
							}
							ns[block%2].Add(int64(time.Since(t0)))
							ops[block%2].Add(int64(c))
							if probe.present {
								misses.Add(int64(c - hits))
							}
							if c < overheadBlock {
								return
							}
							i += c
						}
					}
					b.ReportAllocs()
					if parallel {
						b.RunParallel(func(pb *testing.PB) { run(pb.Next) })
					} else {
						n := 0
						run(func() bool { n++; return n <= b.N })
					}
					if misses.Load() > 0 {
						b.Fatalf("%d present keys reported absent", misses.Load())
					}
					perOp := func(j int) float64 { return float64(ns[j].Load()) / float64(max(ops[j].Load(), 1)) }
					b.ReportMetric(perOp(0), "filter-ns/op")
					b.ReportMetric(perOp(1), "bare-ns/op")
					b.ReportMetric(100*(perOp(0)/perOp(1)-1), "overhead-%")
				})
			}
		}
	}
}

const overheadBlock = 1024 // probes per block in BenchmarkMayContainOverhead

func benchProbe(b *testing.B, test func([]byte) bool, keys [][]byte, want bool, fpRate, bitsPerKey float64) {
	b.ReportAllocs()
	hits, i := 0, 0
	for b.Loop() {
		if test(keys[i&(probeCount-1)]) {
			hits++
		}
		i++
	}
	if want && hits != i {
		b.Fatalf("%d of %d present keys reported absent", i-hits, i)
	}
	b.ReportMetric(bitsPerKey, "bits/key")
	if !want {
		b.ReportMetric(fpRate, "fp-rate")
	}
}

func benchProbeParallel(b *testing.B, test func([]byte) bool, keys [][]byte, want bool, fpRate, bitsPerKey float64) {
	b.ReportAllocs()
	var misses atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i, missed := rand.IntN(probeCount), int64(0)
		for pb.Next() {
			if !test(keys[i&(probeCount-1)]) {
				missed++
			}
			i++
		}
		misses.Add(missed)
	})
	if want && misses.Load() > 0 {
		b.Fatalf("%d present keys reported absent", misses.Load())
	}
	b.ReportMetric(bitsPerKey, "bits/key")
	if !want {
		b.ReportMetric(fpRate, "fp-rate")
	}
}

// BenchmarkAdd measures Add of new keys (folds included: their cost grows
// with the filter's size) and of keys already present.
func BenchmarkAdd(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(sizeName(n)+"/new", func(b *testing.B) {
			f := New(uint(n), DefaultFPRate)
			b.ReportAllocs()
			buf := []byte("e:new")
			i := 0
			for b.Loop() {
				f.Add(strconv.AppendInt(buf[:5], int64(i), 10))
				i++
			}
		})
		b.Run(sizeName(n)+"/present", func(b *testing.B) {
			f := New(uint(n), DefaultFPRate)
			for i := range probeCount {
				f.Add(key("p", i))
			}
			keys := make([][]byte, probeCount)
			for i := range keys {
				keys[i] = key("p", i)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				f.Add(keys[i&(probeCount-1)])
				i++
			}
		})
	}
}

// BenchmarkRebuild measures a Rebuild from a source of 1M keys, against
// filling a bare bloom/v3 filter of the same size with the same keys.
func BenchmarkRebuild(b *testing.B) {
	const n = 1_000_000
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = key("user", i)
	}
	src := func(ctx context.Context, add func([]byte)) error {
		for _, k := range keys {
			add(k)
		}
		return nil
	}
	b.Run("1M/filter", func(b *testing.B) {
		f := New(n, DefaultFPRate)
		b.ReportAllocs()
		for b.Loop() {
			if err := f.Rebuild(b.Context(), n, src); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
	})
	b.Run("1M/bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bf := bloom.NewWithEstimates(n, DefaultFPRate)
			for _, k := range keys {
				bf.Add(k)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
	})
}

// BenchmarkSnapshot measures writing and reading the snapshot of a 1M-key
// filter (in memory).
func BenchmarkSnapshot(b *testing.B) {
	fx := newBenchFixture(b, 1_000_000)
	var buf bytes.Buffer
	if _, err := fx.f.WriteSnapshot(&buf, []byte("stamp")); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.Run("1M/write", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		var out bytes.Buffer
		for b.Loop() {
			out.Reset()
			if _, err := fx.f.WriteSnapshot(&out, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("1M/read", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, _, err := ReadSnapshot(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
