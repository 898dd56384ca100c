package storage_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

// benchEntries returns n distinct email entries shaped like an imported
// suppression list: canonical addresses (so Original is the address
// itself), one reason, source "import".
func benchEntries(n int, tag string) []storage.Entry {
	out := make([]storage.Entry, n)
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range out {
		v := string(benchValue(nil, tag, i))
		out[i] = storage.Entry{
			Contact:   normalize.Contact{Kind: normalize.Email, Value: v},
			Original:  v,
			Reason:    "hard bounce",
			Source:    "import",
			CreatedAt: created,
		}
	}
	return out
}

// benchValue appends the email of benchEntries(_, tag)[i] to dst.
func benchValue(dst []byte, tag string, i int) []byte {
	return fmt.Appendf(dst, "user%08d.%s@example%03d.com", i, tag, i%997)
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
// per iteration and reports entries/s (target: >= 200,000) and the CPU time
// per entry.
func BenchmarkImport(b *testing.B) {
	const n = 200_000
	entries := benchEntries(n, "imp")
	var total, cpu time.Duration
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := openBench(b)
		batch := append([]storage.Entry(nil), entries...)
		b.StartTimer()
		t0, c0 := time.Now(), cpuTime()
		importAll(b, s, batch)
		total += time.Since(t0)
		cpu += cpuTime() - c0
		b.StopTimer()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "entries/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(n*b.N), "cpu-µs/entry")
}

// cpuTime returns the user+system CPU time this process has used (all its
// threads: Badger's flushes and compactions count), a figure that other
// load on a shared machine does not distort as it does wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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

// BenchmarkRSS measures the resident memory of this process with an on-disk
// store of 1M entries (and so 1M change-log records), target <= 150 MB:
//
//   - write-peak-MB: VmHWM after importing them (50,000 per call);
//   - write-anon-peak-MB: the highest RssAnon sampled meanwhile (the Go
//     heap and Badger's buffers, without the mmapped table files);
//   - read-peak-MB: VmHWM after 1M random GetKey calls on top;
//   - reopen-read-peak-MB: VmHWM, reset after closing, of reopening the
//     store and making 1M random GetKey calls: a service restarted with a
//     1M store;
//   - reopen-anon-peak-MB: the highest RssAnon sampled meanwhile;
//   - sst-MB: the table files on disk, which Badger mmaps (resident pages
//     of those count in VmRSS as file-backed memory).
//
// Run it alone, in its own process, so that nothing else has raised the
// peak:
//
//	go test -run '^$' -bench '^BenchmarkRSS$' -benchtime 1x ./storage
func BenchmarkRSS(b *testing.B) {
	const n, step = 1_000_000, 50_000
	ctx := context.Background()
	read := func(s *storage.Store) {
		rng := rand.New(rand.NewPCG(5, 6))
		key := make([]byte, 0, 64)
		for range n {
			j := rng.IntN(n)
			key = append(key[:0], "e:"...)
			key = benchValue(key, "rss"+strconv.Itoa(j/step*step), j%step)
			if _, ok, err := s.GetKey(ctx, key); !ok || err != nil {
				b.Fatal(string(key), ok, err)
			}
		}
	}
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		debug.FreeOSMemory()
		resetPeakRSS()
		stop := sampleAnon()
		s, err := storage.Open(dir, storage.Options{})
		if err != nil {
			b.Fatal(err)
		}
		// Import in slices, as a caller streaming a file would, so that
		// the input itself does not dominate the figure. Keys for the reads
		// are rebuilt from their index, not held.
		for start := 0; start < n; start += step {
			importAll(b, s, benchEntries(step, "rss"+strconv.Itoa(start)))
		}
		b.ReportMetric(statusMB(b, "VmHWM"), "write-peak-MB")
		b.ReportMetric(stop(), "write-anon-peak-MB")
		read(s)
		b.ReportMetric(statusMB(b, "VmHWM"), "read-peak-MB")
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(sstMB(dir), "sst-MB")

		debug.FreeOSMemory()
		resetPeakRSS()
		if s, err = storage.Open(dir, storage.Options{}); err != nil {
			b.Fatal(err)
		}
		stopR := sampleAnon()
		read(s)
		b.ReportMetric(statusMB(b, "VmHWM"), "reopen-read-peak-MB")
		b.ReportMetric(stopR(), "reopen-anon-peak-MB")
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// sampleAnon samples RssAnon every 10 ms until the returned function is
// called, which returns the highest value in MiB.
func sampleAnon() func() float64 {
	stop, done := make(chan struct{}), make(chan float64)
	go func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		peak := 0.0
		for {
			select {
			case <-stop:
				done <- peak
				return
			case <-t.C:
				if v, err := readStatusMB("RssAnon"); err == nil {
					peak = max(peak, v)
				}
			}
		}
	}()
	return func() float64 { close(stop); return <-done }
}

func sstMB(dir string) float64 {
	var total int64
	matches, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil {
			total += fi.Size()
		}
	}
	return float64(total) / (1 << 20)
}

