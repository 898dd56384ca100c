package ocambatest

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sendguard/sendguard/internal/vendorfake"
)

// Types shared with the OpenCX fake; see their documentation.
type (
	// Request is a request as the fake received it (token redacted).
	Request = vendorfake.Request
	// Faults configures fault injection; see SetFaults.
	Faults = vendorfake.Faults
	// Fault says when one fault fires: the next N eligible requests, then
	// with a probability.
	Fault = vendorfake.Fault
	// FaultKind names a fault in [Request.Fault] and FaultCounts.
	FaultKind = vendorfake.FaultKind
	// RateMode says how rate windows are placed in time.
	RateMode = vendorfake.RateMode
)

// Fault kinds and rate modes, re-exported.
const (
	FaultServerError = vendorfake.FaultServerError
	FaultSlow        = vendorfake.FaultSlow
	FaultReset       = vendorfake.FaultReset
	FaultTruncated   = vendorfake.FaultTruncated
	FaultMalformed   = vendorfake.FaultMalformed
	FaultSchema      = vendorfake.FaultSchema
	FaultRateLimit   = vendorfake.FaultRateLimit
	FaultInFlight    = vendorfake.FaultInFlight

	Sliding = vendorfake.Sliding
	Fixed   = vendorfake.Fixed
)

// DefaultToken is the token a fake accepts when [Options.Token] is empty.
const DefaultToken = "test-token"

// Masking says when the fake hides contacts in reads (list and get). The
// create answer is always masked, as documented.
//
// Ocamba documents read_gdpr_fields for get-by-id (masked unless
// read_gdpr_fields=true), while its list example shows real values without
// it; whether the list honours read_gdpr_fields is not confirmed. The
// default, [MaskUnlessGDPR], departs from the list example on purpose: it
// masks the list too unless asked, which forces a client to ask for real
// values. [MaskGetUnlessGDPR] reproduces the documented examples.
type Masking int

const (
	// MaskUnlessGDPR shows real values only to reads, list or get, with
	// read_gdpr_fields=true (the default; documented for get-by-id, taken
	// for the list too).
	MaskUnlessGDPR Masking = iota
	// MaskAlways hides every contact, as for a token without the right to
	// read personal data.
	MaskAlways
	// MaskNever shows real values in every read, get-by-id included.
	MaskNever
	// MaskGetUnlessGDPR is what the documented examples show: the list
	// shows real values whether or not read_gdpr_fields is asked, and
	// get-by-id hides them unless read_gdpr_fields=true.
	MaskGetUnlessGDPR
)

// Duplicates says what the fake does with a create of a contact already
// blocked: Ocamba does not document it.
type Duplicates int

const (
	// AddRow creates a second entry with a new id (the default: the
	// conservative reading, since it costs a client the most).
	AddRow Duplicates = iota
	// KeepOne answers 201 with the existing entry.
	KeepOne
	// Conflict answers 409.
	Conflict
)

