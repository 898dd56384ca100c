package guard_test

import (
	"testing"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/storage"
)

// writeMeta writes meta keys straight into a store at dir, as a version
// before the replication view did.
func writeMeta(t *testing.T, dir string, kv map[string]string) {
	t.Helper()
	s, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range kv {
		if err := s.PutMeta(t.Context(), k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOpen_MigratesLegacySyncState: a store whose sync state is in the
// layout before the replication view ("sync/<remote>/<key>") has it moved
// into each remote's consumer state ("remote/<remote>") when a guard opens
// it, and the legacy keys are gone; other meta keys are left alone.
func TestOpen_MigratesLegacySyncState(t *testing.T) {
	dir := t.TempDir()
	writeMeta(t, dir, map[string]string{
		"sync/opencx/pull":               "watermark",
		"sync/opencx/id/42":              "key-of-ann",
		"sync/opencx/stale/key-of-bob":   "t",
		"sync/ocamba.eu/listed/key-of-x": "l",
		"sync/stray":                     "no remote name",
		"other/thing":                    "kept",
	})
	g := openGuard(t, dir)
	r := g.Replication()
	ctx := t.Context()
	want := map[[2]string]string{
		{"remote/opencx", "pull"}:               "watermark",
		{"remote/opencx", "id/42"}:              "key-of-ann",
		{"remote/opencx", "stale/key-of-bob"}:   "t",
		{"remote/ocamba.eu", "listed/key-of-x"}: "l",
	}
	for ck, v := range want {
		got, ok, err := r.State(ctx, ck[0], ck[1])
		if err != nil || !ok || string(got) != v {
			t.Errorf("State(%q, %q) = %q, %v, %v; want %q", ck[0], ck[1], got, ok, err, v)
		}
	}
	st := guard.StoreOf(g)
	for _, k := range []string{"sync/opencx/pull", "sync/opencx/id/42", "sync/ocamba.eu/listed/key-of-x"} {
		if _, ok, _ := st.GetMeta(ctx, k); ok {
			t.Errorf("legacy key %q still there", k)
		}
	}
	for _, k := range []string{"sync/stray", "other/thing"} {
		if _, ok, _ := st.GetMeta(ctx, k); !ok {
			t.Errorf("%q removed; it is not a remote's state", k)
		}
	}
	// Once: a state written since is not overwritten at the next open.
	if err := r.SetState(ctx, "remote/opencx", "pull", []byte("newer")); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	g = openGuard(t, dir)
	if got, _, _ := g.Replication().State(ctx, "remote/opencx", "pull"); string(got) != "newer" {
		t.Errorf("after a second open, pull = %q, want newer", got)
	}
}
