package fleet_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sendguard/sendguard/sync/fleet"
)

// waitBlocked waits, woken by mb's changes, until Check says recipient is
// blocked on mb.
func waitBlocked(b *testing.B, mb *member, recipient string) {
	ctx := context.Background()
	rep := mb.g.Replication()
	timeout := time.After(10 * time.Second)
	for {
		ch := rep.Changes()
		v, err := mb.g.Check(ctx, recipient)
		if err != nil {
			b.Fatal(err)
		}
		if v.Blocked {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			b.Fatalf("%s never blocked %s", mb.name, recipient)
		}
	}
}

// BenchmarkPropagation measures how long a block on one member takes to
// be enforced by Check on the two others (three in-process members, one
// embedded JetStream server on disk with default sync), and reports the
// p50 and p99.
func BenchmarkPropagation(b *testing.B) {
	srv := startServerSync(b, false)
	ms := []*member{
		newMember(b, "a", srv.url(), fleet.Config{}),
		newMember(b, "b", srv.url(), fleet.Config{}),
		newMember(b, "c", srv.url(), fleet.Config{}),
	}
	ctx := context.Background()
	lat := make([]time.Duration, 0, 2*b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		from := ms[i%3]
		who := fmt.Sprintf("lat%d@example.com", i)
		start := time.Now()
		if _, err := from.g.Block(ctx, who, "bench"); err != nil {
			b.Fatal(err)
		}
		for _, to := range ms {
			if to != from {
				waitBlocked(b, to, who)
				lat = append(lat, time.Since(start))
			}
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkReplicatedBlocks measures how many blocks per second a burst on
// one member reaches the two others at.
func BenchmarkReplicatedBlocks(b *testing.B) {
	srv := startServerSync(b, false)
	ms := []*member{
		newMember(b, "a", srv.url(), fleet.Config{}),
		newMember(b, "b", srv.url(), fleet.Config{}),
		newMember(b, "c", srv.url(), fleet.Config{}),
	}
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := ms[0].g.Block(ctx, fmt.Sprintf("burst%d@example.com", i), "bench"); err != nil {
			b.Fatal(err)
		}
	}
	last := fmt.Sprintf("burst%d@example.com", b.N-1)
	waitBlocked(b, ms[1], last)
	waitBlocked(b, ms[2], last)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "blocks/s")
}
