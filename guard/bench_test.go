package guard_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
)

// The benchmarks share one guard over an on-disk store of benchN blocked
// contacts (half emails, half phones), built once per run. The default is
// 1,000,000; SENDGUARD_BENCH_N=10000000 runs them at 10M.
//
//	go test -run='^$' -bench=. -benchmem ./guard
var (
	benchOnce  sync.Once
	benchGuard *guard.Guard
	benchErr   error
	benchDir   string
)

func benchN() int {
	if n, err := strconv.Atoi(os.Getenv("SENDGUARD_BENCH_N")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

func benchEmail(i int) string { return fmt.Sprintf("user%d@example.com", i) }
func benchPhone(i int) string { return fmt.Sprintf("+1%010d", 2012000000+i) }

func sharedGuard(b *testing.B) *guard.Guard {
	b.Helper()
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "sendguard-bench")
		if benchErr != nil {
			return
		}
		n := benchN()
		benchGuard, benchErr = guard.Open(benchDir, guard.WithExpectedSize(uint(n)), guard.WithSnapshot(false))
		if benchErr != nil {
			return
		}
		const chunk = 50_000
		batch := make([]string, 0, chunk)
		for i := 0; i < n; i++ {
			if i%2 == 0 {
				batch = append(batch, benchEmail(i))
			} else {
				batch = append(batch, benchPhone(i))
			}
			if len(batch) == chunk || i == n-1 {
				if _, benchErr = benchGuard.Import(context.Background(), batch, "bench"); benchErr != nil {
					return
				}
				batch = batch[:0]
			}
		}
		_, benchErr = benchGuard.Block(context.Background(), "blocked.domain.test", "bench")
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchGuard
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchGuard != nil {
		_ = benchGuard.Close()
		_ = os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// falsePositive finds an email the filter says "maybe" to but the store
// does not hold.
func falsePositive(b *testing.B, g *guard.Guard) string {
	ctx := context.Background()
	for i := 0; i < 10_000_000; i++ {
		r := fmt.Sprintf("fp%d@example.org", i)
		before := g.Stats().FalsePositives
		if _, err := g.Check(ctx, r); err != nil {
			b.Fatal(err)
		}
		if g.Stats().FalsePositives > before {
			return r
		}
	}
	b.Fatal("no false positive found")
	return ""
}

func BenchmarkGuard_Check(b *testing.B) {
	g := sharedGuard(b)
	n := benchN()
	cases := []struct {
		name, in string
		blocked  bool
	}{
		{"allowed-email", "someone.else@example.net", false},
		{"allowed-e164", "+442071838750", false},
		{"allowed-national", "(415) 555-0132", false},
		{"blocked-email", benchEmail(n / 2 &^ 1), true},
		{"blocked-e164", benchPhone(n/2 | 1), true},
		{"blocked-domain", "x@mail.blocked.domain.test", true},
		{"false-positive", falsePositive(b, g), false},
	}
	ctx := context.Background()
	for _, c := range cases {
		if v, err := g.Check(ctx, c.in); err != nil || v.Blocked != c.blocked {
			b.Fatalf("%s: Check(%q) = %+v, %v", c.name, c.in, v, err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = g.Check(ctx, c.in)
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_, _ = g.Check(ctx, c.in)
				}
			})
		})
	}
}

// BenchmarkBadgerAlone_Check is the baseline: the same checks answered by
// the store alone (normalize, then a Badger point read), no filter.
func BenchmarkBadgerAlone_Check(b *testing.B) {
	g := sharedGuard(b)
	s, norm := guard.StoreOf(g), g.Normalizer()
	ctx := context.Background()
	check := func(in string) bool {
		c, err := norm.Parse(in)
		if err != nil {
			b.Fatal(err)
		}
		var buf [128]byte
		_, ok, err := s.GetKey(ctx, c.AppendKey(buf[:0]))
		if err != nil {
			b.Fatal(err)
		}
		if !ok && c.Kind == normalize.Email {
			d := normalize.Contact{Kind: normalize.Domain, Value: c.EmailDomain()}
			_, ok, _ = s.GetKey(ctx, d.AppendKey(buf[:0]))
		}
		return ok
	}
	for _, c := range []struct{ name, in string }{
		{"allowed-email", "someone.else@example.net"},
		{"allowed-e164", "+442071838750"},
		{"blocked-email", benchEmail(benchN() / 2 &^ 1)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				check(c.in)
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					check(c.in)
				}
			})
		})
	}
}