// Options configures a [Server]. The zero Options is a fake with Ocamba's
// documented behaviour and the conservative choice wherever Ocamba is
// silent.
type Options struct {
	// Token is the only API token accepted. The default value is
	// [DefaultToken].
	Token string
	// Clock gives create and update times and drives the rate windows. The
	// default is time.Now (the fake clock inside a synctest bubble).
	Clock func() time.Time
	// RequestsPerSecond and RequestsPerMinute are enforced with 429 and
	// Retry-After. The default values are 10 and 150 (documented); a
	// negative value disables that limit.
	RequestsPerSecond, RequestsPerMinute int
	// RateMode places the windows. The default is [Sliding], stricter than
	// the fixed windows Ocamba documents; [Fixed] is available.
	RateMode RateMode
	// MaxInFlight is the parallel limit: beyond it the fake answers 429
	// with "Retry-After: -1". The default value is 2 (Ocamba's number is
	// not documented); a negative value disables it.
	MaxInFlight int
	// DefaultPageSize is used when page=N has no M. The default value is
	// 20 (undocumented).
	DefaultPageSize int
	// MaxPageSize caps M silently. The default value is 100
	// (undocumented).
	MaxPageSize int
	// Masking of contacts in reads. The default is [MaskUnlessGDPR], which
	// masks the list too unless read_gdpr_fields=true (see [Masking]).
	Masking Masking
	// Duplicates is the answer to creating a contact already blocked. The
	// default is [AddRow].
	Duplicates Duplicates
	// EmailType is the type given to email contacts (undocumented). The
	// default value is "email".
	EmailType string
	// CompanyID and CreatorID fill new entries. The defaults are "7196310"
	// and "1000163", from the documented example.
	CompanyID, CreatorID string
	// FirstID is the id of the first entry created. The default value is
	// 1000.
	FirstID int
	// Seed seeds the generator of trace ids.
	Seed uint64
	// Sleep waits for the slow fault; the default is a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Entry is a blocked contact held by the fake.
type Entry struct {
	ID          string // digits
	CompanyID   string
	CreatorID   string
	Contact     string
	Type        string
	Description string
	CreateTime  time.Time // GMT, whole seconds
	UpdateTime  time.Time
	// Masked entries are shown masked in every read, as if their personal
	// data could not be decrypted.
	Masked bool
}

// Server is a fake Ocamba Hood blocked-contacts API on a real
// [net/http/httptest] server (see the package documentation). It records
// every request.
//
// A Server is safe for concurrent use by multiple goroutines.
type Server struct {
	*vendorfake.Server
	opts Options

	mu         sync.Mutex
	entries    []Entry
	nextID     int
	duplicates int
}

// NewServer starts a fake on loopback TCP. Close it when done.
func NewServer(opts Options) *Server { return start(opts, false) }

// NewInMemoryServer starts a fake whose connections are in memory: only
// Client reaches it. It works inside a [testing/synctest] bubble (create
// it inside the bubble, and Close it there).
func NewInMemoryServer(opts Options) *Server { return start(opts, true) }

func start(opts Options, inMemory bool) *Server {
	if opts.Token == "" {
		opts.Token = DefaultToken
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.RequestsPerSecond == 0 {
		opts.RequestsPerSecond = documentedPerSecond
	}
	if opts.RequestsPerMinute == 0 {
		opts.RequestsPerMinute = documentedPerMinute
	}
	if opts.MaxInFlight == 0 {
		opts.MaxInFlight = 2
	}
	if opts.DefaultPageSize <= 0 {
		opts.DefaultPageSize = 20
	}
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = 100
	}
	if opts.EmailType == "" {
		opts.EmailType = "email"
	}
	if opts.CompanyID == "" {
		opts.CompanyID = "7196310"
	}
	if opts.CreatorID == "" {
		opts.CreatorID = "1000163"
	}
	if opts.FirstID <= 0 {
		opts.FirstID = 1000
	}
	s := &Server{opts: opts, nextID: opts.FirstID}
	cfg := vendorfake.Config{
		Name: "ocamba", InMemory: inMemory, Clock: opts.Clock, Sleep: opts.Sleep, Seed: opts.Seed,
		RateMode: opts.RateMode, MaxInFlight: max(opts.MaxInFlight, 0), RetryAfter: true,
		Token: opts.Token, Unauthorized: s.unauthorized, Handle: s.handle, Error: s.errorResponse, SchemaViolation: schemaViolation,
		Decorate: decorate,
	}
	if opts.RequestsPerSecond > 0 {
		cfg.Limits = append(cfg.Limits, vendorfake.Limit{N: opts.RequestsPerSecond, Per: time.Second})
	}
	if opts.RequestsPerMinute > 0 {
		cfg.Limits = append(cfg.Limits, vendorfake.Limit{N: opts.RequestsPerMinute, Per: time.Minute})
	}
	s.Server = vendorfake.New(cfg) // assigned before it serves: handlers use it
	s.Start()
	return s
}

// Blocked returns the entries the fake holds, in creation order, with
// their ids and times.
func (s *Server) Blocked() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.entries)
}

// Duplicates returns how many creates named a contact already blocked
// (whatever [Options.Duplicates] did with them).
func (s *Server) Duplicates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.duplicates
}

// Seed preloads entries, as if blocked in Ocamba's UI, and returns their
// ids. Empty ids are assigned in sequence; an empty Type is derived from
// the contact; a zero CreateTime is the clock's now, a zero UpdateTime the
// CreateTime. Contacts are stored as given, not validated.
func (s *Server) Seed(entries ...Entry) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		e = s.fill(e)
		s.entries = append(s.entries, e)
		ids = append(ids, e.ID)
	}
	return ids
}

// fill completes an entry. s.mu is held.
func (s *Server) fill(e Entry) Entry {
	if e.ID == "" {
		e.ID = strconv.Itoa(s.nextID)
		s.nextID++
	} else if n, err := strconv.Atoi(e.ID); err == nil && n >= s.nextID {
		s.nextID = n + 1
	}
	if e.CompanyID == "" {
		e.CompanyID = s.opts.CompanyID
	}
	if e.CreatorID == "" {
		e.CreatorID = s.opts.CreatorID
	}
	if e.Type == "" {
		e.Type = typePhone
		if strings.Contains(e.Contact, "@") {
			e.Type = s.opts.EmailType
		}
	}
	if e.CreateTime.IsZero() {
		e.CreateTime = s.opts.Clock()
	}
	e.CreateTime = e.CreateTime.UTC().Truncate(time.Second)
	if e.UpdateTime.IsZero() {
		e.UpdateTime = e.CreateTime
	}
	e.UpdateTime = e.UpdateTime.UTC().Truncate(time.Second)
	return e
}

