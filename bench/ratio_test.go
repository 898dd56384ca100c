package bench

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bits-and-blooms/bloom/v3"
)

// The floor: what no design over bloom/v3 can avoid for an allowed check —
// normalizing the input and one bare bloom.Test of its key on a filter of
// the same size (m and k) holding the same N keys.
var (
	floorOnce sync.Once
	floorBF   *bloom.BloomFilter
	floorErr  error
)

// getFloor builds the floor's bloom filter on first use and checks that it
// has the guard filter's m and k.
func getFloor(b *testing.B, f *fixture) *bloom.BloomFilter {
	b.Helper()
	floorOnce.Do(func() {
		st := f.g.Stats().Filter
		bf := bloom.NewWithEstimates(uint(st.Capacity), 0.001)
		if uint64(bf.Cap()) != st.Bits || uint64(bf.K()) != st.K {
			floorErr = fmt.Errorf("bench: floor filter m=%d k=%d, guard's m=%d k=%d", bf.Cap(), bf.K(), st.Bits, st.K)
			return
		}
		norm := f.g.Normalizer()
		var buf []byte
		for i := range f.n {
			c, err := norm.Parse(contact(i))
			if err != nil {
				floorErr = err
				return
			}
			buf = c.AppendKey(buf[:0])
			bf.Add(buf)
		}
		floorBF = bf
	})
	if floorErr != nil {
		b.Fatal(floorErr)
	}
	return floorBF
}

// floorChecker returns the floor as a check for one goroutine: normalize,
// append the key to a reused buffer, one bloom.Test.
func floorChecker(f *fixture, bf *bloom.BloomFilter) func(string) (bool, error) {
	norm := f.g.Normalizer()
	buf := make([]byte, 0, 256)
	return func(in string) (bool, error) {
		c, err := norm.Parse(in)
		if err != nil {
			return false, err
		}
		buf = c.AppendKey(buf[:0])
		return bf.Test(buf), nil
	}
}

// BenchmarkRatio times the guard, its floor, Badger alone and (opt-in)
// Redis in interleaved phases of one benchmark, so that load from other
// processes falls on all of them alike, and reports the ratios:
//
//   - x_floor: guard ns per check / floor ns per check (goal ≤ 1.3)
//   - x_badger: Badger-alone ns / guard ns (goals ≥ 20 serial, ≥ 25 parallel;
//     for blocked-email-cold, a first blocked check, ≥ 1: no slower)
//   - x_redis: Redis SISMEMBER ns / guard ns (goal ≥ 100), with
//     SENDGUARD_BENCH_REDIS=1
//
// Each ratio is the median over the iterations of the ratio within one
// iteration; ns/op is the guard's median time per check. "parallel" runs
// every phase on GOMAXPROCS goroutines at once; its times are wall time
// per check.
func BenchmarkRatio(b *testing.B) {
	f := getFixture(b)
	cs := getCases(b, f)
	bf := getFloor(b, f)
	getBadger(b, f)
	im := impls(f)
	var redisAt string
	if redisWanted() {
		redisAt = getRedis(b, f)
	}
	for _, c := range cs {
		switch c.name {
		case "allowed-email", "allowed-e164", "blocked-email-cold":
		default:
			continue
		}
		for _, parallel := range []bool{false, true} {
			name := c.name + "/serial"
			if parallel {
				name = c.name + "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				phases := []ratioPhase{
					{name: "guard", round: 2048, checker: im[0].checker},
					{name: "badger", round: 128, checker: im[1].checker},
				}
				if c.blocked {
					phases[0].round = 128
					// The guard's own store read alone (Replication.Entry:
					// a storage Get), to tell the store from the guard.
					repl := f.g.Replication()
					phases = append(phases, ratioPhase{name: "ownstore", round: 128,
						checker: func() func(string) (bool, error) {
							norm := f.g.Normalizer()
							return func(in string) (bool, error) {
								c, err := norm.Parse(in)
								if err != nil {
									return false, err
								}
								_, ok, err := repl.Entry(context.Background(), c)
								return ok, err
							}
						}})
				} else {
					phases = append(phases, ratioPhase{name: "floor", round: 2048,
						checker: func() func(string) (bool, error) { return floorChecker(f, bf) }})
				}
				if redisAt != "" {
					phases = append(phases, ratioPhase{name: "redis", round: 32,
						checker: func() func(string) (bool, error) { return redisChecker(f, redisAt) }})
				}
				procs := 1
				if parallel {
					procs = runtime.GOMAXPROCS(0)
				}
				ns, ratios := runPhases(b, phases, c.inputs, c.blocked, procs)
				b.ReportMetric(ns[0], "ns/op")
				for p := 1; p < len(phases); p++ {
					b.ReportMetric(ns[p], phases[p].name+"-ns")
					if phases[p].name == "floor" {
						b.ReportMetric(median(ratios[p]), "x_floor")
					} else {
						b.ReportMetric(1/median(ratios[p]), "x_"+phases[p].name)
					}
				}
			})
		}
	}
}

