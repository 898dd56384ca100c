package sync_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
	blocksync "github.com/sendguard/sendguard/sync"
)

// TestEngine_LegacyStateMigrated: a database written before the
// replication view keeps each remote's state under "sync/<remote>/"
// (the pull watermark, the remote ids it has handled, the "still listed"
// marks). Opened now, the engine goes on from that state: an entry whose
// id it handled before is not applied again, and the contacts still
// listed after a local unblock are still counted.
func TestEngine_LegacyStateMigrated(t *testing.T) {
	dir := t.TempDir()
	ann := normalize.Contact{Kind: normalize.Email, Value: "ann@example.com"}
	bob := normalize.Contact{Kind: normalize.Email, Value: "bob@example.com"}
	listing := []byte{1, 0, '1'} // version 1, no expiry, remote id "1"
	s, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string][]byte{
		"sync/fake/pull":                        []byte("watermark"),
		"sync/fake/id/1":                        ann.Key(),
		"sync/fake/listed/" + string(ann.Key()): listing,
		"sync/fake/stale/" + string(bob.Key()):  binary.AppendVarint(nil, time.Now().UnixNano()),
	} {
		if err := s.PutMeta(t.Context(), k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	g, err := guard.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	f := newFakeRemote("fake")
	f.add(ann, "spam", time.Now()) // id "1": handled before, by the legacy state
	// Full reconciliation pulls off: a full pull would rightly drop bob's
	// mark, since this remote does not list bob; the test is about the
	// state surviving, so the pull stays incremental from the watermark.
	e := newEngine(t, g, []blocksync.Remote{f}, blocksync.WithFullPull(-1))
	if _, err := e.SyncOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	v, err := g.Check(t.Context(), ann.Value)
	if err != nil || v.Blocked {
		t.Errorf("Check(ann) = %+v, %v: the remote entry with a known id was applied again (state lost)", v, err)
	}
	st, err := e.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st[0].StillListed != 1 {
		t.Errorf("StillListed = %d, want 1 (bob's mark from the legacy state)", st[0].StillListed)
	}
	if got, ok, _ := g.Replication().State(t.Context(), blocksync.Consumer("fake"), "pull"); !ok || string(got) != "watermark" {
		t.Errorf("pull watermark = %q, %v; want the legacy one", got, ok)
	}
}