// MaxRate returns the most requests counted in any 1-second and any
// 60-second window (0 for a disabled limit). A client paced at Ocamba's
// limits keeps them ≤ 10 and ≤ 150.
func (s *Server) MaxRate() (perSecond, perMinute int) {
	m := s.MaxInWindow()
	i := 0
	if s.opts.RequestsPerSecond > 0 {
		perSecond, i = m[0], 1
	}
	if s.opts.RequestsPerMinute > 0 {
		perMinute = m[i]
	}
	return perSecond, perMinute
}

// errorJSON is Ocamba's documented error body; message is omitted when
// empty (as in the documented 500).
func (s *Server) errorJSON(status int, title, message string) vendorfake.Response {
	body := map[string]any{"code": status, "title": title, "trace_id": s.TraceID()}
	if message != "" {
		body["message"] = message
	}
	b, _ := json.Marshal(body)
	return vendorfake.Response{Status: status, Body: b}
}

func (s *Server) badRequest(message string) vendorfake.Response {
	return s.errorJSON(http.StatusBadRequest, "Bad request.", message)
}

func (s *Server) errorResponse(status int, traceID string) vendorfake.Response {
	title := http.StatusText(status) + "."
	switch status {
	case http.StatusBadRequest:
		title = "Bad request." // documented
	case http.StatusInternalServerError:
		title = "Internal server error."
	case http.StatusTooManyRequests:
		title = "Too many requests."
	}
	b, _ := json.Marshal(map[string]any{"code": status, "title": title, "trace_id": traceID})
	return vendorfake.Response{Status: status, Body: b}
}

func schemaViolation(r *vendorfake.Request) []byte {
	if r.Method == http.MethodPost {
		return []byte(`{"contact":"* * * * * * * * * *","type":null}`)
	}
	return []byte(`{"total":"five","items":{"id":1}}`)
}

// decorate adds the documented rate-limit headers to answers that were not
// limited.
func decorate(resp *vendorfake.Response, rs vendorfake.RateState) {
	resp.Header.Set("X-RateLimit-Limit", strconv.Itoa(rs.Limit))
	resp.Header.Set("X-RateLimit-Remaining", strconv.Itoa(rs.Remaining))
	resp.Header.Set("X-RateLimit-Reset", strconv.Itoa(int(rs.Reset/time.Second)))
}

// unauthorized answers a missing or wrong token (the body is not
// documented; it follows the documented error shape).
func (s *Server) unauthorized() vendorfake.Response {
	return s.errorJSON(http.StatusUnauthorized, "Unauthorized.", "The request is not authorized.")
}

func (s *Server) handle(r *vendorfake.Request) vendorfake.Response {
	switch {
	case r.Path == blockedContactsPath && r.Method == http.MethodPost:
		return s.create(r)
	case r.Path == blockedContactsPath && r.Method == http.MethodGet:
		return s.list(r)
	case strings.HasPrefix(r.Path, blockedContactsPath+"/") && r.Method == http.MethodGet:
		return s.get(r, strings.TrimPrefix(r.Path, blockedContactsPath+"/"))
	case r.Path == blockedContactsPath || strings.HasPrefix(r.Path, blockedContactsPath+"/"):
		return s.errorJSON(http.StatusMethodNotAllowed, "Method not allowed.", "")
	}
	return s.errorJSON(http.StatusNotFound, "Not found.", "")
}

