package sync

import (
	"context"

	"github.com/sendguard/sendguard/storage"
)

// entryRecord is the block record that would have carried e, for a
// remote fed from the entries.
func entryRecord(e *storage.Entry) storage.Record {
	return storage.Record{
		Op:        storage.OpBlock,
		Contact:   e.Contact,
		Original:  e.Original,
		Reason:    e.Reason,
		Source:    e.Source,
		Time:      e.CreatedAt,
		CreatedAt: e.CreatedAt,
		ExpiresAt: e.ExpiresAt,
	}
}

// bootstrap feeds rs from the guard's current entries when the change log
// after its offset has been trimmed (a remote added after the trim, or
// away too long), and returns the sequence number to tail the log from.
// Every live block the remote accepts and does not list yet is pushed (or
// dead-lettered); a contact unblocked before the scan is not among the
// entries, so it is not pushed. A bootstrap cut short starts again from
// the entries; contacts acknowledged meanwhile are listed and skipped.
func (e *Engine) bootstrap(ctx context.Context, rs *remoteState, t *tally) (uint64, error) {
	// Register the consumer so that the log after the scan is kept.
	if err := e.st.SetOffset(ctx, rs.consumer, 0); err != nil {
		return 0, err
	}
	rs.log.InfoContext(ctx, "sync: offset behind the trimmed change log; feeding the remote from the entries")
	var group []storage.Record
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
		err := e.pushGroup(ctx, rs, t, group)
		group = group[:0]
		return err
	}
	seq, err := e.st.Bootstrap(ctx, func(en storage.Entry) error {
		r := entryRecord(&en)
		act, why := e.decide(rs, &r)
		switch act {
		case actReject:
			return e.deadLetter(ctx, rs, t, &r, why)
		case actPush:
			_, listed, err := rs.meta.listing(ctx, string(r.Contact.Key()))
			if err != nil || listed {
				return err // listed: the remote has it already
			}
			group = append(group, r)
			if len(group) == maxGroup {
				return flush()
			}
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return 0, err
	}
	return seq, e.st.SetOffset(ctx, rs.consumer, seq)
}

// pendingBehind counts what a bootstrap of rs would deliver: the live
// entries it accepts and does not list yet.
func (e *Engine) pendingBehind(ctx context.Context, rs *remoteState) (int, error) {
	n := 0
	_, err := e.st.Bootstrap(ctx, func(en storage.Entry) error {
		r := entryRecord(&en)
		if a, _ := e.decide(rs, &r); a != actPush {
			return nil
		}
		_, listed, err := rs.meta.listing(ctx, string(r.Contact.Key()))
		if err == nil && !listed {
			n++
		}
		return err
	})
	return n, err
}
