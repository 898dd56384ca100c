package storage_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sendguard/sendguard/storage"
)

// TestStore_TrimNoRetention: a negative LogRetention trims a record as
// soon as every consumer has passed it, even at the same instant, and
// with no consumer every record but the last.
func TestStore_TrimNoRetention(t *testing.T) {
	clock := newClock() // never advanced: every record is "now"
	s := openMem(t, storage.Options{Clock: clock.Now, LogRetention: -1})
	ctx := t.Context()
	var seqs []uint64
	for i := range 10 {
		seqs = append(seqs, mustPut(t, s, entry(email(fmt.Sprintf("u%d@x.com", i)))))
	}
	if err := s.SetOffset(ctx, "a", seqs[5]); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Trim(ctx); n != 6 || err != nil {
		t.Fatalf("Trim with a consumer at the 6th record = %d, %v; want 6", n, err)
	}
	if err := s.DeleteOffset(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Trim(ctx); n != 3 || err != nil {
		t.Fatalf("Trim with no consumer = %d, %v; want 3 (all but the last)", n, err)
	}
}

func TestStore_LogStats(t *testing.T) {
	clock := newClock()
	s := openDisk(t, storage.Options{Clock: clock.Now, LogRetention: -1})
	ctx := t.Context()
	ls, err := s.LogStats(ctx)
	if err != nil || ls.Records != 0 || ls.FirstSeq != 0 || ls.LastSeq != 0 || ls.HeldBy() != "" {
		t.Fatalf("empty log: %+v, %v", ls, err)
	}
	var seqs []uint64
	for i := range 6 {
		seqs = append(seqs, mustPut(t, s, entry(email(fmt.Sprintf("u%d@x.com", i)))))
	}
	for name, off := range map[string]uint64{"b": seqs[1], "a": seqs[1], "c": seqs[5]} {
		if err := s.SetOffset(ctx, name, off); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Trim(ctx); err != nil {
		t.Fatal(err)
	}
	ls, err = s.LogStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ls.FirstSeq != seqs[2] || ls.LastSeq != seqs[5] || ls.Records != 4 || ls.Trimmed != seqs[1] || len(ls.Offsets) != 3 {
		t.Errorf("LogStats = %+v; want records %d..%d, 4 of them, trimmed through %d, 3 offsets", ls, seqs[2], seqs[5], seqs[1])
	}
	if got := ls.HeldBy(); got != "a" {
		t.Errorf("HeldBy = %q, want a (lowest offset, first by name)", got)
	}
	for _, name := range []string{"a", "b"} {
		if err := s.SetOffset(ctx, name, seqs[5]); err != nil {
			t.Fatal(err)
		}
	}
	if ls, _ := s.LogStats(ctx); ls.HeldBy() != "" {
		t.Errorf("HeldBy with every consumer at the end = %q, want none", ls.HeldBy())
	}
}

// TestStore_MoveMeta: every key under from moves, with its value, and
// only those; a second call moves nothing; bad arguments are refused.
func TestStore_MoveMeta(t *testing.T) {
	s := openDisk(t, storage.Options{})
	ctx := t.Context()
	const n = 2500 // more than one batch
	for i := range n {
		if err := s.PutMeta(ctx, fmt.Sprintf("old/a/%05d", i), []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	big := []byte(strings.Repeat("v", 200<<10)) // batches are bounded by size too
	for _, k := range []string{"old/a/big1", "old/a/big2", "old/a/big3", "old/b", "older/x"} {
		if err := s.PutMeta(ctx, k, big); err != nil {
			t.Fatal(err)
		}
	}
	moved, err := s.MoveMeta(ctx, "old/a/", "new/a/")
	if err != nil || moved != n+3 {
		t.Fatalf("MoveMeta = %d, %v; want %d", moved, err, n+3)
	}
	for _, i := range []int{0, 1234, n - 1} {
		v, ok, err := s.GetMeta(ctx, fmt.Sprintf("new/a/%05d", i))
		if err != nil || !ok || string(v) != fmt.Sprint(i) {
			t.Errorf("new/a/%05d = %q, %v, %v", i, v, ok, err)
		}
		if _, ok, _ := s.GetMeta(ctx, fmt.Sprintf("old/a/%05d", i)); ok {
			t.Errorf("old/a/%05d still there", i)
		}
	}
	if v, ok, _ := s.GetMeta(ctx, "new/a/big2"); !ok || len(v) != len(big) {
		t.Errorf("big value not moved whole")
	}
	for _, k := range []string{"old/b", "older/x"} {
		if _, ok, _ := s.GetMeta(ctx, k); !ok {
			t.Errorf("%s moved, but it is not under old/a/", k)
		}
	}
	if moved, err := s.MoveMeta(ctx, "old/a/", "new/a/"); moved != 0 || err != nil {
		t.Errorf("second MoveMeta = %d, %v; want nothing to do", moved, err)
	}
	for _, bad := range [][2]string{{"", "x/"}, {"a/", "a/b/"}} {
		if _, err := s.MoveMeta(ctx, bad[0], bad[1]); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("MoveMeta(%q, %q) = %v, want ErrInvalid", bad[0], bad[1], err)
		}
	}
}
