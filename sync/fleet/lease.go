package fleet

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	blocksync "github.com/sendguard/sendguard/sync"
)

// leaseKey is the vendor lease's key in "<Stream>_LEASE"; its value is
// the holder's member name.
const leaseKey = "vendors"

// The vendor state in "<Stream>_VENDORS", copied by the lease holder every
// LeaseTTL/2 and when it releases the lease, per remote:
//
//	<remote>.pos            the stream seq through which every change has
//	                        been pushed to the remote (8 bytes, big endian)
//	<remote>.s.<key>        one key of the remote's consumer state, the key
//	                        base64url-encoded
func posKey(remote string) string      { return remote + ".pos" }
func statePrefix(remote string) string { return remote + ".s." }

// leaseLoop contends for the vendor lease and runs the vendor sync while
// it holds it, until ctx ends; then it stops the sync, copies its state
// and releases the lease.
func (n *node) leaseLoop(ctx context.Context) {
	ttl := n.cfg.LeaseTTL
	poll := ttl / 5
	var (
		holding     bool
		rev         uint64
		renewed     time.Time
		stopVendors func()
		lastMirror  time.Time
		mirrored    map[string]uint64
	)
	release := func(rctx context.Context, drop bool) {
		if stopVendors != nil {
			stopVendors()
			stopVendors = nil
		}
		if drop {
			// Still the holder: leave the final state for the next one.
			// (A holder that lost the lease writes nothing more: the next
			// holder may have started from the bucket already.)
			if err := n.mirror(rctx, mirrored); err != nil {
				n.warn("fleet: copying the vendor state at release", err)
			}
			_ = n.lease.Delete(rctx, leaseKey, jetstream.LastRevision(rev))
		}
		holding = false
		n.setHolder(false)
		n.dropVendorOffsets(context.WithoutCancel(ctx))
		n.log.Info("fleet: vendor lease released")
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if holding {
			lctx, cancel := context.WithTimeout(ctx, poll)
			r, err := n.lease.Update(lctx, leaseKey, []byte(n.cfg.Member), rev)
			cancel()
			switch {
			case err == nil:
				rev, renewed = r, time.Now()
			case ctx.Err() != nil:
			case time.Since(renewed) >= ttl/2 || isConflict(err):
				// Someone else may hold it by now (or soon): stop first.
				n.warn("fleet: vendor lease lost; stopping the vendor sync", err)
				release(context.WithoutCancel(ctx), false)
			}
			if holding && time.Since(lastMirror) >= ttl/2 {
				if err := n.mirror(ctx, mirrored); err != nil && ctx.Err() == nil {
					n.warn("fleet: copying the vendor state", err)
				}
				lastMirror = time.Now()
			}
		} else {
			lctx, cancel := context.WithTimeout(ctx, poll)
			r, err := n.lease.Create(lctx, leaseKey, []byte(n.cfg.Member))
			cancel()
			if err == nil {
				rev, renewed, holding = r, time.Now(), true
				n.log.Info("fleet: vendor lease taken")
				n.setHolder(true)
				var err error
				mirrored, err = n.takeOver(ctx)
				if err != nil {
					if ctx.Err() == nil {
						n.warn("fleet: taking over the vendor state; giving the lease back", err)
					}
					_ = n.lease.Delete(context.WithoutCancel(ctx), leaseKey, jetstream.LastRevision(rev))
					holding = false
					n.setHolder(false)
				} else {
					stopVendors = n.startVendors(ctx)
					lastMirror = time.Now()
				}
			}
		}
		select {
		case <-ctx.Done():
			if holding {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				// The apply loop's last checkpoint first: the copy's
				// position is made from it.
				select {
				case <-n.applyDone:
				case <-rctx.Done():
				}
				release(rctx, true)
				cancel()
			}
			return
		case <-t.C:
		}
	}
}

func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return true
	}
	return errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyExists)
}

func (n *node) setHolder(on bool) {
	n.stMu.Lock()
	n.st.Holder = on
	if on {
		n.st.LeaseHolder = n.cfg.Member
	} else if n.st.LeaseHolder == n.cfg.Member {
		n.st.LeaseHolder = ""
	}
	n.stMu.Unlock()
}

// startVendors runs the vendor sync until the returned stop is called;
// stop waits for it to return. A sync that fails is started again after a
// pause.
func (n *node) startVendors(ctx context.Context) (stop func()) {
	vctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			err := n.cfg.Vendors.Run(vctx)
			if vctx.Err() != nil {
				return
			}
			if err != nil {
				n.warn("fleet: vendor sync failed; restarting it", err)
			}
			select {
			case <-vctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}()
	return func() { cancel(); <-done }
}

