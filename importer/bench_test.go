package importer_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"testing"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/importer"
)

// genCSV is an io.Reader of a CSV export with n rows, generated as it is
// read, so that the input itself takes no memory.
type genCSV struct {
	n, i int
	buf  []byte
}

func newGenCSV(n int) *genCSV {
	return &genCSV{n: n, buf: []byte("email,reason,created_at\n")}
}

func (g *genCSV) Read(p []byte) (int, error) {
	for len(g.buf) < len(p) && g.i < g.n {
		g.buf = append(g.buf, 'u')
		g.buf = strconv.AppendInt(g.buf, int64(g.i), 10)
		g.buf = append(g.buf, "@example.com,bounced,"...)
		g.buf = strconv.AppendInt(g.buf, 1714125600+int64(g.i), 10)
		g.buf = append(g.buf, '\n')
		g.i++
	}
	if len(g.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.buf)
	g.buf = g.buf[:copy(g.buf, g.buf[n:])]
	return n, nil
}

// BenchmarkImport1M streams a 1,000,000-row CSV into a guard on disk and
// reports the peak heap in use while it runs (peak-heap-MiB), sampled
// after every batch, and the rows per second.
//
//	go test -run '^$' -bench Import1M -benchtime 1x ./importer/
func BenchmarkImport1M(b *testing.B) { benchImport(b, 1_000_000) }

// BenchmarkImport250k is BenchmarkImport1M with a quarter of the rows: the
// peak heap is the same, for it does not grow with the input.
func BenchmarkImport250k(b *testing.B) { benchImport(b, 250_000) }

func benchImport(b *testing.B, rows int) {
	b.ReportAllocs()
	var peak uint64
	for b.Loop() {
		b.StopTimer()
		g, err := guard.Open(b.TempDir(), guard.WithExpectedSize(uint(rows)))
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		b.StartTimer()
		var ms runtime.MemStats
		res, err := importer.Import(context.Background(), g, newGenCSV(rows),
			importer.OnProgress(func(importer.Result) {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}))
		b.StopTimer()
		if err != nil || res.Added != rows {
			b.Fatalf("Import: %+v, %v", res, err)
		}
		if err := g.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkRead1M reads a 1,000,000-row CSV without a guard: the reader's
// own cost and peak heap.
func BenchmarkRead1M(b *testing.B) {
	const rows = 1_000_000
	b.ReportAllocs()
	var peak uint64
	for b.Loop() {
		var ms runtime.MemStats
		n := 0
		err := importer.NewReader(newGenCSV(rows)).Read(func(r importer.Row) error {
			n++
			if n%100_000 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
			return nil
		})
		if err != nil || n != rows {
			b.Fatalf("read %d rows, %v", n, err)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func TestGenCSV(t *testing.T) {
	got, err := io.ReadAll(newGenCSV(2))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("email,reason,created_at\nu0@example.com,bounced,%d\nu1@example.com,bounced,%d\n", 1714125600, 1714125601)
	if string(got) != want {
		t.Fatalf("genCSV = %q, want %q", got, want)
	}
}
