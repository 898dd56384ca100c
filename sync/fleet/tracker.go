package fleet

import (
	"context"
	"errors"
	"strconv"
	gosync "sync"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/storage"
)

// The tracker is the member's account of its own local changes that the
// stream has not shown back to it yet. It reads the guard's change log
// (the single reader for the member), queues every local change — a
// record whose Origin is not [Origin] — for the publisher, and keeps each
// one, by contact, until the apply loop meets the change's own message in
// the stream, or a message placed after it.
//
// The apply loop decides on a message m about contact X from X's
// unresolved local changes, those not known to be before m in the stream:
//
//   - none: m is applied;
//   - one of them is an unblock: m is skipped, the local unblock comes
//     after m in the stream and overrides it everywhere;
//   - blocks only: a block m is applied (blocks merge: the longest wins),
//     an unblock m is skipped (the local blocks come after it).
//
// A change sent but not yet acknowledged may be before or after m: the
// apply loop waits for its acknowledgement, which carries its position.
type tracker struct {
	rep    *guard.Replication
	member string

	mu      gosync.Mutex
	wake    chan struct{} // closed (and replaced) when a change is acknowledged
	covered uint64        // change log read through this local seq
	queue   []*change     // not yet acknowledged, in log order
	byKey   map[string][]*change
	reseed  bool   // publish the entries at the next catch-up
	applied uint64 // the apply loop's stream position
}

type chState uint8

const (
	chQueued chState = iota
	chSent
	chAcked
)

// change is one local change on its way to the stream.
type change struct {
	rec    storage.Record
	id     string // Nats-Msg-Id
	key    string // contact key
	state  chState
	stream uint64 // stream seq once acknowledged
}

func newTracker(rep *guard.Replication, member string, covered uint64) *tracker {
	return &tracker{rep: rep, member: member, covered: covered, wake: make(chan struct{}), byKey: make(map[string][]*change)}
}

func (t *tracker) add(c *change) {
	c.key = string(c.rec.Contact.Key())
	t.queue = append(t.queue, c)
	t.byKey[c.key] = append(t.byKey[c.key], c)
}

// catchUpLocked reads the change log after covered and queues the local
// changes. If the log after covered was trimmed (the member's consumer was
// forgotten), or a reseed was asked for, it queues every live entry as a
// block instead, from one consistent read, and goes on after it.
func (t *tracker) catchUpLocked(ctx context.Context) error {
	for {
		if t.reseed {
			if err := t.reseedLocked(ctx); err != nil {
				return err
			}
			t.reseed = false
		}
		recs, err := t.rep.ReadLog(ctx, t.covered, 1024)
		if errors.Is(err, guard.ErrBehindLog) {
			t.reseed = true
			continue
		}
		if err != nil {
			return err
		}
		for i := range recs {
			r := recs[i]
			if r.Origin != Origin && r.Target == "" && (r.Op == storage.OpBlock || r.Op == storage.OpUnblock) {
				t.add(&change{rec: r, id: msgID(t.member, r.Seq)})
			}
			t.covered = r.Seq
		}
		if len(recs) < 1024 {
			return nil
		}
	}
}

func (t *tracker) reseedLocked(ctx context.Context) error {
	var recs []storage.Record
	seq, err := t.rep.Bootstrap(ctx, func(e storage.Entry) error {
		recs = append(recs, storage.Record{Op: storage.OpBlock, Contact: e.Contact, Original: e.Original,
			Reason: e.Reason, Source: e.Source, Time: e.CreatedAt, CreatedAt: e.CreatedAt, ExpiresAt: e.ExpiresAt})
		return nil
	})
	if err != nil {
		return err
	}
	prefix := t.member + ":r" + strconv.FormatUint(seq, 10) + ":"
	for i := range recs {
		recs[i].Seq = seq
		t.add(&change{rec: recs[i], id: prefix + strconv.Itoa(i)})
	}
	t.covered = max(t.covered, seq)
	return nil
}

