package fleet

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sendguard/sendguard/guard"
)

// publishWindow bounds the changes in flight at once.
const publishWindow = 256

// publishTimeout bounds the wait for a change's acknowledgement; the
// change is then sent again (same Nats-Msg-Id).
const publishTimeout = 5 * time.Second

// commitEvery bounds how often the publisher moves its consumer offset
// when it only passes over applied changes (which it does not publish).
const commitEvery = 200 * time.Millisecond

// publishLoop publishes the guard's local changes, in log order, each once
// it has committed locally, and moves the member's consumer offset past
// them as the stream acknowledges them — and past the applied changes it
// skips, so that the member never holds the change log back for long.
func (n *node) publishLoop(ctx context.Context) error {
	bo := newBackoff()
	committed, _ := n.rep.Offset(ctx, Origin)
	n.stMu.Lock()
	n.st.Published = committed
	n.stMu.Unlock()
	var lastCommit time.Time
	commit := func(through uint64, force bool) error {
		if through <= committed || (!force && time.Since(lastCommit) < commitEvery) {
			return nil
		}
		if err := n.rep.SetOffset(ctx, Origin, through); err != nil {
			return err
		}
		committed, lastCommit = through, time.Now()
		n.stMu.Lock()
		n.st.Published = through
		n.stMu.Unlock()
		return nil
	}
	for {
		changes := n.rep.Changes()
		n.tr.mu.Lock()
		err := n.tr.catchUpLocked(ctx)
		batch := n.tr.window(publishWindow)
		n.tr.mu.Unlock()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, guard.ErrClosed) {
				return err
			}
			n.warn("fleet: reading the change log", err)
			if !bo.sleep(ctx) {
				return nil
			}
			continue
		}
		ok := true
		if len(batch) > 0 {
			ok = n.publish(ctx, batch)
		}
		n.tr.mu.Lock()
		through := n.tr.publishedThrough()
		n.tr.mu.Unlock()
		if err := commit(through, len(batch) > 0); err != nil {
			if errors.Is(err, guard.ErrClosed) {
				return err
			}
			if ctx.Err() == nil {
				n.warn("fleet: saving the publish offset", err)
			}
		}
		if !ok {
			if !bo.sleep(ctx) {
				return nil
			}
			continue
		}
		bo.reset()
		if len(batch) > 0 {
			continue
		}
		var tick <-chan time.Time
		var tm *time.Timer
		if through > committed {
			tm = time.NewTimer(commitEvery)
			tick = tm.C
		}
		select {
		case <-ctx.Done():
			_ = commit(through, true)
			return nil
		case <-changes:
		case <-tick:
			if err := commit(through, true); errors.Is(err, guard.ErrClosed) {
				return err
			}
		}
		if tm != nil {
			tm.Stop()
		}
	}
}

// publish sends batch, in order, and waits for the acknowledgements. It
// reports whether every change was acknowledged; those that were not stay
// queued (as sent: they may be in the stream) and are sent again with the
// same Nats-Msg-Id, so the stream keeps one copy.
func (n *node) publish(ctx context.Context, batch []*change) bool {
	futs := make([]jetstream.PubAckFuture, 0, len(batch))
	ok := true
	subject := n.subj + n.cfg.Member
	for _, c := range batch {
		data, err := encodeChange(n.cfg.Member, &c.rec)
		if err != nil { // not for a record the store wrote
			n.warn("fleet: encoding a change", err)
			ok = false
			break
		}
		msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
		f, err := n.js.PublishMsgAsync(msg, jetstream.WithMsgID(c.id), jetstream.WithExpectStream(n.cfg.Stream))
		if err != nil {
			n.noteDown(err)
			ok = false
			break
		}
		futs = append(futs, f)
	}
	for i, f := range futs {
		select {
		case ack := <-f.Ok():
			n.tr.ack(batch[i], ack.Sequence)
		case err := <-f.Err():
			if ok {
				n.noteDown(err)
			}
			ok = false
		case <-ctx.Done():
			return false
		}
	}
	if ok {
		n.noteUp()
	}
	return ok
}

// noteDown records that NATS failed, and logs it once per outage.
func (n *node) noteDown(err error) {
	n.stMu.Lock()
	was := n.st.Connected
	n.st.Connected = false
	n.stMu.Unlock()
	if was {
		n.warn("fleet: cannot publish; local changes wait and are published in order when NATS is back", err)
	}
}

func (n *node) noteUp() {
	n.stMu.Lock()
	n.st.Connected = true
	n.stMu.Unlock()
}
