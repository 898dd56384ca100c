package storage_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sendguard/sendguard/storage"
)

// TestPutDeleteFrom_Origin: Entry.Origin and DeleteFrom's origin reach the
// records, with the block's creation time; Get does not return the origin.
func TestPutDeleteFrom_Origin(t *testing.T) {
	ctx := t.Context()
	s := openDisk(t, storage.Options{})
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	e := entry(email("ann@x.com"))
	e.Origin, e.CreatedAt = "fleet", created
	if _, _, err := s.Put(ctx, e); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Get(ctx, e.Contact); got.Origin != "" {
		t.Errorf("Get returned origin %q", got.Origin)
	}
	if ok, err := s.DeleteFrom(ctx, e.Contact, "peer", "fleet"); !ok || err != nil {
		t.Fatalf("DeleteFrom = %v, %v", ok, err)
	}
	recs, err := s.ReadLog(ctx, 0, 0)
	if err != nil || len(recs) != 2 {
		t.Fatalf("ReadLog = %v, %v", recs, err)
	}
	if r := recs[0]; r.Origin != "fleet" || !r.CreatedAt.Equal(created) {
		t.Errorf("block record origin %q created %v", r.Origin, r.CreatedAt)
	}
	if r := recs[1]; r.Origin != "fleet" || r.Source != "peer" || !r.CreatedAt.IsZero() {
		t.Errorf("unblock record %+v", r)
	}
}

// TestTrimmedAndScanAt: Trim records how far it went; ScanAt returns the
// live entries and the seq they are at.
func TestTrimmedAndScanAt(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	s := openDisk(t, storage.Options{LogRetention: time.Hour, Clock: clk.Now})
	for _, v := range []string{"a@x.com", "b@x.com", "c@x.com"} {
		if _, _, err := s.Put(ctx, entry(email(v))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Delete(ctx, email("b@x.com"), "local"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Trimmed(ctx); n != 0 {
		t.Errorf("Trimmed before any trim = %d", n)
	}
	clk.Advance(2 * time.Hour)
	if n, err := s.Trim(ctx); n != 3 || err != nil {
		t.Fatalf("Trim = %d, %v; want 3", n, err)
	}
	if n, _ := s.Trimmed(ctx); n != 3 {
		t.Errorf("Trimmed = %d, want 3", n)
	}
	var got []string
	seq, err := s.ScanAt(ctx, func(e storage.Entry) error { got = append(got, e.Contact.Value); return nil })
	if err != nil || seq != 4 || !slices.Equal(got, []string{"a@x.com", "c@x.com"}) {
		t.Errorf("ScanAt = %v at %d, %v; want [a c] at 4", got, seq, err)
	}
	stop := errors.New("stop")
	if _, err := s.ScanAt(ctx, func(storage.Entry) error { return stop }); err != stop {
		t.Errorf("ScanAt with a failing fn = %v", err)
	}
}

func TestDeleteDeadLetters(t *testing.T) {
	ctx := t.Context()
	s := openDisk(t, storage.Options{})
	if _, _, err := s.Put(ctx, entry(email("a@x.com"))); err != nil {
		t.Fatal(err)
	}
	recs, _ := s.ReadLog(ctx, 0, 0)
	for _, c := range []string{"x", "x", "y"} {
		if err := s.AddDeadLetter(ctx, c, recs[0], "no"); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.DeleteDeadLetters(ctx, "x"); n != 2 || err != nil {
		t.Errorf("DeleteDeadLetters(x) = %d, %v; want 2", n, err)
	}
	if dl, _ := s.DeadLetters(ctx, ""); len(dl) != 1 || dl[0].Consumer != "y" {
		t.Errorf("left %+v, want y's only", dl)
	}
}