// resetPeakRSS resets VmHWM to the current RSS (Linux >= 4.0), best effort.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// statusMB returns a field of /proc/self/status (VmHWM, RssAnon…) in MiB.
func statusMB(b *testing.B, field string) float64 {
	b.Helper()
	v, err := readStatusMB(field)
	if err != nil {
		b.Fatal(err)
	}
	return v
}

func readStatusMB(field string) (float64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read /proc/self/status (Linux only): %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(field+":")); ok {
			f := bytes.Fields(rest)
			if len(f) == 0 {
				break
			}
			kb, err := strconv.ParseFloat(string(f[0]), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", field)
}

// BenchmarkImportVsWriteBatch imports chunks of 10,000 new entries into a
// growing on-disk store — with Import (presence read per entry) and with
// ImportAbsent told every entry is absent (what the guard passes for
// contacts its filter says "no" to) — and writes the same keys and values
// (each entry and its change-log record) to raw Badger (same options)
// with a WriteBatch, in turn, so that load from other processes falls on
// all three alike. It reports each one's
// entries/s (median per chunk) and the ratios x_writebatch (ImportAbsent
// over WriteBatch; goal ≥ 0.6) and x_writebatch_read (Import over
// WriteBatch). Use -benchtime=100x for a million entries each.
func BenchmarkImportVsWriteBatch(b *testing.B) {
	const chunk = 10_000
	ctx := context.Background()
	plain, hinted := openBench(b), openBench(b)
	defer plain.Close()
	defer hinted.Close()
	db, err := badger.Open(storage.BenchBadgerOptions(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	absent := make([]bool, chunk)
	for i := range absent {
		absent[i] = true
	}
	var rPlain, rHinted, rRaw, xHint, xRead []float64
	for op := 0; b.Loop(); op++ {
		entries := benchEntries(chunk, "wb"+strconv.Itoa(op))
		var keys, vals [][]byte
		for i := range entries {
			k, v, err := storage.ImportKVs(&entries[i], uint64(op*chunk+i+1), entries[i].CreatedAt)
			if err != nil {
				b.Fatal(err)
			}
			keys, vals = append(keys, k...), append(vals, v...)
		}
		t0 := time.Now()
		if res, err := hinted.ImportAbsent(ctx, entries, absent); err != nil || res.Added != chunk {
			b.Fatalf("ImportAbsent: %+v, %v", res, err)
		}
		t1 := time.Now()
		importAll(b, plain, entries)
		t2 := time.Now()
		wb := db.NewWriteBatch()
		for i := range keys {
			if err := wb.Set(keys[i], vals[i]); err != nil {
				b.Fatal(err)
			}
		}
		if err := wb.Flush(); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		h, p, r := chunk/t1.Sub(t0).Seconds(), chunk/t2.Sub(t1).Seconds(), chunk/t3.Sub(t2).Seconds()
		rHinted, rPlain, rRaw = append(rHinted, h), append(rPlain, p), append(rRaw, r)
		xHint, xRead = append(xHint, h/r), append(xRead, p/r)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(median(rHinted), "absent-entries/s")
	b.ReportMetric(median(rPlain), "import-entries/s")
	b.ReportMetric(median(rRaw), "writebatch-entries/s")
	b.ReportMetric(median(xHint), "x_writebatch")
	b.ReportMetric(median(xRead), "x_writebatch_read")
}

// median returns the median of xs (which it sorts), 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// BenchmarkTrimLog measures the guard's periodic Trim on a store whose
// change log holds 100,000 records: "idle" when a consumer holds every
// record (the call the maintenance loop makes most often), "LogStats" for
// the stats command's count of the same log.
func BenchmarkTrimLog(b *testing.B) {
	s := openBench(b)
	b.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	importAll(b, s, benchEntries(100_000, "trim"))
	if err := s.SetOffset(ctx, "slow", 0); err != nil {
		b.Fatal(err)
	}
	b.Run("idle", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if n, err := s.Trim(ctx); n != 0 || err != nil {
				b.Fatalf("Trim = %d, %v", n, err)
			}
		}
	})
	b.Run("LogStats", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ls, err := s.LogStats(ctx); ls.Records != 100_000 || err != nil {
				b.Fatalf("LogStats = %+v, %v", ls.Records, err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100_000, "ns/record")
	})
}
