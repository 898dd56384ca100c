package storage_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sendguard/sendguard/internal/tmpfstest"
	"github.com/sendguard/sendguard/storage"
)

// nearlyFull is what the full-filesystem tests leave free: a few pages,
// where Badger's memory-mapped writes fault.
const nearlyFull = 8 << 10

// TestStore_FullFilesystem fills a real tmpfs to its last pages: an open
// store with unflushed writes closes with ErrDiskFull instead of dying
// with SIGBUS, and finishes closing once there is room; a store opened on
// the full filesystem (read-write or read-only) reads, refuses writes and
// closes cleanly; nothing committed is lost.
func TestStore_FullFilesystem(t *testing.T) {
	ctx := t.Context()
	mnt := tmpfstest.Mount(t, 24<<20)
	dir := filepath.Join(mnt, "db")
	opts := storage.Options{MinFreeBytes: 1 << 20}

	s, err := storage.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, entry(email("first@example.com")))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = storage.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, entry(email("second@example.com"))) // in the memtable only

	unfill := tmpfstest.Fill(t, mnt, 0) // not a page left
	if _, _, err := s.Put(ctx, entry(email("refused@example.com"))); !errors.Is(err, storage.ErrDiskFull) {
		t.Fatalf("Put on a full filesystem: %v, want ErrDiskFull", err)
	}
	err = s.Close() // flushing would fault
	if !errors.Is(err, storage.ErrDiskFull) {
		t.Fatalf("Close on a full filesystem: %v, want ErrDiskFull", err)
	}
	if _, _, err := s.Get(ctx, email("second@example.com")); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Get after a refused Close: %v, want ErrClosed", err)
	}
	unfill()
	if err := s.Close(); err != nil {
		t.Fatalf("Close again with room: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close after it closed: %v", err)
	}

	// Opened on the full filesystem: Badger opens read-only, so nothing
	// faults; reads answer, writes fail with ErrDiskFull, Close is clean.
	unfill = tmpfstest.Fill(t, mnt, nearlyFull)
	for _, o := range []storage.Options{{}, {ReadOnly: true}} {
		full, err := storage.Open(dir, o)
		if err != nil {
			t.Fatalf("Open(%+v) on a full filesystem: %v", o, err)
		}
		if !full.ReadOnly() {
			t.Errorf("Open(%+v) on a full filesystem is writable", o)
		}
		for _, c := range []string{"first@example.com", "second@example.com"} {
			if _, ok := mustGet(t, full, email(c)); !ok {
				t.Errorf("Open(%+v) on a full filesystem: %s is missing", o, c)
			}
		}
		_, _, err = full.Put(ctx, entry(email("refused@example.com")))
		want := storage.ErrDiskFull
		if o.ReadOnly {
			want = storage.ErrReadOnly
		}
		if !errors.Is(err, want) {
			t.Errorf("Put after Open(%+v) on a full filesystem: %v, want %v", o, err, want)
		}
		if err := full.Close(); err != nil {
			t.Errorf("Close after Open(%+v) on a full filesystem: %v", o, err)
		}
	}
	// No new store on a full filesystem.
	if s, err := storage.Open(filepath.Join(mnt, "new"), opts); !errors.Is(err, storage.ErrDiskFull) {
		if err == nil {
			_ = s.Close()
		}
		t.Errorf("Open of a new store on a full filesystem: %v, want ErrDiskFull", err)
	}
	unfill()

	s = openAt(t, dir, opts)
	for c, want := range map[string]bool{"first@example.com": true, "second@example.com": true, "refused@example.com": false} {
		if _, ok := mustGet(t, s, email(c)); ok != want {
			t.Errorf("after the full filesystem, %s present = %v, want %v", c, ok, want)
		}
	}
	mustPut(t, s, entry(email("later@example.com")))
}

// TestStore_ReadOnlyReplay: a store left with an unreplayed write-ahead log
// (as after a crash) opens read-only by replaying it when there is room,
// and fails with ErrDiskFull, without a fault, when there is not.
func TestStore_ReadOnlyReplay(t *testing.T) {
	mnt := tmpfstest.Mount(t, 32<<20)
	dir := filepath.Join(mnt, "db")
	s := openAt(t, dir, storage.Options{MinFreeBytes: 1 << 20})
	mustPut(t, s, entry(email("a@example.com")))
	// A copy of the open store's files is what a crash leaves behind.
	crashed := filepath.Join(mnt, "crashed")
	copySparse(t, dir, crashed)

	unfill := tmpfstest.Fill(t, mnt, nearlyFull)
	ro, err := storage.Open(crashed, storage.Options{ReadOnly: true, MinFreeBytes: 1 << 20})
	if err == nil {
		_ = ro.Close()
	}
	if !errors.Is(err, storage.ErrDiskFull) {
		t.Fatalf("read-only Open of a crashed store on a full filesystem: %v, want ErrDiskFull", err)
	}
	unfill()
	ro = openAt(t, crashed, storage.Options{ReadOnly: true, MinFreeBytes: 1 << 20})
	if _, ok := mustGet(t, ro, email("a@example.com")); !ok {
		t.Fatal("the replayed entry is missing")
	}
	if _, _, err := ro.Put(t.Context(), entry(email("b@example.com"))); !errors.Is(err, storage.ErrReadOnly) {
		t.Errorf("Put on a replayed read-only store: %v, want ErrReadOnly", err)
	}
}

// copySparse copies the regular files of src into a new dst, keeping
// all-zero blocks as holes (Badger's files are mostly sparse).
func copySparse(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.Mkdir(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	zero := make([]byte, 4096)
	for _, e := range ents {
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var size int64
		for {
			n, err := io.ReadFull(in, buf)
			if n > 0 {
				if string(buf[:n]) != string(zero[:n]) {
					if _, err := out.WriteAt(buf[:n], size); err != nil {
						t.Fatal(err)
					}
				}
				size += int64(n)
			}
			if err != nil {
				break
			}
		}
		if err := out.Truncate(size); err != nil {
			t.Fatal(err)
		}
		_ = in.Close()
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