// takeOver prepares the local vendor state of every remote before this
// member runs the vendor sync: if a holder left state in the bucket, the
// local consumer of the remote is replaced by it — its state keys copied,
// its offset set to the local change-log position from which every change
// the last holder had not pushed is still ahead (see checkpoint), its dead
// letters kept. A remote with no state in the bucket keeps its local state
// (the first holder). It returns what the bucket holds, for mirror.
func (n *node) takeOver(ctx context.Context) (map[string]uint64, error) {
	mirrored := make(map[string]uint64)
	ckpts, err := n.checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	for _, remote := range n.cfg.Vendors.Remotes {
		consumer := blocksync.Consumer(remote)
		e, err := n.vendors.Get(ctx, posKey(remote))
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(e.Value()) != 8 {
			continue
		}
		pushed := binary.BigEndian.Uint64(e.Value())
		// The newest checkpoint at or before pushed: the changes after
		// it in the stream, and the local changes after own, are after
		// own in the log.
		var off uint64
		found := false
		for _, c := range ckpts {
			if c.stream <= pushed {
				off, found = c.own, true
			}
		}
		if !found {
			n.log.Warn("fleet: no checkpoint at or before the last holder's vendor position; pushing the retained change log again (at least once)",
				slog.String("remote", remote), slog.Uint64("pushed_through", pushed))
		}
		dead, err := n.rep.DeadLetters(ctx, consumer)
		if err != nil {
			return nil, err
		}
		if err := n.rep.Forget(ctx, consumer); err != nil {
			return nil, err
		}
		if err := n.rep.SetOffset(ctx, consumer, off); err != nil {
			return nil, err
		}
		for _, d := range dead {
			if err := n.rep.AddDeadLetter(ctx, consumer, d.Record, d.Reason); err != nil {
				return nil, err
			}
		}
		w, err := n.vendors.Watch(ctx, statePrefix(remote)+">", jetstream.IgnoreDeletes())
		if err != nil {
			return nil, err
		}
		for ent := range w.Updates() {
			if ent == nil {
				break
			}
			k, derr := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(ent.Key(), statePrefix(remote)))
			if derr != nil {
				continue
			}
			if err := n.rep.SetState(ctx, consumer, string(k), ent.Value()); err != nil {
				_ = w.Stop()
				return nil, err
			}
			mirrored[ent.Key()] = hashOf(ent.Value())
		}
		_ = w.Stop()
		n.log.Info("fleet: vendor state taken over", slog.String("remote", remote), slog.Uint64("offset", off))
	}
	return mirrored, nil
}

func hashOf(b []byte) uint64 {
	h := fnv.New64a()
	_, _ = h.Write(b)
	return h.Sum64() | 1 // never 0
}

// mirror copies the holder's vendor state to the bucket: the state keys
// that changed since the last copy (mirrored, updated in place), the keys
// gone, and the stream position through which every change is pushed.
func (n *node) mirror(ctx context.Context, mirrored map[string]uint64) error {
	if mirrored == nil {
		return nil
	}
	ckpts, err := n.checkpoints(ctx)
	if err != nil {
		return err
	}
	for _, remote := range n.cfg.Vendors.Remotes {
		consumer := blocksync.Consumer(remote)
		prefix := statePrefix(remote)
		seen := make(map[string]bool)
		err := n.rep.ScanState(ctx, consumer, "", func(k string, v []byte) error {
			key := prefix + base64.RawURLEncoding.EncodeToString([]byte(k))
			seen[key] = true
			h := hashOf(v)
			if mirrored[key] == h {
				return nil
			}
			if _, err := n.vendors.Put(ctx, key, v); err != nil {
				return err
			}
			mirrored[key] = h
			return nil
		})
		if err != nil {
			return err
		}
		for key := range mirrored {
			if strings.HasPrefix(key, prefix) && !seen[key] {
				if err := n.vendors.Delete(ctx, key); err != nil {
					return err
				}
				delete(mirrored, key)
			}
		}
		off, err := n.rep.Offset(ctx, consumer)
		if err != nil {
			return err
		}
		// The newest checkpoint whose log position the remote's offset
		// has passed: every change in the stream up to it is pushed.
		var pushed uint64
		for _, c := range ckpts {
			if c.last <= off {
				pushed = c.stream
			}
		}
		if pushed == 0 {
			continue
		}
		var cur uint64
		if e, err := n.vendors.Get(ctx, posKey(remote)); err == nil && len(e.Value()) == 8 {
			cur = binary.BigEndian.Uint64(e.Value())
		}
		if pushed > cur {
			if _, err := n.vendors.Put(ctx, posKey(remote), binary.BigEndian.AppendUint64(nil, pushed)); err != nil {
				return err
			}
		}
	}
	return nil
}

// dropVendorOffsets unregisters the remotes' local consumers after the
// vendor sync stopped here, so that a member that no longer runs it does
// not hold its change log back: their state is in the bucket, and a
// later takeover starts from there. A remote whose position is not in the
// bucket (nothing to start from) keeps its local state. Dead letters are
// kept.
func (n *node) dropVendorOffsets(ctx context.Context) {
	for _, remote := range n.cfg.Vendors.Remotes {
		gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := n.vendors.Get(gctx, posKey(remote))
		cancel()
		if err != nil {
			continue
		}
		consumer := blocksync.Consumer(remote)
		dead, err := n.rep.DeadLetters(ctx, consumer)
		if err != nil {
			n.warn("fleet: dropping the local vendor offset", err)
			continue
		}
		if err := n.rep.Forget(ctx, consumer); err != nil {
			n.warn("fleet: dropping the local vendor offset", err)
			continue
		}
		for _, d := range dead {
			if err := n.rep.AddDeadLetter(ctx, consumer, d.Record, d.Reason); err != nil {
				n.warn("fleet: keeping a dead letter", err)
			}
		}
	}
}