// window returns up to n changes not yet acknowledged, from the head of
// the queue, and marks them sent.
func (t *tracker) window(n int) []*change {
	out := make([]*change, 0, min(n, len(t.queue)))
	for _, c := range t.queue {
		if len(out) == n {
			break
		}
		c.state = chSent
		out = append(out, c)
	}
	return out
}

// ack records that c is in the stream at seq.
func (t *tracker) ack(c *change, seq uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c.state == chAcked {
		return
	}
	c.state, c.stream = chAcked, seq
	if seq <= t.applied {
		// The apply loop is past it already (a change resent after a
		// restart): nothing can come before it any more.
		t.drop(c)
	}
	close(t.wake)
	t.wake = make(chan struct{})
}

// drop forgets c as unresolved.
func (t *tracker) drop(c *change) {
	list := t.byKey[c.key]
	for i, x := range list {
		if x == c {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(t.byKey, c.key)
	} else {
		t.byKey[c.key] = list
	}
}

// rewind makes the tracker read the change log again after own, the
// local seq through which every local change was met in the stream when
// the member last saved its position at stream seq applied: the changes
// after it that were published already are sent again with the same
// Nats-Msg-Id, and the stream's acknowledgement (a duplicate's, within
// the duplicate window) tells where they are. It does nothing once the
// tracker holds changes.
func (t *tracker) rewind(own, applied uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.queue) > 0 || len(t.byKey) > 0 {
		return
	}
	t.covered = min(t.covered, own)
	t.applied = applied
}

// publishedThrough drops the acknowledged head of the queue and returns
// the local seq through which every local change is in the stream.
func (t *tracker) publishedThrough() uint64 {
	i := 0
	for i < len(t.queue) && t.queue[i].state == chAcked {
		i++
	}
	t.queue = t.queue[i:]
	if len(t.queue) == 0 {
		return t.covered
	}
	return t.queue[0].rec.Seq - 1
}

// pendingOps resolves key's local changes against a message at stream seq
// s (whose Nats-Msg-Id is id when it is this member's own): it drops those
// known to be at or before s and returns the ops of the others, in local
// order. With strict, a change sent but not acknowledged makes it return
// a channel to wait on instead: it may be before s or after.
func (t *tracker) pendingOps(key string, s uint64, id string, strict bool) (ops []storage.Op, wait <-chan struct{}) {
	list := t.byKey[key]
	keep := list[:0]
	for _, c := range list {
		switch {
		case id != "" && c.id == id:
			// m itself
		case c.state == chAcked && c.stream <= s:
			// before m: accounted for in the stream
		default:
			keep = append(keep, c)
			if strict && c.state == chSent {
				wait = t.wake
			}
			ops = append(ops, c.rec.Op)
		}
	}
	clear(list[len(keep):])
	if len(keep) == 0 {
		delete(t.byKey, key)
	} else {
		t.byKey[key] = keep
	}
	if wait != nil {
		return nil, wait
	}
	return ops, nil
}

// allowed says whether a message with op may be applied over unresolved
// local changes ops (see the type's comment).
func allowed(op storage.Op, ops []storage.Op) bool {
	for _, o := range ops {
		if o == storage.OpUnblock {
			return false
		}
	}
	return len(ops) == 0 || op == storage.OpBlock
}

// ownCovered returns the local seq through which every local change has
// been met in the stream (at or before the apply loop's position).
func (t *tracker) ownCovered() uint64 {
	low := t.covered
	for _, list := range t.byKey {
		for _, c := range list {
			if c.rec.Seq > 0 && c.rec.Seq-1 < low {
				low = c.rec.Seq - 1
			}
		}
	}
	return low
}

// setApplied tells the tracker the apply loop's stream position.
func (t *tracker) setApplied(s uint64) { t.applied = s }

// unpublished counts the local changes not yet acknowledged.
func (t *tracker) unpublished() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, c := range t.queue {
		if c.state != chAcked {
			n++
		}
	}
	return n
}
