package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/storage"
)

// maxGroup bounds how many records one Push call is offered.
const maxGroup = 64

// action is what a remote's push does with a change-log record.
type action uint8

const (
	actSkip    action = iota // not for this remote
	actUnblock               // an unblock: stays local, noted if the remote lists the contact
	actReject                // a value the remote refuses: dead letter
	actPush                  // deliver it
)

// decide says what rs does with r, and for actReject why. It does no I/O.
func (e *Engine) decide(rs *remoteState, r *storage.Record) (action, string) {
	if !r.For(rs.consumer) {
		return actSkip, ""
	}
	switch r.Op {
	case storage.OpUnblock:
		return actUnblock, ""
	case storage.OpBlock:
	default:
		return actSkip, ""
	}
	if r.Target == "" { // a retried dead letter is pushed whatever its source
		if r.Origin == rs.consumer || r.Source == rs.name {
			return actSkip, "" // never echo a block to the remote it came from
		}
		if !e.o.mirror && e.names[r.Source] {
			return actSkip, ""
		}
	}
	ok, why := rs.r.Accepts(r.Contact)
	switch {
	case ok:
		return actPush, ""
	case why == "":
		return actSkip, ""
	}
	return actReject, why
}

// push delivers rs's change log after its offset. It returns nil once the
// log is exhausted, and an error only when ctx ends, the remote refuses
// the credentials or its endpoint is unavailable, or the store fails: a temporary remote failure is
// retried here, a permanent one dead-letters its record.
func (e *Engine) push(ctx context.Context, rs *remoteState, t *tally) error {
	off, err := e.st.Offset(ctx, rs.consumer)
	if err != nil {
		return err
	}
	saved := off
	save := func() error {
		if off <= saved {
			return nil
		}
		if err := e.st.SetOffset(ctx, rs.consumer, off); err != nil {
			return err
		}
		saved = off
		return nil
	}
	for {
		recs, err := e.st.ReadLog(ctx, off, e.o.batch)
		if errors.Is(err, guard.ErrBehindLog) {
			// The log was trimmed past the offset: start from the entries.
			if off, err = e.bootstrap(ctx, rs, t); err != nil {
				return err
			}
			saved = off
			continue
		}
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return save()
		}
		for i := 0; i < len(recs); {
			r := &recs[i]
			act, why := e.decide(rs, r)
			switch act {
			case actUnblock:
				if err := e.noteUnblock(ctx, rs, r); err != nil {
					return err
				}
			case actReject:
				if err := e.deadLetter(ctx, rs, t, r, why); err != nil {
					return err
				}
				off = r.Seq
				if err := save(); err != nil { // not dead-lettered twice after a crash
					return err
				}
			case actPush:
				live, err := e.live(ctx, r)
				if err != nil {
					return err
				}
				if !live {
					break // unblocked or expired since: nothing to deliver
				}
				if listed, err := e.stillListed(ctx, rs, r); err != nil {
					return err
				} else if listed {
					// The offset first: replayed after a crash, the
					// record must not find the mark gone and be pushed.
					off = r.Seq
					if err := save(); err != nil {
						return err
					}
					if err := e.relisted(ctx, rs, t, r); err != nil {
						return err
					}
					break
				}
				// Offer the remote the run of deliverable records that
				// starts here; it may take several at once.
				j := i + 1
				for ; j < len(recs) && j-i < maxGroup; j++ {
					if a, _ := e.decide(rs, &recs[j]); a != actPush {
						break
					}
					if live, err := e.live(ctx, &recs[j]); err != nil {
						return err
					} else if !live {
						break
					}
					if listed, err := e.stillListed(ctx, rs, &recs[j]); err != nil {
						return err
					} else if listed {
						break
					}
				}
				if err := save(); err != nil {
					return err
				}
				if err := e.pushGroup(ctx, rs, t, recs[i:j]); err != nil {
					return err
				}
				off, saved = recs[j-1].Seq, recs[j-1].Seq
				i = j
				continue
			}
			off = r.Seq
			i++
		}
		if err := save(); err != nil {
			return err
		}
	}
}

// stillListed reports whether rs is known to still list r's contact
// although it was unblocked here since the engine pushed or pulled it:
// it is marked as still listed (a local unblock), or the expiring block
// the engine pushed has lapsed. Neither vendor can unblock, so the entry
// is still there (unless an operator removed it by hand, which a complete
// full pull notices): pushing the contact again would only add a second
// entry.
func (e *Engine) stillListed(ctx context.Context, rs *remoteState, r *storage.Record) (bool, error) {
	key := string(r.Contact.Key())
	_, stale, err := rs.meta.get(ctx, metaStale+key)
	if err != nil || stale {
		return stale, err
	}
	l, listed, err := rs.meta.listing(ctx, key)
	if err != nil || !listed {
		return false, err
	}
	return !l.expiresAt.IsZero() && !l.expiresAt.After(time.Now()), nil
}

// relisted handles a block of a contact rs still lists (see stillListed)
// instead of pushing it: the remote's entry stands for the new block,
// with the new block's expiry, and the contact is no longer counted as
// still listed after an unblock.
func (e *Engine) relisted(ctx context.Context, rs *remoteState, t *tally, r *storage.Record) error {
	key := string(r.Contact.Key())
	old, present, err := rs.meta.listing(ctx, key)
	if err != nil {
		return err
	}
	l := old
	l.expiresAt = r.ExpiresAt
	if err := rs.meta.putListing(ctx, key, l, old, present); err != nil {
		return err
	}
	if err := rs.meta.clearStale(ctx, key); err != nil {
		return err
	}
	t.add(cAlreadyListed, 1)
	rs.log.LogAttrs(ctx, slog.LevelDebug, "sync: blocked again while still listed remotely; not pushed", slog.Any("contact", r.Contact))
	return nil
}

