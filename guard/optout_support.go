package guard

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sendguard/sendguard/normalize"
)

// This file holds the two small guard-level services package optout needs:
// an unblock that lifts only a block of a given source, and a durable
// per-contact event counter (soft bounces).

// UnblockContactIfSource is [Guard.UnblockContact] that lifts the block on c
// only if that block's source is source (an SMS opt-in lifts an SMS
// opt-out, never an operator's or an import's block). It reports whether a
// block was removed. The look-up and the removal happen under the guard's
// write lock, so no block made in between is lost.
func (g *Guard) UnblockContactIfSource(ctx context.Context, c normalize.Contact, source string) (bool, error) {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	if g.closed.Load() {
		return false, ErrClosed
	}
	e, ok, err := g.store.Get(ctx, c)
	if err != nil {
		return false, fmt.Errorf("guard: unblock: %w", err)
	}
	if !ok || e.Source != source {
		return false, nil
	}
	return g.removeLocked(ctx, c, sourceLocal, "")
}

// maxEvents bounds the times kept per counter: a counter that needs more
// events than this in one window is not a counter this API serves.
const maxEvents = 64

// eventsMeta is the meta-space prefix of the event counters:
// guard/events/<name>/<contact key>, a version byte then big-endian
// Unix-nanosecond times, ascending.
const eventsMeta = "guard/events/"

func eventsKey(name string, c normalize.Contact) string {
	return eventsMeta + name + "/" + string(c.Key())
}

// CountEvent records an event named name (e.g. "soft-bounce") for contact c
// at time at, durably in the guard's store, and returns how many events of
// that name c has within window before the newest one (the newest
// included). Every call is one event, also at the time of one already
// recorded: the caller cannot tell a report sent again from another one with
// the same dates, and counting it again errs on the blocking side. At most
// 64 times are kept per contact and name. Counts survive restarts; [Guard.ResetEvents]
// clears them. name must not contain '/'.
func (g *Guard) CountEvent(ctx context.Context, name string, c normalize.Contact, at time.Time, window time.Duration) (int, error) {
	if name == "" || window <= 0 || c.Value == "" {
		return 0, errors.New("guard: count event: empty name, contact or window")
	}
	key := eventsKey(name, c)
	g.wmu.Lock()
	defer g.wmu.Unlock()
	if g.closed.Load() {
		return 0, ErrClosed
	}
	val, _, err := g.store.GetMeta(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("guard: count event: %w", err)
	}
	times := decodeEvents(val)
	t := at.UnixNano()
	i, _ := slices.BinarySearch(times, t)
	times = slices.Insert(times, i, t)
	newest := times[len(times)-1]
	from := 0
	for from < len(times) && newest-times[from] >= int64(window) {
		from++
	}
	times = times[from:]
	if len(times) > maxEvents {
		times = times[len(times)-maxEvents:]
	}
	if err := g.store.PutMeta(ctx, key, encodeEvents(times)); err != nil {
		return 0, fmt.Errorf("guard: count event: %w", err)
	}
	return len(times), nil
}

// ResetEvents forgets every event named name for c (see [Guard.CountEvent]).
func (g *Guard) ResetEvents(ctx context.Context, name string, c normalize.Contact) error {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	if g.closed.Load() {
		return ErrClosed
	}
	if err := g.store.DeleteMeta(ctx, eventsKey(name, c)); err != nil {
		return fmt.Errorf("guard: reset events: %w", err)
	}
	return nil
}

const eventsVersion = 1

func decodeEvents(b []byte) []int64 {
	if len(b) < 1 || b[0] != eventsVersion {
		return nil // absent, or unreadable: start again (a counter, not a block)
	}
	b = b[1:]
	out := make([]int64, 0, len(b)/8+1)
	for len(b) >= 8 {
		out = append(out, int64(binary.BigEndian.Uint64(b)))
		b = b[8:]
	}
	slices.Sort(out)
	return out
}

func encodeEvents(times []int64) []byte {
	b := make([]byte, 1, 1+8*len(times))
	b[0] = eventsVersion
	for _, t := range times {
		b = binary.BigEndian.AppendUint64(b, uint64(t))
	}
	return b
}
