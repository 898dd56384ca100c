package vendorfake

import "time"

type window struct {
	Limit
	times   []time.Time // arrivals in the last Per, ascending
	maxSeen int
	fixedAt time.Time // start of the current fixed window
	fixedN  int
}

// count adds an arrival at now and reports whether it is over the limit
// under mode, with the state to report and, if over, how long until a
// request would be accepted.
func (w *window) count(now time.Time, mode RateMode) (over bool, rs RateState, retry time.Duration) {
	cut := now.Add(-w.Per)
	i := 0
	for i < len(w.times) && !w.times[i].After(cut) {
		i++
	}
	w.times = append(w.times[:0], w.times[i:]...)
	w.times = append(w.times, now)
	w.maxSeen = max(w.maxSeen, len(w.times))
	rs.Limit = w.N
	if mode == Fixed {
		start := now.Truncate(w.Per)
		if !start.Equal(w.fixedAt) {
			w.fixedAt, w.fixedN = start, 0
		}
		w.fixedN++
		rs.Reset = start.Add(w.Per).Sub(now)
		rs.Remaining = max(w.N-w.fixedN, 0)
		return w.fixedN > w.N, rs, rs.Reset
	}
	rs.Remaining = max(w.N-len(w.times), 0)
	rs.Reset = w.times[0].Add(w.Per).Sub(now)
	if len(w.times) > w.N {
		// a new request fits once all but N-1 of the arrivals have left
		retry = w.times[len(w.times)-w.N].Add(w.Per).Sub(now)
		return true, rs, retry
	}
	return false, rs, 0
}

// admit counts an authorized request and decides whether it is answered
// 429. limited is FaultRateLimit, FaultInFlight or "". retry is the wait to
// advertise (rounded up to whole seconds, at least 1), or -1 for the
// in-flight limit. release must be called when the request is over.
func (s *Server) admit(now time.Time) (limited FaultKind, retry time.Duration, rs RateState, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	release = func() {}
	best := -1
	for _, w := range s.windows {
		over, st, r := w.count(now, s.cfg.RateMode)
		if over && limited == "" {
			limited = FaultRateLimit
		}
		if over {
			retry = max(retry, r)
		}
		if best < 0 || st.Remaining < best || (st.Remaining == best && st.Reset > rs.Reset) {
			best, rs = st.Remaining, st
		}
	}
	if s.cfg.MaxInFlight > 0 && s.inFlight >= s.cfg.MaxInFlight {
		s.busy++
		s.fired[FaultInFlight]++
		return FaultInFlight, -1, rs, release
	}
	if limited != "" {
		s.violation++
		s.fired[FaultRateLimit]++
		return limited, ceilSeconds(retry), rs, release
	}
	s.inFlight++
	s.peak = max(s.peak, s.inFlight)
	release = func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}
	rs.Reset = ceilSeconds(rs.Reset)
	return "", 0, rs, release
}

func ceilSeconds(d time.Duration) time.Duration {
	s := (d + time.Second - 1) / time.Second * time.Second
	return max(s, time.Second)
}