// live reports whether r's contact is still blocked locally.
func (e *Engine) live(ctx context.Context, r *storage.Record) (bool, error) {
	_, ok, err := e.st.Entry(ctx, r.Contact)
	return ok, err
}

// pushGroup delivers group (deliverable records, in log order) to rs,
// moving rs's offset past each record as it is acknowledged or
// dead-lettered. It returns nil when every record is one or the other.
func (e *Engine) pushGroup(ctx context.Context, rs *remoteState, t *tally, group []storage.Record) error {
	resend := false
	sent := time.Now() // when the records still in group were first offered
	for len(group) > 0 {
		if resend {
			t.add(cResent, 1)
		}
		acked, err := rs.r.Push(ctx, group)
		if len(acked) > len(group) {
			acked = acked[:len(group)]
		}
		if len(acked) > 0 {
			if err := e.acked(ctx, rs, group[:len(acked)], acked, sent); err != nil {
				return err
			}
			t.add(cPushed, len(acked))
			group = group[len(acked):]
			rs.resetBackoff()
			resend = false
			sent = time.Now()
		}
		if err == nil {
			if len(acked) == 0 {
				err = &RemoteError{Class: Permanent, Message: "the remote acknowledged nothing"}
			} else {
				continue
			}
		}
		if len(group) == 0 {
			return nil // an error about no record: everything was acknowledged
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		re := classify(err)
		switch re.Class {
		case Unauthorized, Unavailable:
			// About the credentials or the endpoint, not the record:
			// every record stays pending.
			return fmt.Errorf("push: %w", err)
		case Permanent:
			if err := e.deadLetter(ctx, rs, t, &group[0], err.Error()); err != nil {
				return err
			}
			if err := e.st.SetOffset(ctx, rs.consumer, group[0].Seq); err != nil {
				return err
			}
			group = group[1:]
			continue
		}
		t.add(cRetries, 1)
		e.noteFailure(rs, err)
		resend = !re.RateLimited
		if !e.sleep(ctx, e.waitFor(ctx, rs, t, re)) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("push: giving up before the deadline: %w", err)
		}
	}
	return nil
}

// acked records the delivery of recs, first offered at sent: the remote
// lists each contact now, under the id it gave (the engine's own copy),
// and the offset moves past them.
func (e *Engine) acked(ctx context.Context, rs *remoteState, recs []storage.Record, acks []Ack, sent time.Time) error {
	now := time.Now()
	for i := range recs {
		r := &recs[i]
		key := string(r.Contact.Key())
		old, present, err := rs.meta.listing(ctx, key)
		if err != nil {
			return err
		}
		l := listing{expiresAt: r.ExpiresAt, id: acks[i].ID, ours: acks[i].ID, sentAt: sent, ackedAt: now}
		if l.id == "" {
			l.id = old.id
		}
		if err := rs.meta.putListing(ctx, key, l, old, present); err != nil {
			return err
		}
		if acks[i].ID != "" {
			if err := rs.meta.put(ctx, idKey(acks[i].ID), []byte(key)); err != nil {
				return err
			}
		}
		if err := rs.meta.clearStale(ctx, key); err != nil {
			return err
		}
	}
	return e.st.SetOffset(ctx, rs.consumer, recs[len(recs)-1].Seq)
}

// deadLetter moves r to rs's dead letters. The caller moves the offset.
// why is stored redacted: it is often the vendor's own text.
func (e *Engine) deadLetter(ctx context.Context, rs *remoteState, t *tally, r *storage.Record, why string) error {
	why = e.redact(why)
	if err := e.st.AddDeadLetter(ctx, rs.consumer, *r, why); err != nil {
		return err
	}
	t.add(cDeadLettered, 1)
	rs.log.LogAttrs(ctx, slog.LevelWarn, "sync: record dead-lettered",
		slog.Uint64("seq", r.Seq), slog.Any("contact", r.Contact), slog.String("reason", why))
	return nil
}

// noteUnblock handles a local unblock for rs: neither vendor can unblock,
// so if rs lists the contact it is marked as still listed there.
func (e *Engine) noteUnblock(ctx context.Context, rs *remoteState, r *storage.Record) error {
	key := string(r.Contact.Key())
	_, listed, err := rs.meta.listing(ctx, key)
	if err != nil || !listed {
		return err
	}
	rs.log.LogAttrs(ctx, slog.LevelInfo, "sync: unblocked locally but still listed remotely", slog.Any("contact", r.Contact))
	return rs.meta.markStale(ctx, key, r.Time)
}

// pending counts the records after off that rs would deliver.
func (e *Engine) pending(ctx context.Context, rs *remoteState, off uint64) (int, error) {
	n := 0
	for {
		recs, err := e.st.ReadLog(ctx, off, 1024)
		if errors.Is(err, guard.ErrBehindLog) {
			return e.pendingBehind(ctx, rs)
		}
		if err != nil {
			return n, err
		}
		if len(recs) == 0 {
			return n, nil
		}
		for i := range recs {
			if a, _ := e.decide(rs, &recs[i]); a == actPush {
				n++
			}
		}
		off = recs[len(recs)-1].Seq
	}
}
