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
//	fullpull         when the last complete full pull started (value: time)
//	id/<id>          a remote id the engine has seen (pushed or pulled) → contact key
//	listed/<key>     the remote lists the contact: pushed or pulled (value: listing,
//	                 with the id given to the engine's push and the push's window)
//	stale/<key>      unblocked locally but still listed remotely (value: unblock time)
//	masked/<id>      a masked entry that is not ours, counted once (value: time seen)
//
// key is the contact's key (normalize.Contact.Key).
const (
	metaPull   = "pull"
	metaFull   = "fullpull"
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
	id        string // the remote's latest id for it, if known
	// ours is the id the remote gave the engine's latest push of the
	// contact ("" if it gave none, or the listing comes from a pull): the
	// one entry that is the engine's own copy.
	ours string
	// sentAt and ackedAt bound the engine's latest push of the contact:
	// when it was first offered to the remote and when the remote
	// acknowledged it (zero if the engine never pushed it). For a remote
	// that gives no id, the entry created within them is the engine's
	// copy (see owns).
	sentAt, ackedAt time.Time
}

// echoSkew widens the window of a push (sentAt, ackedAt) in which an
// entry of a remote that gave no id is taken for the engine's own copy:
// the remote's clock and ours may differ, and vendors keep whole seconds.
const echoSkew = 2 * time.Minute

// owns reports whether b is, as far as the engine can tell, the remote's
// copy of the engine's own push of the contact, and adopt whether b's id
// should be recorded as that copy's. The rule (when in doubt, it is not
// ours, and the entry is applied as a block):
//
//   - if the remote gave an id for the push, b is ours only if it has that
//     id (an entry with another id is someone else's block);
//   - if it gave none, b is ours only if the remote created it within the
//     push's window (from when it was first sent to when it was
//     acknowledged, widened by echoSkew); the first such entry with an id
//     is adopted as ours, and after that only its id is;
//   - an entry with no creation time, or a contact the engine never
//     pushed, is never ours.
func (l listing) owns(b *RemoteBlock) (ours, adopt bool) {
	if b.ID != "" && l.ours != "" {
		return b.ID == l.ours, false
	}
	if l.sentAt.IsZero() || b.CreatedAt.IsZero() ||
		b.CreatedAt.Before(l.sentAt.Add(-echoSkew)) || b.CreatedAt.After(l.ackedAt.Add(echoSkew)) {
		return false, false
	}
	return true, b.ID != ""
}

// Listing encodings: version 1 (expiry, id) is read as a listing of
// unknown origin (no push window, no id of ours); version 2 adds them.
const (
	listingV1 = 1
	listingV2 = 2
)

func (l listing) encode() []byte {
	b := make([]byte, 0, 1+4*binary.MaxVarintLen64+len(l.ours)+len(l.id))
	b = append(b, listingV2)
	b = binary.AppendVarint(b, unixNano(l.expiresAt))
	b = binary.AppendVarint(b, unixNano(l.sentAt))
	b = binary.AppendVarint(b, unixNano(l.ackedAt))
	b = binary.AppendUvarint(b, uint64(len(l.ours)))
	b = append(b, l.ours...)
	return append(b, l.id...)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func decodeListing(b []byte) (listing, bool) {
	if len(b) < 2 || (b[0] != listingV1 && b[0] != listingV2) {
		return listing{}, false
	}
	v, rest := b[0], b[1:]
	var l listing
	var times [3]int64
	n := 1
	if v == listingV2 {
		n = 3
	}
	for i := range n {
		ns, k := binary.Varint(rest)
		if k <= 0 {
			return listing{}, false
		}
		times[i], rest = ns, rest[k:]
	}
	l.expiresAt, l.sentAt, l.ackedAt = fromUnixNano(times[0]), fromUnixNano(times[1]), fromUnixNano(times[2])
	if v == listingV2 {
		m, k := binary.Uvarint(rest)
		if k <= 0 || m > uint64(len(rest)-k) {
			return listing{}, false
		}
		l.ours, rest = string(rest[k:k+int(m)]), rest[k+int(m):]
	}
	l.id = string(rest)
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
	if present && l.id == old.id && l.ours == old.ours && l.expiresAt.Equal(old.expiresAt) &&
		l.sentAt.Equal(old.sentAt) && l.ackedAt.Equal(old.ackedAt) {
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
