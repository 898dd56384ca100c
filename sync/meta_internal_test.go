package sync

import (
	"encoding/binary"
	"testing"
	"time"
)

// TestListing_Encoding: a listing reads back as written, and a version 1
// listing (before the push window and our id were kept) reads as one of
// unknown origin: no entry is taken for the engine's own.
func TestListing_Encoding(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	l := listing{expiresAt: at, id: "77", ours: "42", sentAt: at.Add(-time.Second), ackedAt: at}
	got, ok := decodeListing(l.encode())
	if !ok || got != l {
		t.Fatalf("decode(encode(%+v)) = %+v, %v", l, got, ok)
	}
	if got, ok := decodeListing(listing{}.encode()); !ok || got != (listing{}) {
		t.Fatalf("zero listing: %+v, %v", got, ok)
	}
	v1 := binary.AppendVarint([]byte{listingV1}, at.UnixNano())
	v1 = append(v1, "77"...)
	got, ok = decodeListing(v1)
	if !ok || got != (listing{expiresAt: at, id: "77"}) {
		t.Fatalf("v1: %+v, %v", got, ok)
	}
	if ours, _ := got.owns(&RemoteBlock{ID: "77", CreatedAt: at}); ours {
		t.Fatal("a v1 listing owns an entry")
	}
	for _, bad := range [][]byte{nil, {listingV2}, {9, 0}, append([]byte{listingV2, 0, 0, 0}, 200)} {
		if _, ok := decodeListing(bad); ok {
			t.Errorf("decodeListing(%v) ok", bad)
		}
	}
}

// TestListing_Owns: the rule that tells the engine's own copy of a push
// from someone else's entry.
func TestListing_Owns(t *testing.T) {
	sent := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	acked := sent.Add(3 * time.Second)
	withID := listing{ours: "42", sentAt: sent, ackedAt: acked}
	noID := listing{sentAt: sent, ackedAt: acked}
	cases := []struct {
		name        string
		l           listing
		b           RemoteBlock
		ours, adopt bool
	}{
		{"our id", withID, RemoteBlock{ID: "42", CreatedAt: sent}, true, false},
		{"another id in the window", withID, RemoteBlock{ID: "43", CreatedAt: sent}, false, false},
		{"no id given, in the window", noID, RemoteBlock{ID: "43", CreatedAt: sent.Add(time.Second)}, true, true},
		{"no id given, within the skew", noID, RemoteBlock{ID: "43", CreatedAt: sent.Add(-time.Minute)}, true, true},
		{"no id given, long after", noID, RemoteBlock{ID: "43", CreatedAt: acked.Add(time.Hour)}, false, false},
		{"no id given, long before", noID, RemoteBlock{ID: "43", CreatedAt: sent.Add(-time.Hour)}, false, false},
		{"no id anywhere, in the window", noID, RemoteBlock{CreatedAt: sent}, true, false},
		{"no creation time", noID, RemoteBlock{ID: "43"}, false, false},
		{"never pushed", listing{}, RemoteBlock{ID: "43", CreatedAt: sent}, false, false},
	}
	for _, c := range cases {
		if ours, adopt := c.l.owns(&c.b); ours != c.ours || adopt != c.adopt {
			t.Errorf("%s: owns = %v, %v; want %v, %v", c.name, ours, adopt, c.ours, c.adopt)
		}
	}
}
