package storage_test

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/sendguard/sendguard/storage"
)

// wantOpenErr checks that err wraps target and names dir.
func wantOpenErr(t *testing.T, err, target error, dir string, more ...string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("Open = %v, want an error wrapping %v", err, target)
	}
	for _, s := range append([]string{dir}, more...) {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

// TestOpen_Locked holds a store open in a child process and checks that
// opening it here fails with ErrLocked, then succeeds once the child has
// closed it.
func TestOpen_Locked(t *testing.T) {
	dir := t.TempDir()
	c := startChild(t, "hold", dirEnv+"="+dir)
	if !c.lines.Scan() || c.lines.Text() != "ready" {
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
		t.Fatalf("child did not get ready: %q; stderr:\n%s", c.lines.Text(), c.stderr)
	}

	_, err := storage.Open(dir, storage.Options{})
	c.stdin.Close() // let the child close its store and exit
	if werr := c.cmd.Wait(); werr != nil {
		t.Errorf("child: %v; stderr:\n%s", werr, c.stderr)
	}
	wantOpenErr(t, err, storage.ErrLocked, dir, "in use by another process")

	s, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatalf("Open after the child closed: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOpen_LockedInProcess opens one directory twice in this process.
func TestOpen_LockedInProcess(t *testing.T) {
	dir := t.TempDir()
	openAt(t, dir, storage.Options{})
	_, err := storage.Open(dir, storage.Options{})
	wantOpenErr(t, err, storage.ErrLocked, dir, "in use by another process")
}

// TestOpen_FormatRecord plants bad format records and settings.
func TestOpen_FormatRecord(t *testing.T) {
	tests := []struct {
		name   string
		record string // "" keeps the one written at creation
		opts   storage.Options
		want   error
		detail string
	}{
		{"unknown format version", `{"format":99,"keyVersion":1,"providerFolding":false}`, storage.Options{}, storage.ErrFormat, "format version 99"},
		{"other key version", `{"format":1,"keyVersion":7,"providerFolding":false}`, storage.Options{}, storage.ErrFormat, "key format version 7"},
		{"garbage", "\x00\xffnot json", storage.Options{}, storage.ErrCorrupt, "format record"},
		{"provider folding differs", "", storage.Options{ProviderFolding: true}, storage.ErrSettings, "provider folding off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := storage.Open(dir, storage.Options{})
			if err != nil {
				t.Fatal(err)
			}
			mustPut(t, s, entry(email("a@x.com")))
			if tt.record != "" {
				if err := s.RawSet([]byte("sys/format"), []byte(tt.record)); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			_, err = storage.Open(dir, tt.opts)
			wantOpenErr(t, err, tt.want, dir, tt.detail)
			// The failed Open released everything: a good one works.
			if tt.record == "" {
				s, err := storage.Open(dir, storage.Options{})
				if err != nil {
					t.Fatalf("Open with the right settings after a failed one: %v", err)
				}
				s.Close()
			}
		})
	}
}

// TestOpen_NotSendguard opens a Badger directory written by someone else.
func TestOpen_NotSendguard(t *testing.T) {
	dir := t.TempDir()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("user:1"), []byte("x")) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = storage.Open(dir, storage.Options{})
	wantOpenErr(t, err, storage.ErrFormat, dir, "not a sendguard store")
}

// TestOpen_CorruptManifest overwrites Badger's manifest.
func TestOpen_CorruptManifest(t *testing.T) {
	dir := t.TempDir()
	s, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, entry(email("a@x.com")))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "MANIFEST"), []byte("this is not a manifest"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = storage.Open(dir, storage.Options{})
	wantOpenErr(t, err, storage.ErrCorrupt, dir)
}

// TestStore_CorruptValues plants undecodable values under each kind of key
// and checks the calls that read them: an error wrapping ErrCorrupt that
// names the directory and the key with its contact redacted, never a panic.
func TestStore_CorruptValues(t *testing.T) {
	const victim = "alice@example.com"
	c := email(victim)
	tests := []struct {
		name    string
		key     string
		value   func(valid []byte) []byte // from the valid value under key
		call    func(t *testing.T, s *storage.Store) error
		keyText string // how the error names the key
	}{
		{"entry garbage", "e:" + victim, func([]byte) []byte { return []byte("\xde\xad\xbe\xef") },
			func(t *testing.T, s *storage.Store) error { _, _, err := s.Get(t.Context(), c); return err }, "e:a***@example.com"},
		{"entry empty", "e:" + victim, func([]byte) []byte { return []byte{} },
			func(t *testing.T, s *storage.Store) error { _, _, err := s.GetKey(t.Context(), c.Key()); return err }, "e:a***@example.com"},
		{"entry unknown version", "e:" + victim, func(v []byte) []byte { return append([]byte{9}, v[1:]...) },
			func(t *testing.T, s *storage.Store) error { _, _, err := s.Get(t.Context(), c); return err }, "e:a***@example.com"},
		{"entry truncated", "e:" + victim, func(v []byte) []byte { return v[:len(v)-3] },
			func(t *testing.T, s *storage.Store) error {
				return s.Scan(t.Context(), func(storage.Entry) error { return nil })
			}, "e:a***@example.com"},
		{"entry trailing bytes", "e:" + victim, func(v []byte) []byte { return append(v, 0) },
			func(t *testing.T, s *storage.Store) error { _, _, err := s.Put(t.Context(), entry(c)); return err }, "e:a***@example.com"},
		{"log record", "log/\x00\x00\x00\x00\x00\x00\x00\x01", func(v []byte) []byte { return v[:len(v)/2] },
			func(t *testing.T, s *storage.Store) error { _, err := s.ReadLog(t.Context(), 0, 10); return err }, "log/1"},
		{"log record bad op", "log/\x00\x00\x00\x00\x00\x00\x00\x01", func(v []byte) []byte { w := append([]byte(nil), v...); w[1] = 7; return w },
			func(t *testing.T, s *storage.Store) error { _, err := s.ReadLog(t.Context(), 0, 10); return err }, "log/1"},
		{"tombstone", "tomb/e:" + victim, func([]byte) []byte { return []byte{1} },
			func(t *testing.T, s *storage.Store) error { _, _, err := s.Tombstone(t.Context(), c); return err }, "tomb/e:a***@example.com"},
		{"offset", "off/opencx", func([]byte) []byte { return []byte{1, 2, 3} },
			func(t *testing.T, s *storage.Store) error { _, err := s.Offset(t.Context(), "opencx"); return err }, "off/opencx"},
		{"dead letter", "dead/opencx\x00\x00\x00\x00\x00\x00\x00\x00\x01", func(v []byte) []byte { return v[:len(v)-1] },
			func(t *testing.T, s *storage.Store) error { _, err := s.DeadLetters(t.Context(), ""); return err }, "dead/opencx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openAt(t, dir, storage.Options{})
			ctx := t.Context()
			seq := mustPut(t, s, entry(c))
			if seq != 1 {
				t.Fatalf("first seq = %d", seq)
			}
			mustPut(t, s, entry(email("bob@example.com")))
			if _, err := s.Delete(ctx, email("bob@example.com"), "x"); err != nil {
				t.Fatal(err)
			}
			// A tombstone for the victim too (planted: Delete would remove the
			// entry the other cases need).
			if err := s.RawSet([]byte("tomb/e:"+victim), []byte{1, 0, 0}); err != nil {
				t.Fatal(err)
			}
			if err := s.SetOffset(ctx, "opencx", 1); err != nil {
				t.Fatal(err)
			}
			if err := s.AddDeadLetter(ctx, "opencx", storage.Record{Seq: 1, Op: storage.OpBlock, Contact: c}, "400"); err != nil {
				t.Fatal(err)
			}
			key := []byte(tt.key)
			valid, err := s.RawGet(key)
			if err != nil {
				t.Fatalf("no value under %q: %v", key, err)
			}
			if err := s.RawSet(key, tt.value(valid)); err != nil {
				t.Fatal(err)
			}
			err = tt.call(t, s)
			if !errors.Is(err, storage.ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, dir) || !strings.Contains(msg, tt.keyText) {
				t.Errorf("error %q does not name the directory and %q", msg, tt.keyText)
			}
			if strings.Contains(msg, victim) {
				t.Errorf("error %q shows the contact unredacted", msg)
			}
		})
	}
}

