package sync

import (
	"context"
	"time"
)

// Counts count what the engine did with one remote: in one pass
// ([RemoteReport]) or since the engine was made ([RemoteStats]).
type Counts struct {
	// Pushed is the number of records the remote acknowledged.
	Pushed int
	// Pulled is the number of new blocks applied from the remote's list.
	Pulled int
	// SkippedMasked is the number of remote entries whose contact was
	// masked and not one the engine pushed: they can never become keys.
	// Each is counted once.
	SkippedMasked int
	// SkippedUnblocked is the number of remote entries not applied because
	// the contact was unblocked locally after the remote listed it (or its
	// pushed block expired).
	SkippedUnblocked int
	// Invalid is the number of remote entries whose value is not a contact.
	// This is intended even for values a vendor documents, such as
	// Ocamba's example "+1234567890" (not a possible US number): the guard
	// refuses invalid input, so such a value can never be a recipient and
	// there is nothing to block.
	Invalid int
	// DeadLettered is the number of records moved to the dead letters: the
	// remote refused them for good, or does not accept the value.
	DeadLettered int
	// Duplicates is the number of remote entries found for a contact the
	// remote already lists under another id: the trace of at-least-once
	// delivery (a push retried after the remote had in fact received it).
	Duplicates int
	// Resent is the number of push attempts made after a failure that the
	// remote may have received (not a 429): an upper bound on the
	// duplicate entries the engine may have caused.
	Resent int
	// Retries is the number of failed requests that were retried.
	Retries int
	// AlreadyListed is the number of block records not pushed because the
	// remote still lists the contact from before a local unblock (or the
	// lapse of a block the engine pushed): neither vendor can unblock, so
	// pushing again would only add a second entry.
	AlreadyListed int
	// WaitsCapped is the number of waits before a retry that were cut to
	// the maximum ([WithMaxWait]) because the remote asked for more
	// (Retry-After).
	WaitsCapped int
}

// Report is what [Engine.SyncOnce] did.
type Report struct {
	Remotes []RemoteReport // one per remote, in the order given to New
}

// Pending returns the number of records still to deliver, over all remotes.
func (r Report) Pending() int {
	n := 0
	for _, rr := range r.Remotes {
		n += rr.Pending
	}
	return n
}

// RemoteReport is what one pass did with one remote.
type RemoteReport struct {
	Remote string
	Counts
	// Pending is the number of records still to deliver to the remote
	// after the pass: block records after its offset that it accepts.
	Pending int
	// Err is why the pass stopped early, if it did: a context error when
	// ctx ended, an error wrapping [ErrUnauthorized], a store failure, or a
	// pull that kept failing.
	Err error
}

// RemoteStats describe one remote's sync.
type RemoteStats struct {
	Remote string
	// Counts since the engine was made.
	Counts
	// Offset is the last change-log sequence number handled for the
	// remote (delivered, dead-lettered or not for it); LastSeq is the
	// log's last; Lag is LastSeq - Offset.
	Offset, LastSeq, Lag uint64
	// Pending is the number of records still to deliver: block records
	// after Offset that the remote accepts.
	Pending int
	// DeadLetters is the number of the remote's dead letters in the store.
	DeadLetters int
	// StillListed is the number of contacts unblocked locally (or whose
	// pushed block expired) that the remote still lists. Neither vendor
	// documents an unblock endpoint: an operator removes them by hand.
	StillListed int
	// Requests and RateLimited are the remote client's counters, if the
	// remote reports them ([StatsReporter]).
	Requests, RateLimited uint64
	// LastSuccess is when the last pass completed; zero if none has.
	LastSuccess time.Time
	// LastError is the last failure's text (never a token) and
	// LastErrorAt its time; empty if none.
	LastError   string
	LastErrorAt time.Time
}

// Stats returns the state of every remote, in the order given to [New].
// It reads the store: the remote's unsent part of the change log, its dead
// letters and its marks, so its cost grows with the backlog.
func (e *Engine) Stats(ctx context.Context) ([]RemoteStats, error) {
	last, err := e.st.LastSeq(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]RemoteStats, 0, len(e.remotes))
	for _, rs := range e.remotes {
		s := RemoteStats{Remote: rs.name, LastSeq: last, Counts: rs.totalCounts()}
		if s.Offset, err = e.st.Offset(ctx, rs.consumer); err != nil {
			return nil, err
		}
		if last > s.Offset {
			s.Lag = last - s.Offset
		}
		if s.Pending, err = e.pending(ctx, rs, s.Offset); err != nil {
			return nil, err
		}
		dl, err := e.st.DeadLetters(ctx, rs.consumer)
		if err != nil {
			return nil, err
		}
		s.DeadLetters = len(dl)
		if s.StillListed, err = rs.meta.count(ctx, metaStale); err != nil {
			return nil, err
		}
		if sr, ok := rs.r.(StatsReporter); ok {
			rq := sr.RequestStats()
			s.Requests, s.RateLimited = rq.Requests, rq.RateLimited
		}
		rs.mu.Lock()
		s.LastSuccess, s.LastError, s.LastErrorAt = rs.lastSuccess, rs.lastError, rs.lastErrorAt
		rs.mu.Unlock()
		out = append(out, s)
	}
	return out, nil
}

// counter indexes a tally.
type counter int

const (
	cPushed counter = iota
	cPulled
	cSkippedMasked
	cSkippedUnblocked
	cInvalid
	cDeadLettered
	cDuplicates
	cResent
	cRetries
	cWaitsCapped
	cAlreadyListed
	numCounters
)

// tally counts one pass and adds to the remote's totals as it goes, so
// that Stats is current during a long pass.
type tally struct {
	rs *remoteState
	n  [numCounters]int
}

func (t *tally) add(c counter, n int) {
	t.n[c] += n
	t.rs.totals[c].Add(int64(n))
}

func (t *tally) counts() Counts { return makeCounts(func(c counter) int { return t.n[c] }) }

func (rs *remoteState) totalCounts() Counts {
	return makeCounts(func(c counter) int { return int(rs.totals[c].Load()) })
}

func makeCounts(get func(counter) int) Counts {
	return Counts{
		Pushed:           get(cPushed),
		Pulled:           get(cPulled),
		SkippedMasked:    get(cSkippedMasked),
		SkippedUnblocked: get(cSkippedUnblocked),
		Invalid:          get(cInvalid),
		DeadLettered:     get(cDeadLettered),
		Duplicates:       get(cDuplicates),
		Resent:           get(cResent),
		Retries:          get(cRetries),
		WaitsCapped:      get(cWaitsCapped),
		AlreadyListed:    get(cAlreadyListed),
	}
}
