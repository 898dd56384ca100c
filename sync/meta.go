package sync

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"

	"github.com/sendguard/sendguard/guard"
)

// The engine's durable state per remote lives in the remote's consumer
// state ([guard.Replication.SetState], consumer "remote/<remote>"):
//
//	pull             the watermark the remote's last applied page returned
//	id/<id>          a remote id the engine has seen (pushed or pulled) → contact key
//	listed/<key>     the remote lists the contact: pushed or pulled (value: listing)
//	stale/<key>      unblocked locally but still listed remotely (value: unblock time)
//	masked/<id>      a masked entry that is not ours, counted once (value: time seen)
//
// key is the contact's key (normalize.Contact.Key).
const (
	metaPull   = "pull"
	metaID     = "id/"
	metaListed = "listed/"
	metaStale  = "stale/"
	metaMasked = "masked/"
)

// idKey and maskedKey are the meta keys of a remote id. An id too long
// for a meta key, or with a NUL byte, is replaced by its SHA-256.
func idKey(id string) string     { return metaID + safeID(id) }
func maskedKey(id string) string { return metaMasked + safeID(id) }

func safeID(id string) string {
	if len(id) <= 200 && !strings.ContainsRune(id, 0) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "#" + hex.EncodeToString(sum[:])
}

// listing is what the engine knows of a contact the remote lists.
type listing struct {
	// expiresAt is the expiry of the local block the engine pushed (zero:
	// none). Vendors keep no expiry: once it passes, the remote's entry is
	// treated like a local unblock at that time.
	expiresAt time.Time
	id        string // the remote's id for it, if known
}

const listingVersion = 1

func (l listing) encode() []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(l.id))
	b = append(b, listingVersion)
	var ns int64
	if !l.expiresAt.IsZero() {
		ns = l.expiresAt.UnixNano()
	}
	b = binary.AppendVarint(b, ns)
	return append(b, l.id...)
}

func decodeListing(b []byte) (listing, bool) {
	if len(b) < 2 || b[0] != listingVersion {
		return listing{}, false
	}
	ns, n := binary.Varint(b[1:])
	if n <= 0 {
		return listing{}, false
	}
	var l listing
	if ns != 0 {
		l.expiresAt = time.Unix(0, ns).UTC()
	}
	l.id = string(b[1+n:])
	return l, true
}

func encodeTime(t time.Time) []byte { return binary.AppendVarint(nil, t.UnixNano()) }

func decodeTime(b []byte) (time.Time, bool) {
	ns, n := binary.Varint(b)
	if n <= 0 {
		return time.Time{}, false
	}
	return time.Unix(0, ns).UTC(), true
}

// meta is one remote's consumer state.
type meta struct {
	st       *guard.Replication
	consumer string // "remote/<remote>"
}

func (m meta) get(ctx context.Context, key string) ([]byte, bool, error) {
	return m.st.State(ctx, m.consumer, key)
}

func (m meta) put(ctx context.Context, key string, val []byte) error {
	return m.st.SetState(ctx, m.consumer, key, val)
}

func (m meta) del(ctx context.Context, key string) error {
	return m.st.DeleteState(ctx, m.consumer, key)
}

// scan calls fn with each key under sub, sub stripped.
func (m meta) scan(ctx context.Context, sub string, fn func(key string) error) error {
	return m.st.ScanState(ctx, m.consumer, sub, func(k string, _ []byte) error { return fn(k[len(sub):]) })
}

func (m meta) listing(ctx context.Context, ckey string) (listing, bool, error) {
	v, ok, err := m.get(ctx, metaListed+ckey)
	if err != nil || !ok {
		return listing{}, false, err
	}
	l, ok := decodeListing(v)
	return l, ok, nil
}

// putListing writes l unless it equals old (present says old exists).
func (m meta) putListing(ctx context.Context, ckey string, l, old listing, present bool) error {
	if present && l.id == old.id && l.expiresAt.Equal(old.expiresAt) {
		return nil
	}
	return m.put(ctx, metaListed+ckey, l.encode())
}

// markStale records that the contact was unblocked locally at t while the
// remote still lists it; an existing mark is kept.
func (m meta) markStale(ctx context.Context, ckey string, t time.Time) error {
	_, ok, err := m.get(ctx, metaStale+ckey)
	if err != nil || ok {
		return err
	}
	return m.put(ctx, metaStale+ckey, encodeTime(t))
}

// clearStale removes the mark, if any.
func (m meta) clearStale(ctx context.Context, ckey string) error {
	_, ok, err := m.get(ctx, metaStale+ckey)
	if err != nil || !ok {
		return err
	}
	return m.del(ctx, metaStale+ckey)
}

// count counts the keys under sub.
func (m meta) count(ctx context.Context, sub string) (int, error) {
	n := 0
	err := m.st.ScanState(ctx, m.consumer, sub, func(string, []byte) error {
		n++
		return nil
	})
	return n, err
}
