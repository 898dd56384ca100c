package vendorfake

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sendguard/sendguard/internal/memnet"
)

// Request is one request as the fake received it.
type Request struct {
	Method   string
	Path     string
	RawQuery string     // the query string as sent
	Query    url.Values // RawQuery decoded
	// Header is a copy of the request headers; Authorization is redacted to
	// "Bearer ***" (or "***" for any other scheme), never the token.
	Header http.Header
	Body   []byte
	Time   time.Time // arrival, on the server's clock
	// Status is the status answered; 0 if no answer was sent (connection
	// reset, client gone) and for a truncated answer the status whose body
	// was cut.
	Status int
	// Fault names the faults applied to this request, comma-separated, ""
	// for none.
	Fault string
	// Token is the bearer token sent, for the vendor's handler. It is not
	// kept in [Server.Requests].
	Token string `json:"-"`
}

// Response is an answer a vendor handler produces.
type Response struct {
	Status int
	Header http.Header // may be nil
	Body   []byte
}

// Limit is a rate limit: at most N requests per window of length Per.
type Limit struct {
	N   int
	Per time.Duration
}

// RateMode says how the windows of a [Limit] are placed in time.
type RateMode int

const (
	// Sliding counts requests in every interval of length Per ending now:
	// the strictest reading, which any client that keeps any window
	// alignment within the limit passes. It is the default.
	Sliding RateMode = iota
	// Fixed counts requests in windows aligned on multiples of Per (whole
	// seconds, whole minutes), as Ocamba documents.
	Fixed
)

// RateState describes the most constraining window after a request was
// counted, for rate-limit headers.
type RateState struct {
	Limit, Remaining int
	Reset            time.Duration // until the window frees a request
}

// Config configures a [Server]. Handle and Error are required.
type Config struct {
	Name     string           // label of the in-memory address; "fake" if empty
	InMemory bool             // memnet instead of loopback TCP
	Clock    func() time.Time // time.Now if nil
	// Sleep waits d or until ctx is done, for the slow fault. nil: a timer
	// (fake time inside a synctest bubble).
	Sleep          func(ctx context.Context, d time.Duration) error
	Limits         []Limit
	RateMode       RateMode
	MaxInFlight    int   // requests handled at once beyond this get 429; 0: no limit
	MaxRequestBody int64 // larger bodies get 413; 0: 1 MiB
	Seed           uint64

	// Token is the bearer token accepted; a request without it is answered
	// with Unauthorized() and counts toward no limit. "" accepts any
	// request.
	Token        string
	Unauthorized func() Response
	Handle       func(r *Request) Response
	// Error builds the vendor's error answer for a status the pipeline
	// produces itself (413, 429, 500, 503 ...). traceID is fresh.
	Error func(status int, traceID string) Response
	// RetryAfter sets the Retry-After header on 429: seconds, or -1 when
	// the in-flight limit was hit.
	RetryAfter bool
	// SchemaViolation returns a valid JSON body that breaks the vendor's
	// documented schema for r. nil: {"unexpected":true}.
	SchemaViolation func(r *Request) []byte
	// Decorate may add headers to any answer to an authorized request that
	// was not rate limited. rs is the most constraining window.
	Decorate func(resp *Response, rs RateState)
}

// Server is a running fake. See the package documentation.
//
// A Server is safe for concurrent use by multiple goroutines.
type Server struct {
	cfg     Config
	ts      *httptest.Server
	client  *http.Client
	closing chan struct{}
	close   sync.Once

	mu        sync.Mutex
	requests  []Request
	windows   []*window
	violation int
	inFlight  int
	peak      int
	busy      int // in-flight rejections
	faults    Faults
	frng      *rand.Rand
	fired     map[FaultKind]int
	idrng     *rand.Rand
}

// Start starts a server for cfg. It is New followed by [Server.Start].
func Start(cfg Config) *Server {
	s := New(cfg)
	s.Start()
	return s
}

