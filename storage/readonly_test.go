package storage_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/sendguard/sendguard/storage"
)

// listDir returns the names in dir: none for a missing dir, and its size
// for a file.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err == nil && !fi.IsDir() {
		return []string{fmt.Sprint("file of ", fi.Size())}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestOpen_NoStore: a directory that holds no store is refused, naming it,
// with ErrNoStore and nothing created, by a read-only or must-exist open
// (missing, empty, other files) and by any open when it holds other files;
// a missing or empty directory is where a store may be created.
func TestOpen_NoStore(t *testing.T) {
	base := t.TempDir()
	missing := filepath.Join(base, "missing")
	empty := filepath.Join(base, "empty")
	foreign := filepath.Join(base, "foreign")
	file := filepath.Join(base, "file")
	for _, d := range []string{empty, foreign} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		dir  string
		opts storage.Options
	}{
		{missing, storage.Options{ReadOnly: true}},
		{missing, storage.Options{MustExist: true}},
		{empty, storage.Options{ReadOnly: true}},
		{empty, storage.Options{MustExist: true}},
		{foreign, storage.Options{ReadOnly: true}},
		{foreign, storage.Options{MustExist: true}},
		{foreign, storage.Options{}},
		{file, storage.Options{}},
		{file, storage.Options{ReadOnly: true}},
	}
	for _, c := range cases {
		before := listDir(t, c.dir)
		s, err := storage.Open(c.dir, c.opts)
		if err == nil {
			_ = s.Close()
		}
		if !errors.Is(err, storage.ErrNoStore) || !strings.Contains(err.Error(), c.dir) {
			t.Errorf("Open(%s, %+v) = %v; want ErrNoStore naming the directory", c.dir, c.opts, err)
		}
		if after := listDir(t, c.dir); strings.Join(after, ",") != strings.Join(before, ",") {
			t.Errorf("Open(%s, %+v) changed the directory: %v -> %v", c.dir, c.opts, before, after)
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused open created %s", missing)
	}

	// An empty Badger database (a creation cut short before the format
	// record) is not a store to a must-exist open either.
	bdir := filepath.Join(base, "badger")
	db, err := badger.Open(badger.DefaultOptions(bdir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, o := range []storage.Options{{ReadOnly: true}, {MustExist: true}} {
		if s, err := storage.Open(bdir, o); !errors.Is(err, storage.ErrNoStore) {
			if err == nil {
				_ = s.Close()
			}
			t.Errorf("Open(empty badger, %+v) = %v; want ErrNoStore", o, err)
		}
	}

	// Missing and empty directories get a store by default; then must-exist
	// and read-only opens find it.
	for _, d := range []string{missing, empty} {
		s := openAt(t, d, storage.Options{})
		mustPut(t, s, entry(email("a@example.com")))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		for _, o := range []storage.Options{{MustExist: true}, {ReadOnly: true}} {
			s, err := storage.Open(d, o)
			if err != nil {
				t.Fatalf("Open(%s, %+v) of a store: %v", d, o, err)
			}
			if _, ok := mustGet(t, s, email("a@example.com")); !ok {
				t.Errorf("Open(%s, %+v): the entry is missing", d, o)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestStore_ReadOnly: a read-only store answers reads, refuses every write
// with ErrReadOnly (writing nothing), may be shared with other readers but
// not with a writer, and leaves its directory's files as they were.
func TestStore_ReadOnly(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := openAt(t, dir, storage.Options{})
	seq := mustPut(t, s, entry(email("kept@example.com")))
	if err := s.SetOffset(ctx, "remote/x", seq); err != nil {
		t.Fatal(err)
	}
	if _, err := storage.Open(dir, storage.Options{ReadOnly: true}); !errors.Is(err, storage.ErrLocked) {
		t.Errorf("a reader beside a writer: %v, want ErrLocked", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	stamp := dirStamp(t, dir)

	ro, err := storage.Open(dir, storage.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if !ro.ReadOnly() {
		t.Error("ReadOnly() = false for a read-only store")
	}
	ro2, err := storage.Open(dir, storage.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("a second reader: %v", err)
	}
	if _, err := storage.Open(dir, storage.Options{}); !errors.Is(err, storage.ErrLocked) {
		t.Errorf("a writer beside readers: %v, want ErrLocked", err)
	}

	if e, ok, err := ro.Get(ctx, email("kept@example.com")); err != nil || !ok || e.Reason != "bounce" {
		t.Fatalf("Get: %+v %v %v", e, ok, err)
	}
	if n, err := ro2.LastSeq(ctx); err != nil || n != seq {
		t.Fatalf("LastSeq = %d, %v; want %d", n, err, seq)
	}
	if got := scanKeys(t, ro); len(got) != 1 {
		t.Errorf("ScanKeys = %q", got)
	}
	ro.Stats()

	wantRO := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, storage.ErrReadOnly) || !strings.Contains(err.Error(), dir) {
			t.Errorf("%s on a read-only store: %v; want ErrReadOnly naming %s", op, err, dir)
		}
	}
	_, _, err = ro.Put(ctx, entry(email("new@example.com")))
	wantRO("Put", err)
	_, err = ro.Delete(ctx, email("kept@example.com"), "local")
	wantRO("Delete", err)
	_, err = ro.Import(ctx, []storage.Entry{entry(email("b@example.com"))})
	wantRO("Import", err)
	wantRO("SetOffset", ro.SetOffset(ctx, "remote/x", seq+1))
	wantRO("DeleteOffset", ro.DeleteOffset(ctx, "remote/x"))
	wantRO("PutMeta", ro.PutMeta(ctx, "k", []byte("v")))
	wantRO("DeleteMeta", ro.DeleteMeta(ctx, "k"))
	wantRO("AddDeadLetter", ro.AddDeadLetter(ctx, "remote/x", storage.Record{Op: storage.OpBlock, Contact: email("kept@example.com"), Seq: seq}, "refused"))
	_, err = ro.RetryDeadLetters(ctx, "remote/x")
	wantRO("RetryDeadLetters", err)
	_, err = ro.Trim(ctx)
	wantRO("Trim", err)
	_, err = ro.CollectGarbage(ctx)
	wantRO("CollectGarbage", err)

	for _, r := range []*storage.Store{ro, ro2} {
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if got := dirStamp(t, dir); got != stamp {
		t.Errorf("read-only opens changed the directory:\nbefore %s\nafter  %s", stamp, got)
	}
	s = openAt(t, dir, storage.Options{})
	if _, ok := mustGet(t, s, email("new@example.com")); ok {
		t.Error("a read-only Put was written")
	}
	if off, err := s.Offset(ctx, "remote/x"); err != nil || off != seq {
		t.Errorf("Offset = %d, %v; want %d", off, err, seq)
	}
}

// dirStamp lists dir's files with their sizes and modification times.
func dirStamp(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %d %s; ", e.Name(), fi.Size(), fi.ModTime())
	}
	return b.String()
}
