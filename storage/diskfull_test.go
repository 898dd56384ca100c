package storage_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/sendguard/sendguard/storage"
)

// TestStore_DiskFull opens a store whose filesystem has less free space than
// it must keep (MinFreeBytes above anything a disk holds): every write
// fails with ErrDiskFull naming the directory and writes nothing, reads go
// on, and after a reopen with room again nothing acknowledged is lost.
func TestStore_DiskFull(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	kept := mustPut(t, s, entry(email("kept@example.com")))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	full, err := storage.Open(dir, storage.Options{MinFreeBytes: math.MaxInt64})
	if err != nil {
		t.Fatalf("Open on a full disk: %v (opening reads; it must work)", err)
	}
	wantFull := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, storage.ErrDiskFull) || !strings.Contains(err.Error(), dir) {
			t.Errorf("%s on a full disk: %v; want ErrDiskFull naming %s", op, err, dir)
		}
	}
	_, _, err = full.Put(ctx, entry(email("new@example.com")))
	wantFull("Put", err)
	_, err = full.Delete(ctx, email("kept@example.com"), "local")
	wantFull("Delete", err)
	res, err := full.Import(ctx, []storage.Entry{entry(email("a@example.com")), entry(phone("+14155550100"))})
	wantFull("Import", err)
	if res.Added != 0 {
		t.Errorf("Import on a full disk added %d", res.Added)
	}
	wantFull("SetOffset", full.SetOffset(ctx, "remote/x", 0))
	wantFull("PutMeta", full.PutMeta(ctx, "k", []byte("v")))
	r := storage.Record{Op: storage.OpBlock, Contact: email("kept@example.com"), Seq: kept}
	wantFull("AddDeadLetter", full.AddDeadLetter(ctx, "remote/x", r, "refused"))

	// Reads still answer, so the guard keeps refusing blocked contacts.
	if e, ok, err := full.Get(ctx, email("kept@example.com")); err != nil || !ok || e.Reason != "bounce" {
		t.Fatalf("Get on a full disk: %+v %v %v", e, ok, err)
	}
	if n, err := full.LastSeq(ctx); err != nil || n != kept {
		t.Fatalf("LastSeq = %d, %v; want %d (no record written)", n, err, kept)
	}
	if err := full.Close(); err != nil {
		t.Fatal(err)
	}

	// Room again: what was acknowledged is there, and writes work.
	s = openAt(t, dir, storage.Options{})
	if _, ok, err := s.Get(ctx, email("kept@example.com")); err != nil || !ok {
		t.Fatalf("kept entry after the full disk: %v %v", ok, err)
	}
	for _, c := range []string{"new@example.com", "a@example.com"} {
		if _, ok, _ := s.Get(ctx, email(c)); ok {
			t.Errorf("%s was written on a full disk", c)
		}
	}
	mustPut(t, s, entry(email("new@example.com")))
}
