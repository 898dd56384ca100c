package fleet

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

// The member's durable state, in the guard's replication view under the
// consumer [Origin]:
//
//	pos           the stream's creation time, the last stream seq applied,
//	              and ownCovered (see tracker.ownCovered) at that point
//	ckpt/<seq>    checkpoints for the vendor handover: at stream seq <seq>
//	              (20 digits), the change log's last seq and ownCovered
//	stats         the figures of the last heartbeat, for the stats command
const (
	statePos   = "pos"
	stateCkpt  = "ckpt/"
	stateStats = "stats"
)

// Checkpoints are written at most every ckptEvery, and at most maxCkpts
// are kept.
const (
	ckptEvery = time.Second
	maxCkpts  = 512
)

// saveEvery bounds how long an applied position stays unsaved: a restart
// applies again (idempotently) at most that much.
const saveEvery = 50 * time.Millisecond

type position struct {
	created    time.Time
	seq        uint64
	ownCovered uint64
}

func (p position) encode() []byte {
	b := make([]byte, 0, 3*binary.MaxVarintLen64)
	b = binary.AppendVarint(b, nanos(p.created))
	b = binary.AppendUvarint(b, p.seq)
	return binary.AppendUvarint(b, p.ownCovered)
}

func decodePosition(b []byte) (position, bool) {
	var p position
	c, n := binary.Varint(b)
	if n <= 0 {
		return p, false
	}
	b = b[n:]
	s, n := binary.Uvarint(b)
	if n <= 0 {
		return p, false
	}
	b = b[n:]
	o, n := binary.Uvarint(b)
	if n <= 0 || n != len(b) {
		return p, false
	}
	return position{created: fromNanos(c), seq: s, ownCovered: o}, true
}

// checkpoint: after applying the stream through a seq, every change in
// the stream up to it is in the change log at or below last, and every
// local change at or below own is in the stream at or below it.
type checkpoint struct{ stream, last, own uint64 }

func ckptKey(seq uint64) string { return fmt.Sprintf("%s%020d", stateCkpt, seq) }

// applyLoop applies the stream's changes until ctx ends, resuming after
// a failure from the last saved position.
func (n *node) applyLoop(ctx context.Context) error {
	bo := newBackoff()
	for {
		err := n.consume(ctx, bo)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, guard.ErrClosed) {
			return err
		}
		n.warn("fleet: applying the stream; resuming", err)
		if !bo.sleep(ctx) {
			return nil
		}
	}
}

func (n *node) loadPos(ctx context.Context) (position, error) {
	b, ok, err := n.rep.State(ctx, Origin, statePos)
	if err != nil || !ok {
		return position{}, err
	}
	p, ok := decodePosition(b)
	if !ok {
		n.log.Warn("fleet: saved stream position unreadable; replaying the stream")
		return position{}, nil
	}
	return p, nil
}

// consume reads the stream from the saved position with an ordered
// consumer and applies each change.
func (n *node) consume(ctx context.Context, bo *backoff) error {
	pos, err := n.loadPos(ctx)
	if err != nil {
		return err
	}
	ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
	info, err := n.stream.Info(ictx)
	cancel()
	if err != nil {
		return err
	}
	st := info.State
	switch {
	case pos.seq > 0 && (!pos.created.Equal(info.Created.UTC()) || pos.seq > st.LastSeq):
		// Not the stream this member applied from (deleted and made
		// again, or purged): replay it all, and publish this member's
		// entries to it, since its earlier changes went to the old one.
		n.log.Warn("fleet: the stream is not the one this member last applied; replaying it and republishing the local blocks")
		pos = position{}
		n.tr.mu.Lock()
		n.tr.reseed = true
		n.tr.mu.Unlock()
	case pos.seq > 0 && pos.seq+1 < st.FirstSeq:
		n.log.Warn("fleet: changes this member had not applied were dropped by the stream's limits; resuming at its first message",
			slog.Uint64("applied", pos.seq), slog.Uint64("first", st.FirstSeq))
	}
	pos.created = info.Created.UTC()
	n.tr.mu.Lock()
	n.tr.setApplied(pos.seq)
	n.tr.mu.Unlock()
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if pos.seq > 0 {
		cfg = jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: pos.seq + 1}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	cons, err := n.js.OrderedConsumer(cctx, n.cfg.Stream, cfg)
	cancel()
	if err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		return err
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	n.setApplied(pos.seq, st.LastSeq-min(st.LastSeq, pos.seq))

	lastSave, lastCkpt, unsaved := time.Now(), time.Time{}, 0
	var ckptAt uint64
	save := func(idle bool) error {
		// Read the log first: ownCovered is then as far as the local
		// changes allow, past the changes just applied.
		n.tr.mu.Lock()
		err := n.tr.catchUpLocked(ctx)
		pos.ownCovered = n.tr.ownCovered()
		n.tr.mu.Unlock()
		if err != nil {
			return err
		}
		if err := n.rep.SetState(ctx, Origin, statePos, pos.encode()); err != nil {
			return err
		}
		lastSave, unsaved = time.Now(), 0
		// A checkpoint every ckptEvery in a burst, and one where the
		// stream goes idle: the vendor handover needs one at the end.
		if pos.seq != ckptAt && (idle || time.Since(lastCkpt) >= ckptEvery) {
			if err := n.writeCheckpoint(ctx, pos); err != nil {
				return err
			}
			lastCkpt, ckptAt = time.Now(), pos.seq
		}
		return nil
	}
	for {
		var msg jetstream.Msg
		if unsaved > 0 || pos.seq != ckptAt {
			// Something to save, or no checkpoint here yet: wait a
			// little for more first, so that a trickle of messages does
			// not cost a write each, and save when the stream is idle.
			msg, err = it.Next(jetstream.NextMaxWait(saveEvery))
			if errors.Is(err, nats.ErrTimeout) {
				if err := save(true); err != nil {
					return err
				}
				continue
			}
		} else {
			msg, err = it.Next()
		}
		if err != nil {
			if unsaved > 0 || pos.seq != ckptAt {
				// Stopping: save, with a checkpoint, even though ctx
				// has ended (a vendor handover may start from it).
				sctx := ctx
				ctx = context.WithoutCancel(ctx)
				err = errors.Join(err, save(true))
				ctx = sctx
			}
			return err
		}
		meta, err := msg.Metadata()
		if err != nil {
			return err
		}
		seq := meta.Sequence.Stream
		if err := n.handle(ctx, msg, seq); err != nil {
			return err
		}
		bo.reset()
		pos.seq = seq
		unsaved++
		n.tr.mu.Lock()
		n.tr.setApplied(seq)
		n.tr.mu.Unlock()
		n.setApplied(seq, meta.NumPending)
		if unsaved >= 256 || time.Since(lastSave) >= saveEvery {
			if err := save(false); err != nil {
				return err
			}
		}
	}
}

