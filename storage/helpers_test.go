package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sendguard/sendguard/internal/testclock"
	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

func newClock() *testclock.Clock { return testclock.New() }

// openDisk opens a store on disk in a fresh temporary directory and closes
// it at cleanup.
func openDisk(t testing.TB, opts storage.Options) *storage.Store {
	t.Helper()
	return openAt(t, t.TempDir(), opts)
}

func openAt(t testing.TB, dir string, opts storage.Options) *storage.Store {
	t.Helper()
	s, err := storage.Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// openMem opens an in-memory store (for tests not about persistence).
func openMem(t testing.TB, opts storage.Options) *storage.Store {
	t.Helper()
	opts.InMemory = true
	return openAt(t, "", opts)
}

func email(v string) normalize.Contact  { return normalize.Contact{Kind: normalize.Email, Value: v} }
func phone(v string) normalize.Contact  { return normalize.Contact{Kind: normalize.Phone, Value: v} }
func domain(v string) normalize.Contact { return normalize.Contact{Kind: normalize.Domain, Value: v} }

func entry(c normalize.Contact) storage.Entry {
	return storage.Entry{Contact: c, Original: "<" + c.Value + ">", Reason: "bounce", Source: "local"}
}

func mustPut(t testing.TB, s *storage.Store, e storage.Entry) uint64 {
	t.Helper()
	added, seq, err := s.Put(context.Background(), e)
	if err != nil || !added || seq == 0 {
		t.Fatalf("Put(%v) = %v, %d, %v; want added", e.Contact, added, seq, err)
	}
	return seq
}

func mustGet(t testing.TB, s *storage.Store, c normalize.Contact) (storage.Entry, bool) {
	t.Helper()
	e, ok, err := s.Get(context.Background(), c)
	if err != nil {
		t.Fatalf("Get(%v): %v", c, err)
	}
	return e, ok
}

func readAll(t testing.TB, s *storage.Store) []storage.Record {
	t.Helper()
	var out []storage.Record
	var after uint64
	for {
		recs, err := s.ReadLog(context.Background(), after, 500)
		if err != nil {
			t.Fatalf("ReadLog(%d): %v", after, err)
		}
		if len(recs) == 0 {
			return out
		}
		out = append(out, recs...)
		after = recs[len(recs)-1].Seq
	}
}

func scanKeys(t testing.TB, s *storage.Store) []string {
	t.Helper()
	var out []string
	if err := s.ScanKeys(context.Background(), func(k []byte) error {
		out = append(out, string(k))
		return nil
	}); err != nil {
		t.Fatalf("ScanKeys: %v", err)
	}
	return out
}

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want one wrapping %v", err, target)
	}
}