func (s *Server) create(r *vendorfake.Request) vendorfake.Response {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return s.badRequest("The request is not valid.")
	}
	var body map[string]json.RawMessage
	if json.Unmarshal(r.Body, &body) != nil || body == nil {
		return s.badRequest("The request body is not valid.")
	}
	var contact, description string
	if json.Unmarshal(body["contact"], &contact) != nil || !validContact(contact) {
		return s.badRequest("The request body is not valid.")
	}
	if raw, ok := body["description"]; ok && json.Unmarshal(raw, &description) != nil {
		return s.badRequest("The request body is not valid.")
	}
	s.mu.Lock()
	i := slices.IndexFunc(s.entries, func(e Entry) bool { return strings.EqualFold(e.Contact, contact) })
	var e Entry
	switch {
	case i >= 0 && s.opts.Duplicates == Conflict:
		s.duplicates++
		s.mu.Unlock()
		return s.errorJSON(http.StatusConflict, "Conflict.", "The contact is already blocked.")
	case i >= 0 && s.opts.Duplicates == KeepOne:
		s.duplicates++
		e = s.entries[i]
	default:
		if i >= 0 {
			s.duplicates++
		}
		e = s.fill(Entry{Contact: contact, Description: description})
		s.entries = append(s.entries, e)
	}
	s.mu.Unlock()
	b, _ := json.Marshal(map[string]string{
		"id": e.ID, "company_id": e.CompanyID, "creator_id": e.CreatorID,
		"contact": maskedContact, "type": e.Type, "description": e.Description,
	})
	return vendorfake.Response{Status: http.StatusCreated, Body: b}
}

// masked reports whether a read shows e masked; list tells a list from a
// get-by-id.
func (s *Server) masked(e Entry, gdpr, list bool) bool {
	switch {
	case e.Masked:
		return true
	case s.opts.Masking == MaskAlways:
		return true
	case s.opts.Masking == MaskNever:
		return false
	case s.opts.Masking == MaskGetUnlessGDPR && list:
		return false
	}
	return !gdpr
}

// item renders an entry for a read.
func (s *Server) item(e Entry, masked bool, fields []string) map[string]any {
	m := map[string]any{
		"id": e.ID, "company_id": e.CompanyID, "description": e.Description,
		"create_time": formatTime(e.CreateTime), "update_time": formatTime(e.UpdateTime),
	}
	if masked {
		// as the documented masked example: no type, no creator
		m["contact"] = maskedContact
	} else {
		m["contact"], m["type"], m["creator_id"] = e.Contact, e.Type, e.CreatorID
		m["creator"] = map[string]any{"id": e.CreatorID, "name": "John Doe", "status": "active", "company_id": e.CompanyID}
	}
	if len(fields) > 0 {
		for k := range m {
			if !slices.Contains(fields, k) {
				delete(m, k)
			}
		}
	}
	return m
}

func (s *Server) listBody(items []map[string]any, total int) vendorfake.Response {
	b, _ := json.Marshal(map[string]any{"total": total, "items": items})
	return vendorfake.Response{Status: http.StatusOK, Body: b}
}

func gdpr(r *vendorfake.Request) bool { return r.Query.Get("read_gdpr_fields") == "true" }

func fields(r *vendorfake.Request) []string {
	if f := r.Query.Get("fields"); f != "" {
		return strings.Split(f, ",")
	}
	return nil
}

func (s *Server) get(r *vendorfake.Request, id string) vendorfake.Response {
	s.mu.Lock()
	i := slices.IndexFunc(s.entries, func(e Entry) bool { return e.ID == id })
	var e Entry
	if i >= 0 {
		e = s.entries[i]
	}
	s.mu.Unlock()
	if i < 0 {
		return s.errorJSON(http.StatusNotFound, "Not found.", "")
	}
	return s.listBody([]map[string]any{s.item(e, s.masked(e, gdpr(r), false), fields(r))}, 1)
}

func (s *Server) list(r *vendorfake.Request) vendorfake.Response {
	page, size, ok := s.parsePage(r.Query.Get("page"))
	if !ok {
		return s.badRequest("The request is not valid.")
	}
	s.mu.Lock()
	all := slices.Clone(s.entries)
	s.mu.Unlock()
	all, ok = filter(all, r)
	if !ok {
		return s.badRequest("The request is not valid.")
	}
	if !sortEntries(all, r.Query.Get("sort")) {
		return s.badRequest("The request is not valid.")
	}
	from := min((page-1)*size, len(all))
	items := []map[string]any{}
	for _, e := range all[from:min(from+size, len(all))] {
		items = append(items, s.item(e, s.masked(e, gdpr(r), true), fields(r)))
	}
	return s.listBody(items, len(all))
}

// parsePage reads page=N[,M]: N ≥ 1 is required when page is given; M
// defaults and is capped.
func (s *Server) parsePage(v string) (page, size int, ok bool) {
	page, size = 1, s.opts.DefaultPageSize
	if v == "" {
		return page, size, true
	}
	ns, ms, hasM := strings.Cut(v, ",")
	page, err := strconv.Atoi(strings.TrimSpace(ns))
	if err != nil || page < 1 {
		return 0, 0, false
	}
	if hasM {
		if size, err = strconv.Atoi(strings.TrimSpace(ms)); err != nil || size < 1 {
			return 0, 0, false
		}
	}
	return page, min(size, s.opts.MaxPageSize), true
}