func (n *node) setApplied(seq, lag uint64) {
	n.stMu.Lock()
	n.st.Applied, n.st.Lag = seq, lag
	n.stMu.Unlock()
}

// handle applies one change message at stream seq s (see tracker).
func (n *node) handle(ctx context.Context, msg jetstream.Msg, s uint64) error {
	member, rec, err := decodeChange(msg.Data())
	if err != nil {
		n.log.Warn("fleet: change message skipped", slog.Uint64("stream_seq", s), slog.String("err", err.Error()))
		return nil
	}
	id := ""
	if member == n.cfg.Member {
		id = msg.Headers().Get(jetstream.MsgIDHeader)
	}
	key := string(rec.Contact.Key())
	for {
		n.tr.mu.Lock()
		_, wait := n.tr.pendingOps(key, s, id, true)
		n.tr.mu.Unlock()
		if wait == nil {
			break
		}

		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	rec.Seq, rec.Origin = 0, Origin
	var cerr error
	changed, err := n.rep.ApplyIf(ctx, rec, func() bool {
		n.tr.mu.Lock()
		defer n.tr.mu.Unlock()
		// Queue the local changes committed up to now: they come after
		// this message in the stream.
		if cerr = n.tr.catchUpLocked(ctx); cerr != nil {
			return false
		}
		ops, _ := n.tr.pendingOps(key, s, id, false)
		return allowed(rec.Op, ops)
	})
	if cerr != nil {
		return cerr
	}
	var inv *normalize.InvalidError
	if errors.As(err, &inv) || errors.Is(err, storage.ErrInvalid) {
		// A contact this guard's normalizer reads otherwise (members
		// must share region and provider folding), or a bad record.
		n.log.Warn("fleet: change not applicable here; skipped", slog.Uint64("stream_seq", s),
			slog.Any("contact", rec.Contact), slog.String("err", err.Error()))
		return nil
	}
	if err != nil {
		return err
	}
	if changed && member != n.cfg.Member {
		n.stMu.Lock()
		n.st.AppliedChanges++
		n.stMu.Unlock()
	}
	return nil
}

// writeCheckpoint records a checkpoint at pos and drops the oldest beyond
// maxCkpts.
func (n *node) writeCheckpoint(ctx context.Context, pos position) error {
	last, err := n.rep.LastSeq(ctx)
	if err != nil {
		return err
	}
	v := binary.AppendUvarint(nil, last)
	v = binary.AppendUvarint(v, pos.ownCovered)
	if err := n.rep.SetState(ctx, Origin, ckptKey(pos.seq), v); err != nil {
		return err
	}
	n.ckpts++
	if n.ckpts%64 != 0 {
		return nil
	}
	var keys []string
	if err := n.rep.ScanState(ctx, Origin, stateCkpt, func(k string, _ []byte) error {
		keys = append(keys, k)
		return nil
	}); err != nil {
		return err
	}
	for len(keys) > maxCkpts {
		if err := n.rep.DeleteState(ctx, Origin, keys[0]); err != nil {
			return err
		}
		keys = keys[1:]
	}
	return nil
}

// checkpoints returns the stored checkpoints, oldest first.
func (m *Member) checkpoints(ctx context.Context) ([]checkpoint, error) {
	var out []checkpoint
	err := m.rep.ScanState(ctx, Origin, stateCkpt, func(k string, v []byte) error {
		var s uint64
		if _, err := fmt.Sscanf(k[len(stateCkpt):], "%d", &s); err != nil {
			return nil
		}
		last, a := binary.Uvarint(v)
		if a <= 0 {
			return nil
		}
		own, b := binary.Uvarint(v[a:])
		if b <= 0 {
			return nil
		}
		out = append(out, checkpoint{stream: s, last: last, own: own})
		return nil
	})
	return out, err
}
