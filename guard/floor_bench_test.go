package guard_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/bits-and-blooms/bloom/v3"
	"github.com/sendguard/sendguard/guard"
)

// BenchmarkCheckFloor times an allowed Check against its floor — normalize
// and one bare bloom.Test of the key on a filter of the guard's size with
// the same keys — in interleaved rounds, and reports x_floor (guard time
// over floor time). A quick, small version of bench.BenchmarkRatio (64 Ki
// keys in memory) for working on the hot path:
//
//	go test -run='^$' -bench=CheckFloor -count=5 ./guard
func BenchmarkCheckFloor(b *testing.B) {
	const n = 1 << 16
	g, err := guard.Open("", guard.WithInMemory(), guard.WithExpectedSize(n))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = g.Close() }()
	ctx := context.Background()
	batch := make([]string, n)
	for i := range batch {
		batch[i] = "user" + strconv.Itoa(i) + "@host" + strconv.Itoa(i%997) + ".test"
	}
	if _, err := g.Import(ctx, batch, "bench"); err != nil {
		b.Fatal(err)
	}
	st := g.Stats().Filter
	bf := bloom.NewWithEstimates(uint(st.Capacity), 0.001)
	norm := g.Normalizer()
	var buf []byte
	for _, in := range batch {
		c, _ := norm.Parse(in)
		buf = c.AppendKey(buf[:0])
		bf.Add(buf)
	}
	if uint64(bf.Cap()) != st.Bits || uint64(bf.K()) != st.K {
		b.Fatalf("floor m=%d k=%d, guard m=%d k=%d", bf.Cap(), bf.K(), st.Bits, st.K)
	}
	inputs := make([]string, 4096)
	for i := range inputs {
		inputs[i] = "someone" + strconv.Itoa(i) + "@nowhere" + strconv.Itoa(i%101) + ".test"
		if v, err := g.Check(ctx, inputs[i]); err != nil || v.Blocked {
			b.Fatalf("Check(%q) = %+v, %v", inputs[i], v, err)
		}
	}
	guardCheck := func(in string) bool {
		v, _ := g.Check(ctx, in)
		return v.Blocked
	}
	floor := func(in string) bool {
		c, _ := norm.Parse(in)
		buf = c.AppendKey(buf[:0])
		return bf.Test(buf)
	}
	// Rounds are short and paired; the medians of the pairs shrug off
	// the rounds another process preempted.
	const round = 256
	var tg, tf, ratio []float64
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		for range round {
			guardCheck(inputs[i&4095])
			i++
		}
		t1 := time.Now()
		for range round {
			floor(inputs[i&4095])
			i++
		}
		g, f := float64(t1.Sub(t0)), float64(time.Since(t1))
		tg, tf, ratio = append(tg, g/round), append(tf, f/round), append(ratio, g/f)
	}
	b.ReportMetric(median(tg), "ns/op")
	b.ReportMetric(median(tf), "floor-ns")
	b.ReportMetric(median(ratio), "x_floor")
}

// median returns the median of xs (which it sorts).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}
