package storage

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/sendguard/sendguard/normalize"
)

var codecTimes = []time.Time{
	{},
	time.Date(2025, 3, 4, 5, 6, 7, 891011121, time.UTC),
	time.Date(1900, 1, 1, 0, 0, 0, 1, time.UTC),      // before 1970
	time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), // past int64 nanoseconds
	time.Date(2025, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600)),
}

func TestCodec_EntryRoundTrip(t *testing.T) {
	c := normalize.Contact{Kind: normalize.Email, Value: "ann@x.com"}
	for _, original := range []string{"Ann <ann@x.com>", "ann@x.com", ""} {
		for _, created := range codecTimes {
			for _, expires := range codecTimes {
				checkEntryRoundTrip(t, Entry{Contact: c, Original: original, Reason: "ünsubscribed", Source: "opencx", CreatedAt: created, ExpiresAt: expires})
			}
		}
	}
	short := encodeEntry(&Entry{Contact: c, Original: c.Value})
	long := encodeEntry(&Entry{Contact: c, Original: c.Value + " "})
	if len(short) >= len(long)-len(c.Value) {
		t.Errorf("an original equal to the contact is stored: %d bytes vs %d", len(short), len(long))
	}
}

func checkEntryRoundTrip(t *testing.T, in Entry) {
	t.Helper()
	out := Entry{Contact: in.Contact}
	if err := decodeEntry(encodeEntry(&in), &out); err != nil {
		t.Fatalf("decode(encode(%+v)): %v", in, err)
	}
	if out.Original != in.Original || out.Reason != in.Reason || out.Source != in.Source ||
		!out.CreatedAt.Equal(in.CreatedAt) || !out.ExpiresAt.Equal(in.ExpiresAt) ||
		out.CreatedAt.IsZero() != in.CreatedAt.IsZero() {
		t.Errorf("round trip: %+v -> %+v", in, out)
	}
	exp, err := entryExpiresAt(encodeEntry(&in))
	if err != nil || !exp.Equal(in.ExpiresAt) {
		t.Errorf("entryExpiresAt = %v, %v; want %v", exp, err, in.ExpiresAt)
	}
}

func TestCodec_RecordRoundTrip(t *testing.T) {
	contacts := []normalize.Contact{
		{Kind: normalize.Email, Value: "ann@x.com"},
		{Kind: normalize.Phone, Value: "+15005550006"},
		{Kind: normalize.Domain, Value: "x.com"},
	}
	for i, c := range contacts {
		for _, tm := range codecTimes {
			orig := "o"
			if i == 1 {
				orig = c.Value
			}
			in := Record{Seq: 42, Op: OpUnblock, Contact: c, Original: orig, Reason: "r", Source: "s", Time: tm, ExpiresAt: tm, Target: "opencx"}
			var out Record
			if err := decodeRecord(encodeRecord(nil, &in), &out); err != nil {
				t.Fatal(err)
			}
			out.Seq = in.Seq // the seq is the key, not the value
			if !sameRecord(in, out) {
				t.Errorf("record round trip: %+v -> %+v", in, out)
			}
			dl := DeadLetter{Consumer: "opencx", Record: in, Reason: "400: no", At: tm}
			var dout DeadLetter
			if err := decodeDeadLetter(encodeDeadLetter(&dl), &dout); err != nil {
				t.Fatal(err)
			}
			if !sameRecord(dout.Record, in) || dout.Reason != dl.Reason || !dout.At.Equal(dl.At) {
				t.Errorf("dead letter round trip: %+v -> %+v", dl, dout)
			}
		}
	}
	if got := recordSize(&Record{Contact: contacts[0], Original: "o"}); got < len(encodeRecord(nil, &Record{Contact: contacts[0], Original: "o"})) {
		t.Errorf("recordSize %d underestimates", got)
	}
}

func sameRecord(a, b Record) bool {
	return a.Seq == b.Seq && a.Op == b.Op && a.Contact == b.Contact && a.Original == b.Original &&
		a.Reason == b.Reason && a.Source == b.Source && a.Time.Equal(b.Time) && a.ExpiresAt.Equal(b.ExpiresAt) &&
		a.Target == b.Target && a.Origin == b.Origin && a.CreatedAt.Equal(b.CreatedAt)
}