// New returns a server for cfg that does not listen yet: a caller whose
// handlers reach back into the returned Server (through a field it sets)
// sets that field first and then calls [Server.Start], so that no request
// can race with the assignment.
func New(cfg Config) *Server {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if cfg.MaxRequestBody <= 0 {
		cfg.MaxRequestBody = 1 << 20
	}
	if cfg.Name == "" {
		cfg.Name = "fake"
	}
	s := &Server{
		cfg:     cfg,
		closing: make(chan struct{}),
		fired:   map[FaultKind]int{},
		idrng:   rand.New(rand.NewPCG(cfg.Seed, 0x5eed)),
		frng:    rand.New(rand.NewPCG(0, 0)),
	}
	for _, l := range cfg.Limits {
		if l.N > 0 && l.Per > 0 {
			s.windows = append(s.windows, &window{Limit: l})
		}
	}
	h := http.HandlerFunc(s.serve)
	if cfg.InMemory {
		ln := memnet.Listen(cfg.Name)
		s.ts = &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
		s.client = &http.Client{Transport: &http.Transport{DialContext: ln.DialContext}}
	} else {
		s.ts = httptest.NewUnstartedServer(h)
	}
	return s
}

// Start starts serving. Call it once, after New.
func (s *Server) Start() {
	s.ts.Start()
	if s.client == nil {
		s.client = s.ts.Client()
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// URL returns the base URL, e.g. "http://127.0.0.1:41234" or
// "http://fake:80" in memory.
func (s *Server) URL() string { return s.ts.URL }

// Client returns an HTTP client that reaches the server (the only way to
// reach an in-memory one). It does not follow redirects differently from
// any other client and sends no token by itself.
func (s *Server) Client() *http.Client { return s.client }

// Token returns the token the server accepts.
func (s *Server) Token() string { return s.cfg.Token }

// Now returns the server's clock.
func (s *Server) Now() time.Time { return s.cfg.Clock() }

// Close stops the server, cutting short any slow-fault delay, and waits for
// the requests being answered. It is idempotent.
func (s *Server) Close() {
	s.close.Do(func() {
		close(s.closing)
		s.ts.Close()
		if tr, ok := s.client.Transport.(interface{ CloseIdleConnections() }); ok {
			tr.CloseIdleConnections()
		}
	})
}

// TraceID returns a fresh UUID-shaped trace id from the seeded generator.
func (s *Server) TraceID() string {
	s.mu.Lock()
	a, b := s.idrng.Uint64(), s.idrng.Uint64()
	s.mu.Unlock()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, a>>16&0xffff, a&0xfff, b>>48&0x3fff|0x8000, b&0xffffffffffff)
}

// Requests returns a copy of every request received so far, in arrival
// order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// MaxInWindow returns, for each configured [Limit] in order, the most
// requests (authorized, including those answered 429) that arrived within
// any sliding interval of its length.
func (s *Server) MaxInWindow() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int, len(s.windows))
	for i, w := range s.windows {
		out[i] = w.maxSeen
	}
	return out
}

// RateViolations returns how many requests were answered 429 because a rate
// window was full.
func (s *Server) RateViolations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.violation
}

// InFlightRejections returns how many requests were answered 429 because
// too many were in flight.
func (s *Server) InFlightRejections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.busy
}

// PeakInFlight returns the most authorized requests handled at once.
func (s *Server) PeakInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

func (s *Server) record(i int, status int, fault FaultKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[i].Status = status
	if fault != "" {
		if s.requests[i].Fault != "" {
			s.requests[i].Fault += ","
		}
		s.requests[i].Fault += string(fault)
	}
}

func (s *Server) serve(w http.ResponseWriter, hr *http.Request) {
	body, err := io.ReadAll(io.LimitReader(hr.Body, s.cfg.MaxRequestBody+1))
	req := Request{
		Method: hr.Method, Path: hr.URL.Path, RawQuery: hr.URL.RawQuery, Query: hr.URL.Query(),
		Header: hr.Header.Clone(), Body: body, Time: s.cfg.Clock(),
	}
	if auth := req.Header.Get("Authorization"); auth != "" {
		scheme, tok, found := strings.Cut(auth, " ")
		if found && strings.EqualFold(scheme, "Bearer") {
			req.Token = strings.TrimSpace(tok)
			req.Header.Set("Authorization", "Bearer ***")
		} else {
			req.Header.Set("Authorization", "***")
		}
	}
	s.mu.Lock()
	idx := len(s.requests)
	kept := req
	kept.Token = ""
	s.requests = append(s.requests, kept)
	s.mu.Unlock()

	if err != nil || int64(len(body)) > s.cfg.MaxRequestBody {
		s.write(w, idx, s.cfg.Error(http.StatusRequestEntityTooLarge, s.TraceID()), "")
		return
	}
	if s.cfg.Token != "" && req.Token != s.cfg.Token {
		s.write(w, idx, s.cfg.Unauthorized(), "")
		return
	}
	limited, retry, rs, release := s.admit(req.Time)
	defer release()
	if limited != "" {
		resp := s.cfg.Error(http.StatusTooManyRequests, s.TraceID())
		if s.cfg.RetryAfter {
			resp.Header = cloneHeader(resp.Header)
			if retry < 0 {
				resp.Header.Set("Retry-After", "-1")
			} else {
				resp.Header.Set("Retry-After", strconv.Itoa(int(retry/time.Second)))
			}
		}
		s.write(w, idx, resp, limited)
		return
	}
	s.handle(w, hr, idx, &req, rs)
}

