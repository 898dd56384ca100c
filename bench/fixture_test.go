package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sendguard/sendguard/guard"
)

// The fixture: one on-disk store of N blocked contacts, built once per run.
var (
	fxOnce sync.Once
	fx     *fixture
	fxErr  error

	mapOnce sync.Once
	mapFx   *mapFixture
)

// fixture is the shared store and what was measured while building it.
type fixture struct {
	n     int
	dir   string
	g     *guard.Guard
	opts  []guard.Option // the options g was opened with; Open benchmarks reopen with them
	build struct {
		total    time.Duration // generating, normalizing and importing
		imported time.Duration // inside guard.Import only
		peakRSS  uint64        // VmHWM right after the build, bytes
		rssAnon  uint64        // RssAnon then: heap, stacks, anonymous maps
		rssFile  uint64        // RssFile then: mapped files (Badger's tables and logs)
		anonPeak uint64        // highest RssAnon sampled during the build (every 10 ms)
		filePeak uint64        // highest RssFile sampled during the build
		heapPeak uint64        // highest Go heap (objects + unused spans) sampled then
		heap     uint64        // HeapAlloc after a GC right after the build
		disk     uint64        // bytes on disk (allocated blocks)
	}
}

// mapFixture is the map baseline: every blocked key in a Go map.
type mapFixture struct {
	m     map[string]struct{}
	bytes uint64 // HeapAlloc grew by this much while building it
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fx != nil {
		_ = fx.g.Close()
		_ = os.RemoveAll(fx.dir)
	}
	stopRedis()
	if badgerStore != nil {
		_ = badgerStore.Close()
		_ = os.RemoveAll(badgerStore.Dir())
	}
	os.Exit(code)
}

func envInt(name string, def int) int {
	if s := os.Getenv(name); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return def
}

// areaCodes of the blocked phone numbers (US). Probes for allowed phones
// use 720, which is not among them.
var areaCodes = [...]string{"201", "212", "213", "305", "312", "404", "415", "503", "617", "702", "718", "786", "808", "917", "972", "206"}

// contact returns the i-th blocked contact, canonical: three emails for
// every phone number. Contacts are distinct for distinct i.
func contact(i int) string {
	if i%4 == 3 {
		return phone(i / 4)
	}
	return email(i)
}

func email(i int) string {
	return "user" + strconv.Itoa(i) + "@host" + strconv.Itoa(i%997) + ".test"
}

func phone(j int) string {
	ac := areaCodes[j%len(areaCodes)]
	rest := j / len(areaCodes)
	return fmt.Sprintf("+1%s%03d%04d", ac, 200+rest/10000%800, rest%10000)
}

// getFixture builds the store on first use and returns it. It fails b if
// the build failed (in this or an earlier benchmark).
func getFixture(b *testing.B) *fixture {
	b.Helper()
	fxOnce.Do(func() {
		fx, fxErr = buildFixture(envInt("SENDGUARD_BENCH_N", 1_000_000), envInt("SENDGUARD_BENCH_CHUNK", 50_000))
	})
	if fxErr != nil {
		b.Fatal(fxErr)
	}
	return fx
}

func buildFixture(n, chunk int) (*fixture, error) {
	dir, err := os.MkdirTemp("", "sendguard-bench-")
	if err != nil {
		return nil, err
	}
	f := &fixture{n: n, dir: dir}
	f.opts = []guard.Option{guard.WithExpectedSize(uint(n))}
	stop := sampleRSS()
	defer func() { _, _, _ = stop() }() // on an error; idempotent
	start := time.Now()
	g, err := guard.Open(dir, f.opts...)
	if err != nil {
		return nil, err
	}
	f.g = g
	ctx := context.Background()
	batch := make([]string, 0, chunk)
	for lo := 0; lo < n; lo += chunk {
		batch = batch[:0]
		for i := lo; i < min(lo+chunk, n); i++ {
			batch = append(batch, contact(i))
		}
		t0 := time.Now()
		res, err := g.Import(ctx, batch, "bench")
		f.build.imported += time.Since(t0)
		if err != nil {
			return nil, err
		}
		if res.Added != len(batch) || len(res.Invalid) > 0 {
			return nil, fmt.Errorf("bench: import chunk at %d: added %d of %d, %d invalid (first: %v)",
				lo, res.Added, len(batch), len(res.Invalid), firstInvalid(res))
		}
	}
	f.build.total = time.Since(start)
	f.build.anonPeak, f.build.filePeak, f.build.heapPeak = stop()
	f.build.peakRSS = procStatus("VmHWM:")
	f.build.rssAnon = procStatus("RssAnon:")
	f.build.rssFile = procStatus("RssFile:")
	f.build.heap = heapAlloc()
	f.build.disk = diskUsage(dir)
	return f, nil
}

