package fleet

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sendguard/sendguard/guard"
)

// memberTTL is how long a member's heartbeat stays in "<Stream>_MEMBERS":
// the members seen are those that beat within it.
const memberTTL = 30 * time.Second

// heartbeatEvery is how often a member beats and saves its figures.
const heartbeatEvery = 2 * time.Second

// Stats are a member's fleet figures.
type Stats struct {
	Member         string    `json:"member"`
	Stream         string    `json:"stream"`
	Applied        uint64    `json:"applied"`         // the last stream seq applied
	Lag            uint64    `json:"lag"`             // messages in the stream after Applied, as last seen
	Published      uint64    `json:"published"`       // local change-log seq through which local changes are in the stream
	Unpublished    int       `json:"unpublished"`     // local changes read and not yet acknowledged by the stream
	AppliedChanges uint64    `json:"applied_changes"` // other members' changes that changed this guard, since Run started
	Connected      bool      `json:"connected"`       // the last publish or heartbeat reached the server
	Members        []string  `json:"members"`         // members whose heartbeat is less than 30s old
	LeaseHolder    string    `json:"lease_holder"`    // the member running the vendor sync, "" if none
	Holder         bool      `json:"holder"`          // this member holds the vendor lease
	At             time.Time `json:"at"`              // when these figures were taken
}

// Stats returns the member's figures as of its last heartbeat (every
// 2 s while Run runs), with the position and lag as of now.
func (m *Member) Stats() Stats {
	m.stMu.Lock()
	st := m.st
	st.Members = slices.Clone(m.st.Members)
	m.stMu.Unlock()
	st.Member, st.Stream = m.cfg.Member, m.cfg.Stream
	st.Unpublished = m.tr.unpublished()
	return st
}

// ReadStats returns the figures a member running on rep's guard saved at
// its last heartbeat, and false if none ever ran there. It needs no
// server: it is what the stats command shows.
func ReadStats(ctx context.Context, rep *guard.Replication) (Stats, bool, error) {
	b, ok, err := rep.State(ctx, Origin, stateStats)
	if err != nil || !ok {
		return Stats{}, false, err
	}
	var st Stats
	if err := json.Unmarshal(b, &st); err != nil {
		return Stats{}, false, nil
	}
	return st, true, nil
}

type heartbeat struct {
	Applied uint64    `json:"applied"`
	Lag     uint64    `json:"lag"`
	Holder  bool      `json:"holder"`
	At      time.Time `json:"at"`
}

// heartbeatLoop writes the member's heartbeat, reads who else beats and
// who holds the lease, and saves the figures locally, every
// heartbeatEvery until ctx ends.
func (n *node) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	for {
		n.beat(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (n *node) beat(ctx context.Context) {
	st := n.Stats()
	hb, _ := json.Marshal(heartbeat{Applied: st.Applied, Lag: st.Lag, Holder: st.Holder, At: time.Now().UTC()})
	bctx, cancel := context.WithTimeout(ctx, heartbeatEvery)
	defer cancel()
	_, err := n.members.Put(bctx, n.cfg.Member, hb)
	var members []string
	holder := ""
	if err == nil {
		var keys []string
		keys, err = n.members.Keys(bctx)
		if err == nil || err == jetstream.ErrNoKeysFound {
			members, err = keys, nil
		}
	}
	if err == nil {
		e, gerr := n.lease.Get(bctx, leaseKey)
		switch {
		case gerr == nil:
			holder = string(e.Value())
		case gerr == jetstream.ErrKeyNotFound || strings.Contains(gerr.Error(), "deleted"):
		default:
			err = gerr
		}
	}
	n.stMu.Lock()
	if err == nil {
		slices.Sort(members)
		n.st.Members, n.st.LeaseHolder, n.st.Connected = members, holder, true
	} else {
		n.st.Connected = false
	}
	n.st.At = time.Now().UTC()
	n.stMu.Unlock()
	if b, jerr := json.Marshal(n.Stats()); jerr == nil {
		_ = n.rep.SetState(context.WithoutCancel(ctx), Origin, stateStats, b)
	}
}