func (s *Server) handle(w http.ResponseWriter, hr *http.Request, idx int, req *Request, rs RateState) {
	pre := s.pickPre(req.Method)
	if pre.slow {
		s.record(idx, 0, FaultSlow)
		ctx, cancel := context.WithCancel(hr.Context())
		go func() {
			select {
			case <-s.closing:
				cancel()
			case <-ctx.Done():
			}
		}()
		err := s.cfg.Sleep(ctx, pre.delay)
		cancel()
		if err != nil {
			panic(http.ErrAbortHandler) // client gone or server closing: no answer
		}
	}
	var resp Response
	if pre.kind == "" || pre.applied {
		resp = s.cfg.Handle(req)
	}
	switch pre.kind {
	case FaultReset:
		s.record(idx, 0, FaultReset)
		reset(w)
		return
	case FaultServerError:
		resp = s.cfg.Error(pre.status, s.TraceID())
		if pre.echo {
			resp = echoAuthorization(pre.status, req.Token)
		}
		s.decorate(&resp, rs)
		s.write(w, idx, resp, FaultServerError)
		return
	}
	s.decorate(&resp, rs)
	if resp.Status/100 != 2 {
		s.write(w, idx, resp, "")
		return
	}
	switch post := s.pickPost(req.Method); post {
	case FaultTruncated:
		s.record(idx, resp.Status, FaultTruncated)
		truncate(w, resp)
		return
	case FaultMalformed:
		resp.Body = []byte(`{"oops": this is not JSON`)
		s.write(w, idx, resp, post)
		return
	case FaultSchema:
		resp.Body = []byte(`{"unexpected":true}`)
		if s.cfg.SchemaViolation != nil {
			resp.Body = s.cfg.SchemaViolation(req)
		}
		s.write(w, idx, resp, post)
		return
	}
	s.write(w, idx, resp, "")
}

// echoAuthorization is an error answer that repeats the request's
// Authorization header, in a body both vendors' clients read a message
// from.
func echoAuthorization(status int, token string) Response {
	msg := "request refused; it carried Authorization: Bearer " + token
	b, _ := json.Marshal(map[string]any{"statusCode": status, "code": status, "title": http.StatusText(status),
		"message": msg, "error": msg})
	return Response{Status: status, Body: b}
}

func (s *Server) decorate(resp *Response, rs RateState) {
	if s.cfg.Decorate != nil && rs.Limit > 0 {
		resp.Header = cloneHeader(resp.Header)
		s.cfg.Decorate(resp, rs)
	}
}

func (s *Server) write(w http.ResponseWriter, idx int, resp Response, fault FaultKind) {
	s.record(idx, resp.Status, fault)
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	if len(resp.Body) > 0 && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.Body)))
	w.WriteHeader(resp.Status)
	w.Write(resp.Body)
}

// reset closes the connection without an answer.
func reset(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// truncate sends the headers and half the body, then drops the connection:
// the client sees the answer cut short (unexpected EOF).
func truncate(w http.ResponseWriter, resp Response) {
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	full := max(len(resp.Body), 2)
	w.Header().Set("Content-Length", strconv.Itoa(full))
	w.WriteHeader(resp.Status)
	w.Write(resp.Body[:len(resp.Body)/2])
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	panic(http.ErrAbortHandler)
}

func cloneHeader(h http.Header) http.Header {
	if h == nil {
		return http.Header{}
	}
	return h.Clone()
}