func firstInvalid(r guard.ImportResult) error {
	if len(r.Invalid) == 0 {
		return nil
	}
	return r.Invalid[0].Err
}

// getMap builds the map baseline on first use: every key of the fixture's
// contacts, as the guard's normalizer makes them.
func getMap(b *testing.B) *mapFixture {
	b.Helper()
	f := getFixture(b)
	mapOnce.Do(func() {
		n := f.g.Normalizer()
		before := heapAlloc()
		m := make(map[string]struct{})
		for i := range f.n {
			c, err := n.Parse(contact(i))
			if err != nil {
				panic(err) // the import accepted every contact
			}
			m[string(c.Key())] = struct{}{}
		}
		after := heapAlloc()
		mapFx = &mapFixture{m: m, bytes: after - min(before, after)}
	})
	return mapFx
}

// heapAlloc returns the live heap after a full collection.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// procStatus returns a size field of /proc/self/status ("VmHWM:", the
// peak resident set; "RssAnon:", "RssFile:") in bytes, or 0 where it is
// not available.
func procStatus(field string) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(field)); ok {
			f := bytes.Fields(rest)
			if len(f) == 2 && string(f[1]) == "kB" {
				kb, _ := strconv.ParseUint(string(f[0]), 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// diskUsage returns the bytes allocated on disk under dir (sparse files
// count what they use, not their length).
func diskUsage(dir string) uint64 {
	var total uint64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			total += allocated(fi)
		}
		return nil
	})
	return total
}

// sample returns k inputs made by gen(0..), skipping those keep rejects.
func sample(k int, gen func(i int) string, keep func(s string) bool) []string {
	out := make([]string, 0, k)
	for i := 0; len(out) < k; i++ {
		if s := gen(i); keep == nil || keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// sampleRSS samples RssAnon, RssFile and the Go heap in use (runtime/metrics:
// live and dead objects plus unused span space, no stop-the-world) every
// 10 ms until the returned function is called, which returns the highest
// value of each, in bytes.
// Anonymous memory (Go heap, Badger's memtables and caches, stacks) is
// what a container's memory limit pays for; file-backed pages (Badger's
// mmapped tables and logs) are the kernel's cache, reclaimable.
func sampleRSS() func() (anon, file, heap uint64) {
	stop, done := make(chan struct{}), make(chan [3]uint64, 1)
	go func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		var peak [3]uint64
		samples := []metrics.Sample{
			{Name: "/memory/classes/heap/objects:bytes"},
			{Name: "/memory/classes/heap/unused:bytes"},
		}
		for {
			peak[0] = max(peak[0], procStatus("RssAnon:"))
			peak[1] = max(peak[1], procStatus("RssFile:"))
			metrics.Read(samples)
			peak[2] = max(peak[2], samples[0].Value.Uint64()+samples[1].Value.Uint64())
			select {
			case <-stop:
				done <- peak
				return
			case <-t.C:
			}
		}
	}()
	var once sync.Once
	var res [3]uint64
	return func() (uint64, uint64, uint64) {
		once.Do(func() { close(stop); res = <-done })
		return res[0], res[1], res[2]
	}
}