// ratioPhase is one implementation timed by runPhases: round checks per
// goroutine per phase.
type ratioPhase struct {
	name    string
	round   int
	checker func() func(string) (bool, error)
}

// runPhases runs the phases in turn, b.N times each (every goroutine does
// one round per phase, all goroutines of a phase at once), and returns each
// phase's median wall time per check in ns, and for each phase the ratios
// of phase 0's time to its own, one per iteration. Every answer must be
// want (the floor may say "maybe" to an allowed input).
func runPhases(b *testing.B, phases []ratioPhase, inputs []string, want bool, procs int) ([]float64, [][]float64) {
	mask := len(inputs) - 1
	// One check function per goroutine and phase (each keeps a buffer).
	checks := make([][]func(string) (bool, error), len(phases))
	for p := range phases {
		for range procs {
			checks[p] = append(checks[p], phases[p].checker())
		}
		for _, in := range inputs {
			// The floor says "maybe" to the filter's false positives
			// among the inputs (about 0.1%); the guard confirms those.
			blocked, err := checks[p][0](in)
			if err != nil || (blocked != want && !(blocked && phases[p].name == "floor")) {
				b.Fatalf("%s(%q) = %v, %v; want %v", phases[p].name, in, blocked, err, want)
			}
		}
	}
	// Per-check times of each phase in each iteration, and the guard's
	// (phase 0) time over each other phase's in the same iteration: the
	// medians shrug off the iterations another process preempted.
	per := make([][]float64, len(phases))
	ratios := make([][]float64, len(phases))
	cur := make([]float64, len(phases))
	start := make([]chan int, procs) // phase index to run
	var done sync.WaitGroup
	for w := range procs {
		start[w] = make(chan int)
		go func() {
			// Start each goroutine as far from the others as can be: for
			// blocked-email-cold, no goroutine must find in the guard's
			// cache what another just read.
			i := w * (len(inputs) / procs)
			for p := range start[w] {
				check := checks[p][w]
				for range phases[p].round {
					_, _ = check(inputs[i&mask])
					i++
				}
				done.Done()
			}
		}()
	}
	defer func() {
		for _, ch := range start {
			close(ch)
		}
	}()
	b.ResetTimer()
	for iter := 0; b.Loop(); iter++ {
		// Each iteration starts with the next phase: none always follows
		// the same one (Redis's idle waits, another store's reads).
		for j := range phases {
			p := (iter + j) % len(phases)
			done.Add(procs)
			t0 := time.Now()
			for _, ch := range start {
				ch <- p
			}
			done.Wait()
			cur[p] = float64(time.Since(t0).Nanoseconds()) / float64(phases[p].round*procs)
			per[p] = append(per[p], cur[p])
		}
		for p := range phases {
			ratios[p] = append(ratios[p], cur[0]/cur[p])
		}
	}
	ns := make([]float64, len(phases))
	for p := range phases {
		ns[p] = median(per[p])
	}
	return ns, ratios
}

// median returns the median of xs (which it sorts), 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}