// TestRecordOriginAndCreated: the trailer round-trips (alone and inside a
// dead letter), and a record without it keeps the v1 bytes exactly, so
// records written before the fields decode as before.
func TestRecordOriginAndCreated(t *testing.T) {
	c := normalize.Contact{Kind: normalize.Email, Value: "ann@x.com"}
	base := Record{Op: OpBlock, Contact: c, Reason: "r", Source: "s", Time: codecTimes[1], Target: "t"}
	v1 := encodeRecord(nil, &base)
	if want := "t"; string(v1[len(v1)-len(want):]) != want {
		t.Fatalf("a record without origin or creation time does not end with its target: %q", v1)
	}
	for _, in := range []Record{
		{Op: OpBlock, Contact: c, Origin: "fleet"},
		{Op: OpBlock, Contact: c, CreatedAt: codecTimes[2]},
		{Op: OpUnblock, Contact: c, Origin: "remote/opencx", CreatedAt: codecTimes[3], Time: codecTimes[1], Target: "x"},
	} {
		var out Record
		if err := decodeRecord(encodeRecord(nil, &in), &out); err != nil || !sameRecord(in, out) {
			t.Errorf("round trip %+v -> %+v, %v", in, out, err)
		}
		if recordSize(&in) < len(encodeRecord(nil, &in)) {
			t.Errorf("recordSize(%+v) too small", in)
		}
		dl := DeadLetter{Record: in, Reason: "no", At: codecTimes[1]}
		var dout DeadLetter
		if err := decodeDeadLetter(encodeDeadLetter(&dl), &dout); err != nil || !sameRecord(dout.Record, in) {
			t.Errorf("dead letter round trip %+v -> %+v, %v", in, dout.Record, err)
		}
	}
	// Unknown trailer flags are corrupt, not ignored.
	bad := encodeRecord(nil, &Record{Op: OpBlock, Contact: c, Origin: "o"})
	bad[len(bad)-1] |= 0x80
	if err := decodeRecord(bad, new(Record)); err == nil {
		t.Error("a trailer with unknown flags decoded")
	}
}

func TestBadgerExpiry(t *testing.T) {
	tests := []struct {
		t    time.Time
		want uint64
	}{
		{time.Time{}, 0},
		{time.Unix(100, 0), 100},
		{time.Unix(100, 1), 101}, // rounded up: Badger never hides an entry early
		{time.Unix(-5, 0), 1},    // long past: expired for Badger too
	}
	for _, tt := range tests {
		if got := badgerExpiry(tt.t); got != tt.want {
			t.Errorf("badgerExpiry(%v) = %d, want %d", tt.t, got, tt.want)
		}
	}
}

// FuzzDecode feeds arbitrary bytes to every decoder: no panic, and what
// decodes re-encodes to something that decodes the same.
func FuzzDecode(f *testing.F) {
	c := normalize.Contact{Kind: normalize.Email, Value: "ann@x.com"}
	f.Add(encodeEntry(&Entry{Contact: c, Original: c.Value, Reason: "r", Source: "s", CreatedAt: codecTimes[1], ExpiresAt: codecTimes[3]}))
	f.Add(encodeRecord(nil, &Record{Op: OpBlock, Contact: c, Time: codecTimes[1], Target: "t"}))
	f.Add(encodeDeadLetter(&DeadLetter{Record: Record{Seq: 9, Op: OpBlock, Contact: c}, Reason: "x", At: codecTimes[2]}))
	f.Add(encodeTime(codecTimes[1]))
	f.Add([]byte{})
	f.Add([]byte{1, 3, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		e := Entry{Contact: c}
		if decodeEntry(b, &e) == nil {
			e2 := Entry{Contact: c}
			if err := decodeEntry(encodeEntry(&e), &e2); err != nil || e2.Original != e.Original || !e2.ExpiresAt.Equal(e.ExpiresAt) {
				t.Errorf("entry %+v does not round-trip: %+v %v", e, e2, err)
			}
		}
		_, _ = entryExpiresAt(b)
		var r Record
		if decodeRecord(b, &r) == nil {
			var r2 Record
			if err := decodeRecord(encodeRecord(nil, &r), &r2); err != nil || !sameRecord(r, r2) {
				t.Errorf("record %+v does not round-trip: %+v %v", r, r2, err)
			}
		}
		_, _ = recordTime(b)
		var d DeadLetter
		_ = decodeDeadLetter(b, &d)
		_, _ = decodeTime(b)
	})
}

func TestBadgerLogger(t *testing.T) {
	var buf bytes.Buffer
	l := badgerLogger{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	l.Errorf("boom %d\n", 1)
	l.Warningf("careful %s", "now")
	l.Infof("chatter")
	l.Debugf("more chatter")
	out := buf.String()
	for _, want := range []string{`level=ERROR msg="boom 1"`, `level=WARN msg="careful now"`} {
		if !bytes.Contains([]byte(out), []byte(want)) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}
	if bytes.Contains([]byte(out), []byte("chatter")) {
		t.Errorf("info/debug were logged: %q", out)
	}
}

// TestOpen_Logger checks that Badger's output goes to Options.Logger (and
// that opening logs nothing at warn level on a healthy store).
func TestOpen_Logger(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	s, err := Open(t.TempDir(), Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put(context.Background(), Entry{Contact: normalize.Contact{Kind: normalize.Email, Value: "a@x.com"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Errorf("healthy open/close logged: %s", buf.String())
	}
}
