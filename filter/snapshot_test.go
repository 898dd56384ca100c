package filter

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"
)

// snapshot returns f's snapshot with stamp.
func snapshot(t testing.TB, f *Filter, stamp []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := f.WriteSnapshot(&buf, stamp)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteSnapshot returned %d, wrote %d bytes", n, buf.Len())
	}
	return buf.Bytes()
}

// recrc recomputes the checksum at the end of a snapshot, so that a test can
// reach the checks behind it.
func recrc(b []byte) []byte {
	body := b[:len(b)-4]
	return binary.LittleEndian.AppendUint32(body, crc32.Checksum(body, castagnoli))
}

func TestSnapshotRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		stamp   []byte
		rebuild bool
	}{
		{"empty filter", 0, nil, false},
		{"recent keys only", 10, []byte("seq=10"), false},
		{"many keys", 5000, []byte("seq=5000"), false},
		{"after rebuild", 3000, bytes.Repeat([]byte{0xA5}, MaxStampLen), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(4000, 0.01)
			if tt.rebuild {
				if err := f.Rebuild(t.Context(), 4000, keysSource("k", 0, tt.n/2)); err != nil {
					t.Fatal(err)
				}
			}
			for i := range tt.n {
				f.Add(key("k", i))
			}
			f.NoteStale(3)
			data := snapshot(t, f, tt.stamp)
			r := bytes.NewReader(append(data, "trailing bytes"...))
			g, stamp, err := ReadSnapshot(r)
			if err != nil {
				t.Fatal(err)
			}
			if r.Len() != len("trailing bytes") {
				t.Errorf("ReadSnapshot left %d bytes unread, want exactly the trailing 14", r.Len())
			}
			if !bytes.Equal(stamp, tt.stamp) {
				t.Errorf("stamp = %q, want %q", stamp, tt.stamp)
			}
			want, got := f.Stats(), g.Stats()
			if !got.LastRebuild.Equal(want.LastRebuild) {
				t.Errorf("LastRebuild = %v, want %v", got.LastRebuild, want.LastRebuild)
			}
			got.LastRebuild, want.LastRebuild = time.Time{}, time.Time{}
			if got != want {
				t.Errorf("restored Stats() = %+v, want %+v", got, want)
			}
			mustContain(t, g, "k", 0, tt.n)
			for i := range 1000 { // and it answers like the original
				if k := key("other", i); g.MayContain(k) != f.MayContain(k) {
					t.Fatalf("restored filter differs from the original on %q", k)
				}
			}
			// The restored filter is a full Filter: adds and rebuilds work.
			g.Add(key("new", 0))
			mustContain(t, g, "new", 0, 1)
			if err := g.Rebuild(t.Context(), 0, keysSource("k", 0, tt.n)); err != nil {
				t.Fatal(err)
			}
			mustContain(t, g, "k", 0, tt.n)
			if again := snapshot(t, f, tt.stamp); !bytes.Equal(again, data) {
				t.Error("a second snapshot of an unchanged filter differs from the first")
			}
		})
	}
}

