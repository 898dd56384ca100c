package storage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

func TestStore_PutGet(t *testing.T) {
	clock := newClock()
	s := openDisk(t, storage.Options{Clock: clock.Now})
	ctx := t.Context()
	created := clock.Now().Add(-time.Hour).Add(123 * time.Nanosecond)
	tests := []struct {
		name string
		e    storage.Entry
	}{
		{"email", storage.Entry{Contact: email("ann@example.com"), Original: "Ann <Ann@Example.com>", Reason: "complaint", Source: "local", CreatedAt: created}},
		{"phone expiring", storage.Entry{Contact: phone("+442071838750"), Original: "020 7183 8750", Reason: "STOP", Source: "ocamba", CreatedAt: created, ExpiresAt: clock.Now().Add(48*time.Hour + 5)}},
		{"domain", storage.Entry{Contact: domain("spam.example"), Original: "*.spam.example", Reason: "", Source: "import", CreatedAt: created}},
		{"zero created-at", storage.Entry{Contact: email("zed@example.com"), Source: "local"}},
		{"unicode text", storage.Entry{Contact: email("jo@example.com"), Original: "Jö <jo@example.com>", Reason: "ünsubscribed ✓", Source: "opencx"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq := mustPut(t, s, tt.e)
			got, ok := mustGet(t, s, tt.e.Contact)
			if !ok {
				t.Fatal("Get: not found after Put")
			}
			want := tt.e
			if want.CreatedAt.IsZero() {
				want.CreatedAt = clock.Now()
			}
			if !sameEntry(got, want) {
				t.Errorf("Get = %+v, want %+v", got, want)
			}
			byKey, ok, err := s.GetKey(ctx, tt.e.Contact.Key())
			if err != nil || !ok || !sameEntry(byKey, want) {
				t.Errorf("GetKey = %+v, %v, %v", byKey, ok, err)
			}
			recs, err := s.ReadLog(ctx, seq-1, 1)
			if err != nil || len(recs) != 1 {
				t.Fatalf("ReadLog = %v, %v", recs, err)
			}
			r := recs[0]
			if r.Seq != seq || r.Op != storage.OpBlock || r.Contact != tt.e.Contact || r.Original != tt.e.Original ||
				r.Reason != tt.e.Reason || r.Source != tt.e.Source || !r.Time.Equal(clock.Now()) ||
				!r.ExpiresAt.Equal(tt.e.ExpiresAt) || r.Target != "" {
				t.Errorf("record = %+v", r)
			}
		})
	}
	if n, err := s.Count(ctx); err != nil || n != len(tests) {
		t.Errorf("Count = %d, %v; want %d", n, err, len(tests))
	}
	if _, ok := mustGet(t, s, email("nobody@example.com")); ok {
		t.Error("Get(absent) found an entry")
	}
}

func sameEntry(a, b storage.Entry) bool {
	return a.Contact == b.Contact && a.Original == b.Original && a.Reason == b.Reason &&
		a.Source == b.Source && a.CreatedAt.Equal(b.CreatedAt) && a.ExpiresAt.Equal(b.ExpiresAt)
}

func TestStore_PutInvalid(t *testing.T) {
	s := openMem(t, storage.Options{})
	for _, c := range []normalize.Contact{{}, {Kind: normalize.Email}, {Kind: 9, Value: "x"}, email(strings.Repeat("a", 2000))} {
		_, _, err := s.Put(t.Context(), storage.Entry{Contact: c})
		wantErr(t, err, storage.ErrInvalid)
	}
	_, _, err := s.GetKey(t.Context(), []byte("log/12345678"))
	wantErr(t, err, storage.ErrInvalid)
	if recs := readAll(t, s); len(recs) != 0 {
		t.Errorf("log has %d records after invalid puts", len(recs))
	}
}

