package storage_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

// benchEntries returns n distinct email entries shaped like an imported
// suppression list.
func benchEntries(n int, tag string) []storage.Entry {
	out := make([]storage.Entry, n)
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range out {
		v := fmt.Sprintf("user%08d.%s@example%03d.com", i, tag, i%997)
		out[i] = storage.Entry{
			Contact:   normalize.Contact{Kind: normalize.Email, Value: v},
			Original:  "User " + strconv.Itoa(i) + " <" + v + ">",
			Reason:    "hard bounce",
			Source:    "import",
			CreatedAt: created,
		}
	}
	return out
}

func openBench(b *testing.B) *storage.Store {
	b.Helper()
	s, err := storage.Open(b.TempDir(), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func importAll(b *testing.B, s *storage.Store, entries []storage.Entry) {
	b.Helper()
	res, err := s.Import(context.Background(), entries)
	if err != nil {
		b.Fatal(err)
	}
	if res.Added != len(entries) {
		b.Fatalf("added %d of %d", res.Added, len(entries))
	}
}

// BenchmarkImport imports 200,000 new entries into an empty on-disk store
// per iteration and reports entries/s (target: >= 200,000).
func BenchmarkImport(b *testing.B) {
	const n = 200_000
	entries := benchEntries(n, "imp")
	var total time.Duration
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := openBench(b)
		batch := append([]storage.Entry(nil), entries...)
		b.StartTimer()
		t0 := time.Now()
		importAll(b, s, batch)
		total += time.Since(t0)
		b.StopTimer()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "entries/s")
}

// BenchmarkImportPresent re-imports 200,000 entries that are all present:
// the cost of the key-only presence checks.
func BenchmarkImportPresent(b *testing.B) {
	const n = 200_000
	entries := benchEntries(n, "imp")
	s := openBench(b)
	defer s.Close()
	importAll(b, s, entries)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := s.Import(context.Background(), entries)
		if err != nil || res.Present != n {
			b.Fatalf("%+v %v", res, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkStore1M runs read benchmarks against one on-disk store of 1M
// entries: ScanKeys over all of them (target <= 1 s), and GetKey hits and
// misses.
func BenchmarkStore1M(b *testing.B) {
	const n = 1_000_000
	entries := benchEntries(n, "m")
	keys := make([][]byte, n)
	for i := range entries {
		keys[i] = entries[i].Contact.Key()
	}
	s := openBench(b)
	defer s.Close()
	importAll(b, s, entries)
	entries = nil
	ctx := context.Background()

	b.Run("ScanKeys", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			count := 0
			if err := s.ScanKeys(ctx, func([]byte) error { count++; return nil }); err != nil {
				b.Fatal(err)
			}
			if count != n {
				b.Fatalf("scanned %d keys, want %d", count, n)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "keys/s")
	})
	b.Run("GetKeyHit", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		b.ReportAllocs()
		for b.Loop() {
			if _, ok, err := s.GetKey(ctx, keys[rng.IntN(n)]); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("GetKeyMiss", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(3, 4))
		miss := make([][]byte, 4096)
		for i := range miss {
			miss[i] = []byte(fmt.Sprintf("e:absent%08d@example%03d.com", rng.IntN(n), i%997))
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, ok, err := s.GetKey(ctx, miss[i%len(miss)]); ok || err != nil {
				b.Fatal(ok, err)
			}
			i++
		}
	})
}

// BenchmarkRSS measures the peak resident set (VmHWM) of this process with
// an on-disk store of 1M entries: after importing them, and after 1M random
// GetKey reads (target: <= 150 MB). Run it alone, in its own process, so
// that nothing else has raised the peak:
//
//	go test -run '^$' -bench '^BenchmarkRSS$' -benchtime 1x ./storage
func BenchmarkRSS(b *testing.B) {
	const n = 1_000_000
	for i := 0; i < b.N; i++ {
		resetPeakRSS()
		s := openBench(b)
		// Import in slices, as a caller streaming a file would, so that
		// the input itself does not dominate the figure.
		var keys [][]byte
		for start := 0; start < n; start += 50_000 {
			batch := benchEntries(50_000, "rss"+strconv.Itoa(start))
			for j := range batch {
				keys = append(keys, batch[j].Contact.Key())
			}
			importAll(b, s, batch)
		}
		runtime.GC()
		b.ReportMetric(peakRSSMB(b), "write-peak-MB")
		rng := rand.New(rand.NewPCG(5, 6))
		ctx := context.Background()
		for range n {
			if _, ok, err := s.GetKey(ctx, keys[rng.IntN(n)]); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
		b.ReportMetric(peakRSSMB(b), "read-peak-MB")
		keysMB := 0
		for _, k := range keys {
			keysMB += len(k) + 24
		}
		b.ReportMetric(float64(keysMB)/(1<<20), "keys-held-MB")
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// resetPeakRSS resets VmHWM to the current RSS (Linux >= 4.0), best effort.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMB returns VmHWM from /proc/self/status in MiB.
func peakRSSMB(b *testing.B) float64 {
	b.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatalf("read /proc/self/status: %v (Linux only)", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := bytes.CutPrefix([]byte(line), []byte("VmHWM:")); ok {
			f := bytes.Fields(rest)
			kb, err := strconv.ParseFloat(string(f[0]), 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb / 1024
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}
