package vendorfake

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// FaultKind names a fault, as recorded in [Request.Fault].
type FaultKind string

// The faults a [Server] can inject.
const (
	FaultServerError FaultKind = "server_error" // the vendor's 5xx answer
	FaultSlow        FaultKind = "slow"         // the answer is delayed
	FaultReset       FaultKind = "reset"        // connection closed, no answer (see Faults.Reset)
	FaultTruncated   FaultKind = "truncated"    // a 2xx whose body is cut short, then the connection dropped
	FaultMalformed   FaultKind = "malformed"    // a 2xx whose body is not JSON
	FaultSchema      FaultKind = "schema"       // a 2xx whose JSON breaks the documented schema
	FaultRateLimit   FaultKind = "rate_limit"   // 429: a rate window was full (not injected: enforced)
	FaultInFlight    FaultKind = "in_flight"    // 429: too many requests in flight (enforced)
)

// Fault says when a fault fires: on each of the Next eligible requests
// first, then on each eligible request with probability Prob (drawn from
// the seeded generator of [Faults]).
type Fault struct {
	Prob float64
	Next int
}

// Faults configures fault injection. The zero Faults injects nothing.
//
// Faults are drawn, in this order, for each request that was authorized
// and not rate limited: Reset, then (if not reset) ServerError, then Slow
// (which combines with the others); after the handler, for a 2xx answer
// only: Truncated, then Malformed, then Schema. A Next count is spent only
// on requests the fault applies to.
type Faults struct {
	// Seed seeds the generator behind every Prob; the same seed and the
	// same sequence of requests give the same faults.
	Seed uint64
	// Method, if set ("GET", "POST"), limits faults to requests with that
	// method.
	Method string

	ServerError Fault
	Slow        Fault
	// Reset closes the connection without a byte of answer. Note that
	// net/http's Transport replays an idempotent request (GET) once, by
	// itself, when a connection it reused closes that way: the fake then
	// sees a second request, and the client may never see the reset.
	Reset     Fault
	Truncated Fault
	Malformed Fault
	Schema    Fault

	// ServerErrorStatus is the status of a ServerError fault. The default
	// value is 500.
	ServerErrorStatus int
	// SlowDelay is how long a Slow fault delays the answer. The default
	// value is 10s.
	SlowDelay time.Duration
	// Applied is the probability that a request hit by ServerError or Reset
	// was nonetheless carried out (the vendor did the work; the answer was
	// lost), the case that turns a retry into a duplicate. The default value
	// is 0: never carried out.
	Applied float64
	// EchoAuthorization makes a ServerError fault's answer echo the
	// request's Authorization header, token included, in its message, as
	// a misconfigured gateway or a chatty vendor does: the client must
	// never store or show it.
	EchoAuthorization bool
}

// SetFaults replaces the fault configuration and reseeds its generator.
func (s *Server) SetFaults(f Faults) {
	if f.ServerErrorStatus == 0 {
		f.ServerErrorStatus = http.StatusInternalServerError
	}
	if f.SlowDelay <= 0 {
		f.SlowDelay = 10 * time.Second
	}
	s.mu.Lock()
	s.faults = f
	s.frng = rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))
	s.mu.Unlock()
}

// FaultCounts returns how many times each fault kind fired (enforced 429s
// included).
func (s *Server) FaultCounts() map[FaultKind]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[FaultKind]int, len(s.fired))
	for k, v := range s.fired {
		out[k] = v
	}
	return out
}

type preFault struct {
	kind    FaultKind // FaultReset, FaultServerError or ""
	applied bool
	echo    bool
	status  int
	slow    bool
	delay   time.Duration
}

// fire reports whether f fires now, spending a Next count. s.mu is held.
func (s *Server) fire(f *Fault) bool {
	if f.Next > 0 {
		f.Next--
		return true
	}
	return f.Prob > 0 && s.frng.Float64() < f.Prob
}

func (s *Server) eligible(method string) bool {
	return s.faults.Method == "" || strings.EqualFold(s.faults.Method, method)
}

func (s *Server) pickPre(method string) preFault {
	s.mu.Lock()
	defer s.mu.Unlock()
	var p preFault
	if !s.eligible(method) {
		return p
	}
	switch {
	case s.fire(&s.faults.Reset):
		p.kind = FaultReset
	case s.fire(&s.faults.ServerError):
		p.kind, p.status, p.echo = FaultServerError, s.faults.ServerErrorStatus, s.faults.EchoAuthorization
	}
	if p.kind != "" {
		s.fired[p.kind]++
		p.applied = s.faults.Applied > 0 && s.frng.Float64() < s.faults.Applied
	}
	if s.fire(&s.faults.Slow) {
		s.fired[FaultSlow]++
		p.slow, p.delay = true, s.faults.SlowDelay
	}
	return p
}

func (s *Server) pickPost(method string) FaultKind {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.eligible(method) {
		return ""
	}
	var k FaultKind
	switch {
	case s.fire(&s.faults.Truncated):
		k = FaultTruncated
	case s.fire(&s.faults.Malformed):
		k = FaultMalformed
	case s.fire(&s.faults.Schema):
		k = FaultSchema
	}
	if k != "" {
		s.fired[k]++
	}
	return k
}