// TestStore_PutExisting checks when a Put over a live entry writes.
func TestStore_PutExisting(t *testing.T) {
	never := time.Time{}
	tests := []struct {
		name      string
		old, new  time.Duration // expiry from now; 0 = never
		advance   time.Duration // clock step between the two Puts
		wantAdded bool
	}{
		{"both never", 0, 0, 0, false},
		{"old never, new expires", 0, time.Hour, 0, false},
		{"new never extends", time.Hour, 0, 0, true},
		{"new expires later", time.Hour, 2 * time.Hour, 0, true},
		{"new expires sooner", 2 * time.Hour, time.Hour, 0, false},
		{"same expiry", time.Hour, time.Hour, 0, false},
		{"old expired", time.Hour, 0, 2 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			s := openMem(t, storage.Options{Clock: clock.Now})
			exp := func(d time.Duration) time.Time {
				if d == 0 {
					return never
				}
				return clock.Now().Add(d)
			}
			c := email("ann@example.com")
			first := entry(c)
			first.ExpiresAt = exp(tt.old)
			mustPut(t, s, first)
			clock.Advance(tt.advance)
			second := entry(c)
			second.Reason = "second"
			second.ExpiresAt = exp(tt.new)
			added, seq, err := s.Put(t.Context(), second)
			if err != nil || added != tt.wantAdded {
				t.Fatalf("second Put = %v, %d, %v; want added=%v", added, seq, err, tt.wantAdded)
			}
			got, ok := mustGet(t, s, c)
			if !ok {
				t.Fatal("no live entry after two Puts")
			}
			wantReason, wantRecords := "bounce", 1
			if tt.wantAdded {
				wantReason, wantRecords = "second", 2
				if seq == 0 {
					t.Error("added with seq 0")
				}
			} else if seq != 0 {
				t.Errorf("not added but seq = %d", seq)
			}
			if got.Reason != wantReason {
				t.Errorf("entry reason = %q, want %q", got.Reason, wantReason)
			}
			if recs := readAll(t, s); len(recs) != wantRecords {
				t.Errorf("log has %d records, want %d", len(recs), wantRecords)
			}
		})
	}
}

func TestStore_DeleteAndTombstone(t *testing.T) {
	clock := newClock()
	s := openDisk(t, storage.Options{Clock: clock.Now})
	ctx := t.Context()
	c := phone("+15005550006")
	e := entry(c)
	e.Reason = "STOP"
	mustPut(t, s, e)

	existed, err := s.Delete(ctx, c, "operator")
	if err != nil || !existed {
		t.Fatalf("Delete = %v, %v", existed, err)
	}
	if _, ok := mustGet(t, s, c); ok {
		t.Error("entry still there after Delete")
	}
	ts, ok, err := s.Tombstone(ctx, c)
	if err != nil || !ok || !ts.Equal(clock.Now()) {
		t.Errorf("Tombstone = %v, %v, %v; want %v", ts, ok, err, clock.Now())
	}
	recs := readAll(t, s)
	if len(recs) != 2 {
		t.Fatalf("log has %d records, want 2", len(recs))
	}
	un := recs[1]
	if un.Op != storage.OpUnblock || un.Contact != c || un.Source != "operator" || un.Reason != "STOP" ||
		un.Original != e.Original || !un.ExpiresAt.IsZero() || un.Seq <= recs[0].Seq {
		t.Errorf("unblock record = %+v", un)
	}

	// A second Delete finds nothing and writes nothing.
	existed, err = s.Delete(ctx, c, "operator")
	if err != nil || existed {
		t.Errorf("second Delete = %v, %v", existed, err)
	}
	if n := len(readAll(t, s)); n != 2 {
		t.Errorf("log has %d records after a no-op Delete, want 2", n)
	}

	// Blocking again clears the tombstone.
	clock.Advance(time.Minute)
	mustPut(t, s, e)
	if _, ok, err := s.Tombstone(ctx, c); err != nil || ok {
		t.Errorf("Tombstone after re-block = %v, %v; want none", ok, err)
	}
	if _, ok, err := s.Tombstone(ctx, email("never@example.com")); err != nil || ok {
		t.Errorf("Tombstone(never deleted) = %v, %v", ok, err)
	}
}

