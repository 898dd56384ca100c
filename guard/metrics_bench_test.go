package guard_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/internal/telemetry/telemetrytest"
)

// BenchmarkGuard_CheckAllowedMetrics checks an allowed, canonical address
// on two identical guards side by side: one with a no-op meter provider,
// one with a real SDK MeterProvider whose instruments are registered (and
// collected after the loop). The instruments are observable, so the two
// should not differ beyond noise, with 0 allocations each. The paired
// sub-benchmark alternates the two in runs of 256 checks (each going first
// in turn) and reports their ratio, which a shared machine's load disturbs
// far less than the separate runs. Compare medians over several runs:
//
//	go test -run='^$' -bench=CheckAllowedMetrics -count=10 ./guard
func BenchmarkGuard_CheckAllowedMetrics(b *testing.B) {
	ctx := context.Background()
	r := telemetrytest.New(b)
	open := func(mp guard.Option) *guard.Guard {
		g, err := guard.Open("", guard.WithInMemory(), guard.WithExpectedSize(20_000), mp)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = g.Close() })
		batch := make([]string, 10_000)
		for i := range batch {
			batch[i] = fmt.Sprintf("user%d@example.com", i)
		}
		if _, err := g.Import(ctx, batch, "bench"); err != nil {
			b.Fatal(err)
		}
		if _, err := g.Block(ctx, "blocked.domain.test", "bench"); err != nil {
			b.Fatal(err)
		}
		return g
	}
	without := open(guard.WithMeterProvider(noop.NewMeterProvider()))
	with := open(guard.WithMeterProvider(r.Provider))
	check := func(b *testing.B, g *guard.Guard) {
		v, err := g.Check(ctx, "someone.else@example.org")
		if err != nil || v.Blocked {
			b.Fatal(v, err)
		}
	}
	for _, bc := range []struct {
		name string
		g    *guard.Guard
	}{{"without", without}, {"with_sdk", with}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				check(b, bc.g)
			}
		})
	}
	// paired alternates the two guards in short runs, so that the load of
	// a shared machine falls on both alike, and reports each one's time
	// per check and their ratio (with_sdk / without). paired_control does
	// the same with two guards without metrics: the ratio the noise alone
	// gives, to read paired's against.
	b.Run("paired", func(b *testing.B) { pairedChecks(b, check, without, with, "without", "with_sdk") })
	control := open(guard.WithMeterProvider(noop.NewMeterProvider()))
	b.Run("paired_control", func(b *testing.B) { pairedChecks(b, check, without, control, "without", "without2") })
	if n, ok := r.Collect(b).Int(b, "sendguard.checks"); !ok || n == 0 {
		b.Fatalf("the SDK saw %d checks (observed %v)", n, ok)
	}
}

// pairedChecks times check on a and on c alternately, 256 checks at a
// time, each going first in turn, and reports each one's time per check
// and the ratio c/a.
func pairedChecks(b *testing.B, check func(*testing.B, *guard.Guard), a, c *guard.Guard, aName, cName string) {
	b.ReportAllocs()
	const run = 256
	var tA, tC time.Duration
	n := 0
	for b.Loop() {
		first, second, tFirst, tSecond := a, c, &tA, &tC
		if n/run%2 == 1 {
			first, second, tFirst, tSecond = c, a, &tC, &tA
		}
		t0 := time.Now()
		for range run {
			check(b, first)
		}
		t1 := time.Now()
		for range run {
			check(b, second)
		}
		*tSecond += time.Since(t1)
		*tFirst += t1.Sub(t0)
		n += run
	}
	b.ReportMetric(float64(tA.Nanoseconds())/float64(n), "ns/check-"+aName)
	b.ReportMetric(float64(tC.Nanoseconds())/float64(n), "ns/check-"+cName)
	b.ReportMetric(float64(tC)/float64(tA), "ratio")
}