// TestStore_SequenceRepair loses the sequence lease (as a power loss might)
// and checks that numbers still rise past the log's last record.
func TestStore_SequenceRepair(t *testing.T) {
	dir := t.TempDir()
	s, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	for _, v := range []string{"a@x.com", "b@x.com", "c@x.com"} {
		last = mustPut(t, s, entry(email(v)))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Set the lease back to 0. Close then leaves it (Badger's Release only
	// writes a lease it still owns).
	if err := s.RawSet([]byte("sys/seq/log"), binary.BigEndian.AppendUint64(nil, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, dir, storage.Options{})
	if seq := mustPut(t, s, entry(email("d@x.com"))); seq <= last {
		t.Errorf("seq %d after a lost lease, want > %d", seq, last)
	}
}

// TestStore_DeleteCorrupt checks the repair path: an undecodable entry can
// be unblocked (and then blocked again).
func TestStore_DeleteCorrupt(t *testing.T) {
	s := openDisk(t, storage.Options{})
	ctx := t.Context()
	c := email("alice@example.com")
	mustPut(t, s, entry(c))
	if err := s.RawSet(c.Key(), []byte{0xff}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put(ctx, entry(c)); !errors.Is(err, storage.ErrCorrupt) {
		t.Fatalf("Put over a corrupt entry = %v, want ErrCorrupt", err)
	}
	existed, err := s.Delete(ctx, c, "operator")
	if err != nil || !existed {
		t.Fatalf("Delete(corrupt) = %v, %v", existed, err)
	}
	recs := readAll(t, s)
	if last := recs[len(recs)-1]; last.Op != storage.OpUnblock || last.Contact != c || last.Source != "operator" {
		t.Errorf("unblock record = %+v", last)
	}
	if _, ok := mustGet(t, s, c); ok {
		t.Error("entry still there")
	}
	mustPut(t, s, entry(c))
}