func TestStore_Expiry(t *testing.T) {
	clock := newClock()
	s := openDisk(t, storage.Options{Clock: clock.Now})
	ctx := t.Context()
	c := email("temp@example.com")
	e := entry(c)
	e.ExpiresAt = clock.Now().Add(time.Hour)
	mustPut(t, s, e)
	mustPut(t, s, entry(email("perm@example.com")))

	clock.Advance(59 * time.Minute)
	if _, ok := mustGet(t, s, c); !ok {
		t.Fatal("entry gone before its expiry")
	}
	clock.Advance(time.Minute) // exactly at ExpiresAt: expired
	if _, ok := mustGet(t, s, c); ok {
		t.Error("Get returned an expired entry")
	}
	if keys := scanKeys(t, s); !slices.Equal(keys, []string{"e:perm@example.com"}) {
		t.Errorf("ScanKeys = %q", keys)
	}
	if n, err := s.Count(ctx); err != nil || n != 1 {
		t.Errorf("Count = %d, %v; want 1", n, err)
	}
	if err := s.Scan(ctx, func(e storage.Entry) error {
		if e.Contact == c {
			t.Error("Scan returned the expired entry")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if existed, err := s.Delete(ctx, c, "x"); err != nil || existed {
		t.Errorf("Delete(expired) = %v, %v; want false", existed, err)
	}
	// An expired entry does not count as present.
	res, err := s.Import(ctx, []storage.Entry{entry(c)})
	if err != nil || res.Added != 1 {
		t.Errorf("Import over expired = %+v, %v", res, err)
	}
	// Already expired on arrival: not written.
	late := entry(email("late@example.com"))
	late.ExpiresAt = clock.Now().Add(-time.Second)
	if added, _, err := s.Put(ctx, late); err != nil || added {
		t.Errorf("Put(expired) = %v, %v", added, err)
	}
	if _, ok := mustGet(t, s, late.Contact); ok {
		t.Error("expired Put was stored")
	}
}

// TestStore_BadgerTTL shows that expiry is also Badger's TTL on the real
// clock: with a store clock an hour behind, an entry that the store's clock
// calls live but whose expiry has passed in real time is gone.
func TestStore_BadgerTTL(t *testing.T) {
	clock := newClock()
	clock.Advance(-time.Hour)
	s := openDisk(t, storage.Options{Clock: clock.Now})
	e := entry(email("ttl@example.com"))
	e.ExpiresAt = clock.Now().Add(30 * time.Minute) // real past
	if added, _, err := s.Put(t.Context(), e); err != nil || !added {
		t.Fatalf("Put = %v, %v", added, err)
	}
	if _, ok := mustGet(t, s, e.Contact); ok {
		t.Error("Badger returned an entry past its TTL")
	}
	if keys := scanKeys(t, s); len(keys) != 0 {
		t.Errorf("ScanKeys = %q", keys)
	}
}

func TestStore_Import(t *testing.T) {
	clock := newClock()
	s := openDisk(t, storage.Options{Clock: clock.Now})
	ctx := t.Context()
	mustPut(t, s, entry(email("old@example.com")))
	mustPut(t, s, entry(email("gone@example.com")))
	if _, err := s.Delete(ctx, email("gone@example.com"), "local"); err != nil {
		t.Fatal(err)
	}
	before := readAll(t, s)

	expired := entry(email("expired@example.com"))
	expired.ExpiresAt = clock.Now().Add(-time.Minute)
	in := []storage.Entry{
		entry(email("new1@example.com")),
		entry(email("old@example.com")),  // present
		entry(phone("+15005550006")),     // new
		entry(email("new1@example.com")), // repeated
		expired,
		entry(email("gone@example.com")), // tombstoned: added, tombstone cleared
		entry(domain("example.org")),
	}
	for i := range in {
		in[i].Source = "import"
	}
	res, err := s.Import(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if want := (storage.ImportResult{Added: 4, Present: 2, Expired: 1}); res != want {
		t.Errorf("Import = %+v, want %+v", res, want)
	}
	recs := readAll(t, s)[len(before):]
	var got []string
	for _, r := range recs {
		if r.Op != storage.OpBlock || r.Source != "import" || r.Seq <= before[len(before)-1].Seq {
			t.Errorf("import record %+v", r)
		}
		got = append(got, string(r.Contact.Key()))
	}
	want := []string{"e:new1@example.com", "p:+15005550006", "e:gone@example.com", "d:example.org"}
	if !slices.Equal(got, want) {
		t.Errorf("import records for %q, want %q", got, want)
	}
	if _, ok, _ := s.Tombstone(ctx, email("gone@example.com")); ok {
		t.Error("Import left the tombstone of a contact it added")
	}
	if last, _ := s.LastSeq(ctx); last != recs[len(recs)-1].Seq {
		t.Errorf("LastSeq = %d, want %d", last, recs[len(recs)-1].Seq)
	}

	// An invalid entry fails the whole call before anything is written.
	_, err = s.Import(ctx, []storage.Entry{entry(email("ok@example.com")), {Contact: email("")}})
	wantErr(t, err, storage.ErrInvalid)
	if !strings.Contains(err.Error(), "entry 1") {
		t.Errorf("error %q does not name the entry", err)
	}
	if _, ok := mustGet(t, s, email("ok@example.com")); ok {
		t.Error("Import wrote entries before failing on an invalid one")
	}
}

// TestStore_ImportLarge crosses the import's step size, with repeats across
// steps, and checks entries and records agree.
func TestStore_ImportLarge(t *testing.T) {
	s := openDisk(t, storage.Options{})
	ctx := t.Context()
	const n = 20_000
	in := make([]storage.Entry, 0, n+2)
	for i := range n {
		in = append(in, entry(email(fmt.Sprintf("u%05d@example.com", i))))
	}
	in = append(in, entry(email("u00001@example.com")), entry(email("u19999@example.com")))
	res, err := s.Import(ctx, in)
	if err != nil || res.Added != n || res.Present != 2 {
		t.Fatalf("Import = %+v, %v", res, err)
	}
	if c, err := s.Count(ctx); err != nil || c != n {
		t.Errorf("Count = %d, %v", c, err)
	}
	recs := readAll(t, s)
	if len(recs) != n {
		t.Fatalf("%d records, want %d", len(recs), n)
	}
	for i, r := range recs {
		if r.Contact != in[i].Contact {
			t.Fatalf("record %d is for %v, want %v (input order)", i, r.Contact, in[i].Contact)
		}
		if i > 0 && r.Seq <= recs[i-1].Seq {
			t.Fatalf("seq %d after %d", r.Seq, recs[i-1].Seq)
		}
	}
	res, err = s.Import(ctx, in[:100])
	if err != nil || res.Present != 100 || res.Added != 0 {
		t.Errorf("re-Import = %+v, %v", res, err)
	}
}

func TestStore_Scan(t *testing.T) {
	s := openMem(t, storage.Options{})
	ctx := t.Context()
	for _, c := range []normalize.Contact{email("b@x.com"), domain("x.com"), phone("+15005550006"), email("a@x.com"), domain("a.org")} {
		mustPut(t, s, entry(c))
	}
	if keys := scanKeys(t, s); !slices.Equal(keys, []string{"d:a.org", "d:x.com", "e:a@x.com", "e:b@x.com", "p:+15005550006"}) {
		t.Errorf("ScanKeys = %q", keys)
	}
	var domains []string
	if err := s.ScanKind(ctx, normalize.Domain, func(e storage.Entry) error {
		domains = append(domains, e.Contact.Value)
		if e.Original != "<"+e.Contact.Value+">" {
			t.Errorf("ScanKind entry %+v", e)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(domains, []string{"a.org", "x.com"}) {
		t.Errorf("ScanKind(Domain) = %q", domains)
	}
	wantErr(t, s.ScanKind(ctx, 0, func(storage.Entry) error { return nil }), storage.ErrInvalid)

	stop := errors.New("stop")
	n := 0
	err := s.Scan(ctx, func(storage.Entry) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("Scan with a failing callback = %v after %d calls; want the callback's error after 1", err, n)
	}
	err = s.ScanKeys(ctx, func([]byte) error { return stop })
	if err != stop {
		t.Errorf("ScanKeys with a failing callback = %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.ScanKeys(cctx, func([]byte) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("ScanKeys(cancelled) = %v", err)
	}
}

func TestStore_ReadLog(t *testing.T) {
	s := openMem(t, storage.Options{})
	ctx := t.Context()
	var seqs []uint64
	for i := range 10 {
		seqs = append(seqs, mustPut(t, s, entry(email(fmt.Sprintf("u%d@x.com", i)))))
	}
	tests := []struct {
		after uint64
		limit int
		want  []uint64
	}{
		{0, 3, seqs[:3]},
		{seqs[2], 3, seqs[3:6]},
		{seqs[8], 100, seqs[9:]},
		{seqs[9], 100, nil},
		{0, 0, seqs}, // default limit
		{1 << 63, 10, nil},
	}
	for _, tt := range tests {
		recs, err := s.ReadLog(ctx, tt.after, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, r := range recs {
			got = append(got, r.Seq)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("ReadLog(%d, %d) = %v, want %v", tt.after, tt.limit, got, tt.want)
		}
	}
	if last, err := s.LastSeq(ctx); err != nil || last != seqs[9] {
		t.Errorf("LastSeq = %d, %v", last, err)
	}
}

func TestStore_Offsets(t *testing.T) {
	s := openDisk(t, storage.Options{})
	ctx := t.Context()
	for i := range 5 {
		mustPut(t, s, entry(email(fmt.Sprintf("u%d@x.com", i))))
	}
	last, _ := s.LastSeq(ctx)
	if off, err := s.Offset(ctx, "opencx"); err != nil || off != 0 {
		t.Errorf("Offset(unset) = %d, %v", off, err)
	}
	steps := []struct {
		set, want uint64
	}{{2, 2}, {4, 4}, {3, 4}, {0, 4}, {last, last}}
	for _, st := range steps {
		if err := s.SetOffset(ctx, "opencx", st.set); err != nil {
			t.Fatalf("SetOffset(%d): %v", st.set, err)
		}
		if off, err := s.Offset(ctx, "opencx"); err != nil || off != st.want {
			t.Errorf("after SetOffset(%d): Offset = %d, %v; want %d", st.set, off, err, st.want)
		}
	}
	wantErr(t, s.SetOffset(ctx, "opencx", last+1), storage.ErrInvalid)
	wantErr(t, s.SetOffset(ctx, "", 1), storage.ErrInvalid)
	wantErr(t, s.SetOffset(ctx, "a\x00b", 1), storage.ErrInvalid)
	if err := s.SetOffset(ctx, "ocamba", 0); err != nil {
		t.Fatal(err)
	}
	offs, err := s.Offsets(ctx)
	if err != nil || len(offs) != 2 || offs["opencx"] != last || offs["ocamba"] != 0 {
		t.Errorf("Offsets = %v, %v", offs, err)
	}
	if err := s.DeleteOffset(ctx, "ocamba"); err != nil {
		t.Fatal(err)
	}
	if offs, _ := s.Offsets(ctx); len(offs) != 1 {
		t.Errorf("Offsets after DeleteOffset = %v", offs)
	}
}

func TestStore_Trim(t *testing.T) {
	const retention = 24 * time.Hour
	tests := []struct {
		name      string
		offsets   map[string]int // consumer -> index of the record it has passed (-1: registered at 0)
		age       time.Duration  // clock step after writing
		wantTrims int            // of 10 records
	}{
		{"no consumers, young", nil, time.Hour, 0},
		{"no consumers, old: all but the last", nil, 2 * retention, 9},
		{"one consumer behind", map[string]int{"a": 3}, 2 * retention, 4},
		{"two consumers, slowest decides", map[string]int{"a": 7, "b": 2}, 2 * retention, 3},
		{"registered at zero holds everything", map[string]int{"a": 9, "b": -1}, 2 * retention, 0},
		{"all passed but young", map[string]int{"a": 9}, time.Hour, 0},
		{"all passed and old: the last stays", map[string]int{"a": 9}, 2 * retention, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			s := openMem(t, storage.Options{Clock: clock.Now, LogRetention: retention})
			ctx := t.Context()
			var seqs []uint64
			for i := range 10 {
				seqs = append(seqs, mustPut(t, s, entry(email(fmt.Sprintf("u%d@x.com", i)))))
			}
			for name, idx := range tt.offsets {
				var off uint64
				if idx >= 0 {
					off = seqs[idx]
				}
				if err := s.SetOffset(ctx, name, off); err != nil {
					t.Fatal(err)
				}
			}
			clock.Advance(tt.age)
			n, err := s.Trim(ctx)
			if err != nil || n != tt.wantTrims {
				t.Fatalf("Trim = %d, %v; want %d", n, err, tt.wantTrims)
			}
			recs := readAll(t, s)
			if len(recs) != 10-tt.wantTrims || recs[0].Seq != seqs[tt.wantTrims] {
				t.Errorf("%d records left starting at %d", len(recs), recs[0].Seq)
			}
			if n, _ := s.Count(ctx); n != 10 {
				t.Errorf("Trim removed entries: Count = %d", n)
			}
		})
	}
}

func TestStore_DeadLetters(t *testing.T) {
	clock := newClock()
	s := openDisk(t, storage.Options{Clock: clock.Now})
	ctx := t.Context()
	for _, c := range []normalize.Contact{email("a@x.com"), phone("+15005550006"), email("b@x.com")} {
		mustPut(t, s, entry(c))
	}
	recs := readAll(t, s)
	if err := s.AddDeadLetter(ctx, "opencx", recs[1], "400: phone numbers not accepted"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddDeadLetter(ctx, "ocamba", recs[0], "403: forbidden"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddDeadLetter(ctx, "opencx", recs[2], "400: bad"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.AddDeadLetter(ctx, "", recs[0], "x"), storage.ErrInvalid)
	wantErr(t, s.AddDeadLetter(ctx, "c", storage.Record{Op: storage.OpBlock}, "x"), storage.ErrInvalid)

	dls, err := s.DeadLetters(ctx, "opencx")
	if err != nil || len(dls) != 2 {
		t.Fatalf("DeadLetters(opencx) = %v, %v", dls, err)
	}
	d := dls[0]
	if d.Consumer != "opencx" || d.Reason != "400: phone numbers not accepted" || !d.At.Equal(clock.Now()) ||
		d.Record.Seq != recs[1].Seq || d.Record.Contact != recs[1].Contact || d.Record.Original != recs[1].Original {
		t.Errorf("dead letter = %+v", d)
	}
	all, err := s.DeadLetters(ctx, "")
	if err != nil || len(all) != 3 || all[0].Consumer != "ocamba" {
		t.Fatalf("DeadLetters(all) = %+v, %v", all, err)
	}

	last, _ := s.LastSeq(ctx)
	n, err := s.RetryDeadLetters(ctx, "opencx")
	if err != nil || n != 2 {
		t.Fatalf("RetryDeadLetters = %d, %v", n, err)
	}
	requeued, err := s.ReadLog(ctx, last, 10)
	if err != nil || len(requeued) != 2 {
		t.Fatalf("records after retry = %+v, %v", requeued, err)
	}
	for i, r := range requeued {
		orig := dls[i].Record
		if r.Target != "opencx" || r.Contact != orig.Contact || r.Op != orig.Op || r.Seq <= last ||
			!r.Time.Equal(orig.Time) || !r.For("opencx") || r.For("ocamba") {
			t.Errorf("requeued record %+v (from %+v)", r, orig)
		}
	}
	if !recs[0].For("anyone") {
		t.Error("an untargeted record is not for every consumer")
	}
	if dls, _ := s.DeadLetters(ctx, "opencx"); len(dls) != 0 {
		t.Errorf("dead letters left after retry: %v", dls)
	}
	if dls, _ := s.DeadLetters(ctx, ""); len(dls) != 1 {
		t.Errorf("retrying opencx touched other consumers: %v", dls)
	}
	if n, err := s.RetryDeadLetters(ctx, ""); err != nil || n != 1 {
		t.Errorf("RetryDeadLetters(all) = %d, %v", n, err)
	}
}

func TestStore_Meta(t *testing.T) {
	s := openMem(t, storage.Options{})
	ctx := t.Context()
	if _, ok, err := s.GetMeta(ctx, "sync/opencx/watermark"); err != nil || ok {
		t.Fatalf("GetMeta(absent) = %v, %v", ok, err)
	}
	val := []byte("2025-01-02")
	for _, k := range []string{"sync/opencx/watermark", "sync/ocamba/watermark", "sync/ocamba/id/1", "other"} {
		if err := s.PutMeta(ctx, k, val); err != nil {
			t.Fatal(err)
		}
	}
	val[0] = 'X' // PutMeta copied it
	got, ok, err := s.GetMeta(ctx, "sync/opencx/watermark")
	if err != nil || !ok || string(got) != "2025-01-02" {
		t.Errorf("GetMeta = %q, %v, %v", got, ok, err)
	}
	var keys []string
	if err := s.ScanMeta(ctx, "sync/ocamba/", func(k string, v []byte) error {
		keys = append(keys, k)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{"sync/ocamba/id/1", "sync/ocamba/watermark"}) {
		t.Errorf("ScanMeta = %q", keys)
	}
	if err := s.DeleteMeta(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.GetMeta(ctx, "other"); ok {
		t.Error("meta key still there after DeleteMeta")
	}
	if err := s.DeleteMeta(ctx, "never"); err != nil {
		t.Errorf("DeleteMeta(absent) = %v", err)
	}
	wantErr(t, s.PutMeta(ctx, "", nil), storage.ErrInvalid)
	wantErr(t, s.PutMeta(ctx, "big", make([]byte, 1<<20)), storage.ErrInvalid)
	stop := errors.New("stop")
	if err := s.ScanMeta(ctx, "", func(string, []byte) error { return stop }); err != stop {
		t.Errorf("ScanMeta with a failing callback = %v", err)
	}
}

// TestStore_Reopen checks that everything survives Close and Open, and that
// sequence numbers keep rising.
func TestStore_Reopen(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := storage.Open(dir, storage.Options{ProviderFolding: true})
	if err != nil {
		t.Fatal(err)
	}
	seq := mustPut(t, s, entry(email("a@x.com")))
	if err := s.SetOffset(ctx, "opencx", seq); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMeta(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, dir, storage.Options{ProviderFolding: true})
	if !s.ProviderFolding() || s.Dir() != dir {
		t.Errorf("ProviderFolding = %v, Dir = %q", s.ProviderFolding(), s.Dir())
	}
	if _, ok := mustGet(t, s, email("a@x.com")); !ok {
		t.Error("entry lost across reopen")
	}
	if last, _ := s.LastSeq(ctx); last != seq {
		t.Errorf("LastSeq after reopen = %d, want %d", last, seq)
	}
	if off, _ := s.Offset(ctx, "opencx"); off != seq {
		t.Errorf("offset after reopen = %d", off)
	}
	if v, ok, _ := s.GetMeta(ctx, "k"); !ok || string(v) != "v" {
		t.Errorf("meta after reopen = %q, %v", v, ok)
	}
	if next := mustPut(t, s, entry(email("b@x.com"))); next <= seq {
		t.Errorf("seq after reopen = %d, not above %d", next, seq)
	}
}

func TestStore_Closed(t *testing.T) {
	s, err := storage.Open("", storage.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, entry(email("a@x.com")))
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = s.Close() })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("concurrent Close: %v", err)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close again: %v", err)
	}
	ctx := t.Context()
	c := email("a@x.com")
	calls := map[string]func() error{
		"Put":              func() error { _, _, err := s.Put(ctx, entry(c)); return err },
		"Delete":           func() error { _, err := s.Delete(ctx, c, "x"); return err },
		"Get":              func() error { _, _, err := s.Get(ctx, c); return err },
		"GetKey":           func() error { _, _, err := s.GetKey(ctx, c.Key()); return err },
		"Tombstone":        func() error { _, _, err := s.Tombstone(ctx, c); return err },
		"Import":           func() error { _, err := s.Import(ctx, []storage.Entry{entry(c)}); return err },
		"ScanKeys":         func() error { return s.ScanKeys(ctx, func([]byte) error { return nil }) },
		"Scan":             func() error { return s.Scan(ctx, func(storage.Entry) error { return nil }) },
		"Count":            func() error { _, err := s.Count(ctx); return err },
		"ReadLog":          func() error { _, err := s.ReadLog(ctx, 0, 1); return err },
		"LastSeq":          func() error { _, err := s.LastSeq(ctx); return err },
		"Offset":           func() error { _, err := s.Offset(ctx, "a"); return err },
		"SetOffset":        func() error { return s.SetOffset(ctx, "a", 0) },
		"Trim":             func() error { _, err := s.Trim(ctx); return err },
		"AddDeadLetter":    func() error { return s.AddDeadLetter(ctx, "a", storage.Record{Op: storage.OpBlock, Contact: c}, "x") },
		"DeadLetters":      func() error { _, err := s.DeadLetters(ctx, ""); return err },
		"RetryDeadLetters": func() error { _, err := s.RetryDeadLetters(ctx, ""); return err },
		"GetMeta":          func() error { _, _, err := s.GetMeta(ctx, "k"); return err },
		"PutMeta":          func() error { return s.PutMeta(ctx, "k", nil) },
		"DeleteMeta":       func() error { return s.DeleteMeta(ctx, "k") },
		"ScanMeta":         func() error { return s.ScanMeta(ctx, "", func(string, []byte) error { return nil }) },
		"CollectGarbage":   func() error { _, err := s.CollectGarbage(ctx); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, storage.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	if st := s.Stats(); st.Puts != 1 {
		t.Errorf("Stats after Close = %+v", st)
	}
}

// TestStore_CloseDuringScan checks that Close waits for a scan in flight,
// which notices it and stops with ErrClosed.
func TestStore_CloseDuringScan(t *testing.T) {
	s, err := storage.Open("", storage.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	in := make([]storage.Entry, 10_000)
	for i := range in {
		in[i] = entry(email(fmt.Sprintf("u%05d@x.com", i)))
	}
	if _, err := s.Import(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	seen := 0
	err = s.ScanKeys(t.Context(), func([]byte) error {
		seen++
		if seen == 1 {
			go func() { closed <- s.Close() }()
			// Wait until Close has begun: new calls are refused.
			for {
				if _, err := s.LastSeq(t.Context()); errors.Is(err, storage.ErrClosed) {
					break
				}
			}
		}
		return nil
	})
	if !errors.Is(err, storage.ErrClosed) || seen >= len(in) {
		t.Errorf("ScanKeys during Close = %v after %d keys; want ErrClosed before the end", err, seen)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestStore_ConcurrentLog runs writers against a log reader: the reader
// must see ascending sequence numbers, and once it has seen seq n it must
// never later find a new record below n (so a consumer offset is safe).
func TestStore_ConcurrentLog(t *testing.T) {
	s := openDisk(t, storage.Options{})
	ctx := t.Context()
	const writers, perWriter = 4, 150
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				c := email(fmt.Sprintf("w%d-%d@x.com", w, i))
				var err error
				switch i % 3 {
				case 0, 1:
					_, _, err = s.Put(ctx, entry(c))
				case 2:
					_, err = s.Import(ctx, []storage.Entry{entry(c), entry(email(fmt.Sprintf("w%d-%d-b@x.com", w, i)))})
				}
				if err == nil && i%5 == 0 {
					_, err = s.Delete(ctx, c, "local")
				}
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var offset uint64
	seen := map[uint64]bool{}
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		recs, err := s.ReadLog(ctx, 0, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range recs {
			if i > 0 && r.Seq <= recs[i-1].Seq {
				t.Fatalf("log not ascending: %d after %d", r.Seq, recs[i-1].Seq)
			}
			if !seen[r.Seq] && r.Seq <= offset {
				t.Fatalf("record %d appeared after the reader had passed %d", r.Seq, offset)
			}
			seen[r.Seq] = true
		}
		if len(recs) > 0 {
			offset = recs[len(recs)-1].Seq
		}
	}
	n, _ := s.Count(ctx)
	recs := readAll(t, s)
	blocks, unblocks := 0, 0
	for _, r := range recs {
		if r.Op == storage.OpBlock {
			blocks++
		} else {
			unblocks++
		}
	}
	if blocks-unblocks != n {
		t.Errorf("%d blocks - %d unblocks != %d live entries", blocks, unblocks, n)
	}
}

func TestStore_GC(t *testing.T) {
	ticks := make(chan time.Time)
	s, err := storage.OpenWithGCTicks(t.TempDir(), storage.Options{}, ticks)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, entry(email("a@x.com")))
	ticks <- time.Now()
	ticks <- time.Now() // accepted only once the first pass has finished
	if st := s.Stats(); st.GCRuns < 1 {
		t.Errorf("GCRuns = %d after two ticks", st.GCRuns)
	}
	if _, err := s.CollectGarbage(t.Context()); err != nil {
		t.Errorf("CollectGarbage: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case ticks <- time.Now():
		t.Error("GC loop still running after Close")
	default:
	}
}

func TestStore_Stats(t *testing.T) {
	s := openDisk(t, storage.Options{})
	ctx := t.Context()
	mustPut(t, s, entry(email("a@x.com")))
	if _, err := s.Import(ctx, []storage.Entry{entry(email("b@x.com")), entry(email("c@x.com"))}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, email("a@x.com"), "x"); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	last, _ := s.LastSeq(ctx)
	if st.Puts != 1 || st.Imported != 2 || st.Deletes != 1 || st.LastSeq != last {
		t.Errorf("Stats = %+v", st)
	}
}

func TestOpen_BadArguments(t *testing.T) {
	_, err := storage.Open(t.TempDir(), storage.Options{InMemory: true})
	wantErr(t, err, storage.ErrInvalid)
	_, err = storage.Open("", storage.Options{})
	wantErr(t, err, storage.ErrInvalid)
}

// TestStore_RetryStaleDeadLetters checks that a dead letter the store has
// overtaken is dropped, not replayed.
func TestStore_RetryStaleDeadLetters(t *testing.T) {
	s := openMem(t, storage.Options{})
	ctx := t.Context()
	a, b, c := email("a@x.com"), email("b@x.com"), email("c@x.com")
	for _, x := range []normalize.Contact{a, b, c} {
		mustPut(t, s, entry(x))
	}
	for _, x := range []normalize.Contact{b, c} {
		if _, err := s.Delete(ctx, x, "local"); err != nil {
			t.Fatal(err)
		}
	}
	mustPut(t, s, entry(c))
	recs := readAll(t, s) // block a, b, c; unblock b, c; block c
	dead := []struct {
		consumer string
		r        storage.Record
	}{
		{"opencx", recs[0]}, // block a: a is blocked, current
		{"opencx", recs[1]}, // block b: b was unblocked since, stale
		{"ocamba", recs[3]}, // unblock b: current
		{"ocamba", recs[4]}, // unblock c: c was blocked again, stale
	}
	for _, d := range dead {
		if err := s.AddDeadLetter(ctx, d.consumer, d.r, "503"); err != nil {
			t.Fatal(err)
		}
	}
	last, _ := s.LastSeq(ctx)
	n, err := s.RetryDeadLetters(ctx, "")
	if err != nil || n != 2 {
		t.Fatalf("RetryDeadLetters = %d, %v; want 2", n, err)
	}
	got, _ := s.ReadLog(ctx, last, 10)
	var summary []string
	for _, r := range got {
		summary = append(summary, fmt.Sprintf("%s %s for %s", r.Op, r.Contact.Value, r.Target))
	}
	want := []string{"unblock b@x.com for ocamba", "block a@x.com for opencx"}
	if !slices.Equal(summary, want) {
		t.Errorf("re-queued %q, want %q", summary, want)
	}
	if dls, _ := s.DeadLetters(ctx, ""); len(dls) != 0 {
		t.Errorf("dead letters left: %+v", dls)
	}
}

// TestStore_ImportAbsent checks the "known absent" hint: a hinted entry is
// written without the presence read (so a wrong hint replaces a live
// entry, as documented, which shows the read was skipped), an unhinted one
// is read and kept, and a hinted entry's tombstone is still cleared.
func TestStore_ImportAbsent(t *testing.T) {
	ctx := t.Context()
	s := openDisk(t, storage.Options{})
	mk := func(v, reason string) storage.Entry {
		return storage.Entry{Contact: normalize.Contact{Kind: normalize.Email, Value: v}, Reason: reason}
	}
	for _, v := range []string{"a@example.com", "b@example.com", "t@example.com"} {
		if _, _, err := s.Put(ctx, mk(v, "old")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Delete(ctx, mk("t@example.com", "").Contact, "local"); err != nil {
		t.Fatal(err)
	}
	entries := []storage.Entry{mk("a@example.com", "new"), mk("b@example.com", "new"), mk("t@example.com", "new"), mk("n@example.com", "new")}
	res, err := s.ImportAbsent(ctx, entries, []bool{true, false, true}) // n: no hint
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 3 || res.Present != 1 {
		t.Fatalf("ImportAbsent = %+v; want 3 added (a, t, n), 1 present (b)", res)
	}
	for v, want := range map[string]string{"a@example.com": "new", "b@example.com": "old", "t@example.com": "new", "n@example.com": "new"} {
		e, ok, err := s.Get(ctx, mk(v, "").Contact)
		if err != nil || !ok || e.Reason != want {
			t.Errorf("Get(%s) = %q, %v, %v; want reason %q", v, e.Reason, ok, err, want)
		}
	}
	if _, ok, err := s.Tombstone(ctx, mk("t@example.com", "").Contact); ok || err != nil {
		t.Errorf("t's tombstone after a hinted import: %v, %v; want cleared", ok, err)
	}
}