func TestSnapshotCorruption(t *testing.T) {
	f := New(200, 0.01)
	for i := range 150 {
		f.Add(key("k", i))
	}
	data := snapshot(t, f, []byte("stamp"))
	if _, _, err := ReadSnapshot(bytes.NewReader(data)); err != nil {
		t.Fatalf("the intact snapshot does not read: %v", err)
	}

	t.Run("every byte flipped", func(t *testing.T) {
		for i := range data {
			for _, mask := range []byte{0x01, 0x80, 0xff} {
				bad := bytes.Clone(data)
				bad[i] ^= mask
				if _, _, err := ReadSnapshot(bytes.NewReader(bad)); !errors.Is(err, ErrSnapshot) {
					t.Fatalf("byte %d ^ %#x: ReadSnapshot error = %v, want ErrSnapshot", i, mask, err)
				}
			}
		}
	})
	t.Run("every truncation", func(t *testing.T) {
		for n := range len(data) {
			_, _, err := ReadSnapshot(bytes.NewReader(data[:n]))
			if !errors.Is(err, ErrSnapshot) || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("first %d of %d bytes: ReadSnapshot error = %v, want ErrSnapshot and io.ErrUnexpectedEOF", n, len(data), err)
			}
		}
	})
	t.Run("read error", func(t *testing.T) {
		boom := errors.New("disk on fire")
		r := io.MultiReader(bytes.NewReader(data[:150]), iotestErrReader{boom})
		if _, _, err := ReadSnapshot(r); !errors.Is(err, ErrSnapshot) || !errors.Is(err, boom) {
			t.Fatalf("ReadSnapshot error = %v, want ErrSnapshot wrapping the read error", err)
		}
	})

	// Fields changed with a valid checksum: each validation must catch its own.
	put64 := func(off int, v uint64) func([]byte) {
		return func(b []byte) { binary.LittleEndian.PutUint64(b[off:], v) }
	}
	m := binary.LittleEndian.Uint64(data[16:])
	k := binary.LittleEndian.Uint64(data[24:])
	words := int((m + 63) / 64)
	lastWord := headerLen + len("stamp") + 8*(words-1)
	tests := []struct {
		name    string
		mutate  func([]byte)
		wantMsg string
	}{
		{"magic", func(b []byte) { copy(b, "GZFILTER") }, "wrong magic"},
		{"version", func(b []byte) { binary.LittleEndian.PutUint16(b[8:], 2) }, "version 2"},
		{"hash scheme", func(b []byte) { binary.LittleEndian.PutUint16(b[10:], 9) }, "hash scheme 9"},
		{"reserved", func(b []byte) { b[13] = 1 }, "reserved"},
		{"m zero", put64(16, 0), "m = 0"},
		{"m over MaxBits", put64(16, MaxBits+1), "out of range"},
		{"m other", put64(16, m+64), "hashes differently"},
		{"k zero", put64(24, 0), "k = 0"},
		{"k huge", put64(24, 1000), "k = 1000"},
		{"k other", put64(24, k+1), "hashes differently"},
		{"fp zero", put64(48, 0), "false-positive rate"},
		{"fp one", put64(48, math.Float64bits(1)), "false-positive rate"},
		{"fp NaN", put64(48, math.Float64bits(math.NaN())), "false-positive rate"},
		{"capacity zero", put64(40, 0), "capacity 0"},
		{"capacity huge", put64(40, MaxCapacity+1), "capacity"},
		{"set bits over m", put64(56, m+1), "bits set of"},
		{"set bits wrong", put64(56, 1), "header says 1"},
		{"probe", put64(88, 12345), "hashes differently"},
		{"stamp too long", func(b []byte) { binary.LittleEndian.PutUint32(b[96:], MaxStampLen+1) }, "stamp of"},
		{"bit beyond m", func(b []byte) { b[lastWord+7] |= 0x80 }, "beyond m"},
	}
	if m%64 == 0 {
		t.Fatalf("test needs m not a multiple of 64, got %d", m)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := bytes.Clone(data)
			tt.mutate(bad)
			_, _, err := ReadSnapshot(bytes.NewReader(recrc(bad)))
			if !errors.Is(err, ErrSnapshot) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("ReadSnapshot error = %v, want ErrSnapshot saying %q", err, tt.wantMsg)
			}
		})
	}
}

type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }

// TestSnapshotHugeLengthFields checks that length fields claiming far more
// than is present cost memory in proportion to what is present.
func TestSnapshotHugeLengthFields(t *testing.T) {
	const m, k = MaxBits, 10 // a valid 2 GiB claim
	h := header{m: m, k: k, capacity: 1, fpRate: 0.01, probe: probe(m, k)}
	tests := []struct {
		name string
		data []byte
	}{
		{"payload", append(h.append(nil), make([]byte, 1000)...)},
		{"stamp", func() []byte {
			h := h
			h.stampLen = MaxStampLen
			return append(h.append(nil), "short"...)
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, err := ReadSnapshot(bytes.NewReader(tt.data))
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrSnapshot) || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("ReadSnapshot error = %v, want a truncated ErrSnapshot", err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
				t.Fatalf("ReadSnapshot allocated %d bytes for a %d-byte input", alloc, len(tt.data))
			}
		})
	}
}

func TestWriteSnapshotErrors(t *testing.T) {
	f := New(100, 0.01)
	if _, err := f.WriteSnapshot(io.Discard, make([]byte, MaxStampLen+1)); err == nil {
		t.Fatal("WriteSnapshot accepted a stamp longer than MaxStampLen")
	}
	boom := errors.New("disk full")
	if _, err := f.WriteSnapshot(failingWriter{boom}, nil); !errors.Is(err, boom) {
		t.Fatalf("WriteSnapshot error = %v, want the writer's error", err)
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

// TestSnapshotConcurrent writes snapshots while keys are added (race check),
// and checks each snapshot holds every key added before it began.
func TestSnapshotConcurrent(t *testing.T) {
	f := New(5000, 0.001)
	f.foldLimit = 50
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 3000 {
			f.Add(key("bg", i))
		}
	}()
	for i := range 20 {
		f.Add(key("fg", i))
		g, _, err := ReadSnapshot(bytes.NewReader(snapshot(t, f, nil)))
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, g, "fg", 0, i+1)
	}
	<-done
}

func FuzzReadSnapshot(f *testing.F) {
	small := New(10, 0.01)
	for i := range 5 {
		small.Add(key("k", i))
	}
	f.Add(snapshot(f, small, []byte("stamp")))
	f.Add(snapshot(f, New(1, 0.5), nil))
	f.Add([]byte{})
	f.Add([]byte(snapshotMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		g, stamp, err := ReadSnapshot(r)
		if err != nil {
			if !errors.Is(err, ErrSnapshot) {
				t.Fatalf("error %v does not wrap ErrSnapshot", err)
			}
			return
		}
		// Whatever reads must write back byte for byte.
		var buf bytes.Buffer
		if _, err := g.WriteSnapshot(&buf, stamp); err != nil {
			t.Fatal(err)
		}
		if consumed := data[:len(data)-r.Len()]; !bytes.Equal(buf.Bytes(), consumed) {
			t.Fatalf("snapshot read from %x writes back as %x", consumed, buf.Bytes())
		}
	})
}
