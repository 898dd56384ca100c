package opencxtest

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sendguard/sendguard/internal/vendorfake"
)

// Types shared with the Ocamba fake; see their documentation.
type (
	// Request is a request as the fake received it (token redacted).
	Request = vendorfake.Request
	// Faults configures fault injection; see [Server.SetFaults].
	Faults = vendorfake.Faults
	// Fault says when one fault fires: the next N eligible requests, then
	// with a probability.
	Fault = vendorfake.Fault
	// FaultKind names a fault in [Request.Fault] and [Server.FaultCounts].
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

// What OpenCX documents, written here rather than taken from package
// opencx, so that a mistake there is not mirrored by the fake.
const (
	contactsPath        = "/blocklist/contacts"
	domainsPath         = "/blocklist/domains"
	documentedPerMinute = 100 // standard endpoints
)

// Duplicates says what the fake does with a block of an email that is
// already blocked: OpenCX does not document it.
type Duplicates int

const (
	// AddRow answers 200 and stores a second entry (the default: the
	// conservative reading, since it costs a client the most, as in the
	// Ocamba fake).
	AddRow Duplicates = iota
	// KeepOne answers 200 and keeps the existing entry.
	KeepOne
	// Conflict answers 409 with an ErrorDto.
	Conflict
)

// Order is the order of the list: OpenCX does not document it.
type Order int

const (
	// NewestFirst lists the newest block first (the default, and the
	// harder case for a paging client: a block added during a scan shifts
	// the pages).
	NewestFirst Order = iota
	// OldestFirst lists in creation order.
	OldestFirst
)

// Options configures a [Server]. The zero Options is a fake with OpenCX's
// documented behaviour and the conservative choice wherever OpenCX is
// silent.
type Options struct {
	// Token is the only API key accepted. The default value is
	// [DefaultToken].
	Token string
	// Scopes, if non-nil, are the key's scopes: "blocklist:read" is needed
	// to list, "blocklist:write" to block; without it the fake answers
	// 403. nil means a full-access key.
	Scopes []string
	// Clock gives the time for created_at and rate windows. The default is
	// time.Now (the fake clock inside a synctest bubble).
	Clock func() time.Time
	// RequestsPerMinute is enforced with 429 answers. The default value is
	// 100 (documented); a negative value disables the limit.
	RequestsPerMinute int
	// RateMode places the 1-minute windows. The default is [Sliding].
	RateMode RateMode
	// RetryAfter adds "Retry-After: <seconds>" to 429 answers. OpenCX
	// documents no rate-limit headers, so the default is false.
	RetryAfter bool
	// MaxInFlight, if positive, answers 429 to requests beyond that many
	// at once. The default value is 0: no limit (none documented).
	MaxInFlight int
	// PageSizeParam is the name of the page-size query parameter. The
	// default value is "limit".
	PageSizeParam string
	// DefaultPageSize is used when no size is given. The default value is
	// 20 (documented).
	DefaultPageSize int
	// MaxPageSize caps the page size silently (total_pages follows the
	// size used). The default value is 100 (OpenCX's maximum is not
	// documented).
	MaxPageSize int
	// Order of the list. The default is [NewestFirst].
	Order Order
	// Duplicates is the answer to blocking an email that is already
	// blocked (compared case-insensitively). The default is [AddRow].
	Duplicates Duplicates
	// Seed seeds the generator of ids and trace ids.
	Seed uint64
	// Sleep waits for the slow fault; the default is a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Contact is a blocked contact held by the fake.
type Contact struct {
	ID, ContactID, Email, Name, PhoneNumber, Reason string
	CreatedAt                                       time.Time
}

// Domain is a blocked domain held by the fake.
type Domain struct {
	ID, Domain, Reason string
	CreatedAt          time.Time
}

// Server is a fake OpenCX blocklist API on a real [net/http/httptest]
// server. It serves GET and POST /blocklist/contacts and POST
// /blocklist/domains as documented (see the package documentation), and
// records every request.
//
// A Server is safe for concurrent use by multiple goroutines.
type Server struct {
	*vendorfake.Server
	opts Options

	mu         sync.Mutex
	contacts   []Contact
	domains    []Domain
	seq        int
	duplicates int
}

// NewServer starts a fake on loopback TCP. Close it when done.
func NewServer(opts Options) *Server { return start(opts, false) }

// NewInMemoryServer starts a fake whose connections are in memory: only
// [Server.Client] reaches it. It works inside a [testing/synctest] bubble
// (create it inside the bubble, and Close it there).
func NewInMemoryServer(opts Options) *Server { return start(opts, true) }

func start(opts Options, inMemory bool) *Server {
	if opts.Token == "" {
		opts.Token = DefaultToken
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.RequestsPerMinute == 0 {
		opts.RequestsPerMinute = documentedPerMinute
	}
	if opts.PageSizeParam == "" {
		opts.PageSizeParam = "limit"
	}
	if opts.DefaultPageSize <= 0 {
		opts.DefaultPageSize = 20
	}
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = 100
	}
	s := &Server{opts: opts}
	cfg := vendorfake.Config{
		Name: "opencx", InMemory: inMemory, Clock: opts.Clock, Sleep: opts.Sleep, Seed: opts.Seed,
		RateMode: opts.RateMode, MaxInFlight: opts.MaxInFlight, RetryAfter: opts.RetryAfter,
		Token: opts.Token, Unauthorized: unauthorized, Handle: s.handle, Error: errorResponse, SchemaViolation: schemaViolation,
	}
	if opts.RequestsPerMinute > 0 {
		cfg.Limits = []vendorfake.Limit{{N: opts.RequestsPerMinute, Per: time.Minute}}
	}
	s.Server = vendorfake.New(cfg) // assigned before it serves: handlers use it
	s.Start()
	return s
}

// Contacts returns the blocked contacts the fake holds, in creation order.
func (s *Server) Contacts() []Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.contacts)
}

// Domains returns the blocked domains the fake holds, in creation order.
func (s *Server) Domains() []Domain {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.domains)
}

// Duplicates returns how many blocks named an email or domain already
// blocked (whatever [Options.Duplicates] did with them).
func (s *Server) Duplicates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.duplicates
}

// Seed preloads blocked contacts, as if blocked remotely. Empty ids are
// generated, a zero CreatedAt is the clock's now.
func (s *Server) Seed(contacts ...Contact) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range contacts {
		s.contacts = append(s.contacts, s.fill(c))
	}
}

// SeedDomains preloads blocked domains.
func (s *Server) SeedDomains(domains ...Domain) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range domains {
		if d.ID == "" {
			d.ID = s.TraceID()
		}
		if d.CreatedAt.IsZero() {
			d.CreatedAt = s.opts.Clock().UTC().Truncate(time.Second)
		}
		d.Domain = strings.ToLower(d.Domain)
		s.domains = append(s.domains, d)
	}
}

// fill completes a contact. s.mu is held.
func (s *Server) fill(c Contact) Contact {
	if c.ID == "" {
		c.ID = s.TraceID()
	}
	if c.ContactID == "" {
		c.ContactID = s.TraceID()
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.opts.Clock().UTC().Truncate(time.Second)
	}
	return c
}

// MaxRate returns the most requests counted in any 60-second window (0 if
// the limit is disabled). A client paced at N per minute keeps it ≤ N.
func (s *Server) MaxRate() int {
	if m := s.MaxInWindow(); len(m) > 0 {
		return m[0]
	}
	return 0
}

// errorDto is OpenCX's documented error body.
func errorDto(status int, message string) vendorfake.Response {
	b, _ := json.Marshal(map[string]any{"statusCode": status, "message": message, "error": http.StatusText(status)})
	return vendorfake.Response{Status: status, Body: b}
}

func errorResponse(status int, _ string) vendorfake.Response {
	switch status {
	case http.StatusTooManyRequests:
		return errorDto(status, "Too Many Requests")
	case http.StatusInternalServerError:
		return errorDto(status, "Internal server error")
	}
	return errorDto(status, http.StatusText(status))
}

func schemaViolation(r *vendorfake.Request) []byte {
	switch r.Path {
	case contactsPath:
		return []byte(`{"data":{"email":"x@example.com"},"total":"many","page":1}`)
	case domainsPath:
		return []byte(`{"blocked":"all","summary":null}`)
	}
	return []byte(`{"unexpected":true}`)
}

// unauthorized is OpenCX's documented 401.
func unauthorized() vendorfake.Response {
	return vendorfake.Response{Status: http.StatusUnauthorized, Body: []byte(`{"statusCode":401,"message":"Unauthorized","error":"Unauthorized"}`)}
}

func (s *Server) allowed(scope string) bool {
	return s.opts.Scopes == nil || slices.Contains(s.opts.Scopes, scope)
}

func (s *Server) handle(r *vendorfake.Request) vendorfake.Response {
	var scope string
	var h func(*vendorfake.Request) vendorfake.Response
	switch {
	case r.Path == contactsPath && r.Method == http.MethodGet:
		scope, h = "blocklist:read", s.list
	case r.Path == contactsPath && r.Method == http.MethodPost:
		scope, h = "blocklist:write", s.blockContact
	case r.Path == domainsPath && r.Method == http.MethodPost:
		scope, h = "blocklist:write", s.blockDomains
	default:
		return errorDto(http.StatusNotFound, fmt.Sprintf("Route %s:%s not found", r.Method, r.Path))
	}
	if !s.allowed(scope) {
		return errorDto(http.StatusForbidden, "Forbidden resource")
	}
	return h(r)
}

// jsonBody checks the content type and decodes a JSON object, or returns
// the error answer.
func jsonBody(r *vendorfake.Request) (map[string]json.RawMessage, *vendorfake.Response) {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		resp := errorDto(http.StatusUnsupportedMediaType, "Unsupported Media Type: "+ct)
		return nil, &resp
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &m); err != nil || m == nil {
		resp := errorDto(http.StatusBadRequest, "body must be object")
		return nil, &resp
	}
	return m, nil
}

// stringField reads an optional string property; ok is false (with the
// answer) if it is present and not a string.
func stringField(m map[string]json.RawMessage, name string) (string, bool, *vendorfake.Response) {
	raw, present := m[name]
	if !present {
		return "", false, nil
	}
	var v string
	if json.Unmarshal(raw, &v) != nil {
		resp := errorDto(http.StatusBadRequest, "body/"+name+" must be string")
		return "", true, &resp
	}
	return v, true, nil
}

func (s *Server) blockContact(r *vendorfake.Request) vendorfake.Response {
	m, bad := jsonBody(r)
	if bad != nil {
		return *bad
	}
	email, present, bad := stringField(m, "email")
	switch {
	case bad != nil:
		return *bad
	case !present:
		return errorDto(http.StatusBadRequest, "body must have required property 'email'")
	case !validEmail(email):
		return errorDto(http.StatusBadRequest, `body/email must match pattern "`+emailPattern+`"`)
	}
	reason, _, bad := stringField(m, "reason")
	if bad != nil {
		return *bad
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.ContainsFunc(s.contacts, func(c Contact) bool { return strings.EqualFold(c.Email, email) }) {
		s.duplicates++
		switch s.opts.Duplicates {
		case KeepOne:
			return vendorfake.Response{Status: http.StatusOK}
		case Conflict:
			return errorDto(http.StatusConflict, "Contact is already blocked")
		}
	}
	s.contacts = append(s.contacts, s.fill(Contact{Email: email, Reason: reason}))
	return vendorfake.Response{Status: http.StatusOK}
}

func (s *Server) blockDomains(r *vendorfake.Request) vendorfake.Response {
	m, bad := jsonBody(r)
	if bad != nil {
		return *bad
	}
	list, present, bad := stringField(m, "domains")
	switch {
	case bad != nil:
		return *bad
	case !present:
		return errorDto(http.StatusBadRequest, "body must have required property 'domains'")
	case list == "":
		return errorDto(http.StatusBadRequest, "body/domains must NOT have fewer than 1 characters")
	}
	reason, _, bad := stringField(m, "reason")
	if bad != nil {
		return *bad
	}
	var names []string
	for d := range strings.SplitSeq(list, ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == "" {
			continue
		}
		if !validDomain(d) {
			return errorDto(http.StatusBadRequest, "Invalid domain: "+d)
		}
		names = append(names, d)
	}
	if len(names) == 0 {
		return errorDto(http.StatusBadRequest, "No valid domains provided")
	}
	type blockedJSON struct {
		ID        string `json:"id"`
		Domain    string `json:"domain"`
		Reason    string `json:"reason"`
		CreatedAt string `json:"created_at"`
	}
	out := struct {
		Blocked []blockedJSON  `json:"blocked"`
		Skipped []string       `json:"skipped"`
		Summary map[string]int `json:"summary"`
	}{Blocked: []blockedJSON{}, Skipped: []string{}}
	s.mu.Lock()
	for _, d := range names {
		if slices.ContainsFunc(s.domains, func(x Domain) bool { return x.Domain == d }) {
			s.duplicates++
			out.Skipped = append(out.Skipped, d)
			continue
		}
		nd := Domain{ID: s.TraceID(), Domain: d, Reason: reason, CreatedAt: s.opts.Clock().UTC().Truncate(time.Second)}
		s.domains = append(s.domains, nd)
		out.Blocked = append(out.Blocked, blockedJSON{nd.ID, nd.Domain, nd.Reason, nd.CreatedAt.Format(time.RFC3339)})
	}
	s.mu.Unlock()
	out.Summary = map[string]int{"total": len(names), "blocked": len(out.Blocked), "skipped": len(out.Skipped)}
	b, _ := json.Marshal(out)
	return vendorfake.Response{Status: http.StatusOK, Body: b}
}

// positive reads an optional positive integer query parameter.
func positive(r *vendorfake.Request, name string, def int) (int, *vendorfake.Response) {
	v := r.Query.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		resp := errorDto(http.StatusBadRequest, "querystring/"+name+" must be integer >= 1")
		return 0, &resp
	}
	return n, nil
}

func (s *Server) list(r *vendorfake.Request) vendorfake.Response {
	page, bad := positive(r, "page", 1)
	if bad != nil {
		return *bad
	}
	size, bad := positive(r, s.opts.PageSizeParam, s.opts.DefaultPageSize)
	if bad != nil {
		return *bad
	}
	size = min(size, s.opts.MaxPageSize)
	s.mu.Lock()
	all := slices.Clone(s.contacts)
	s.mu.Unlock()
	// creation order, with ties kept as inserted; newest first reverses it
	slices.SortStableFunc(all, func(a, b Contact) int { return a.CreatedAt.Compare(b.CreatedAt) })
	if s.opts.Order == NewestFirst {
		slices.Reverse(all)
	}
	type item struct {
		ID          string `json:"id"`
		ContactID   string `json:"contact_id"`
		Email       string `json:"email"`
		Name        string `json:"name"`
		PhoneNumber string `json:"phone_number"`
		Reason      string `json:"reason"`
		CreatedAt   string `json:"created_at"`
	}
	out := struct {
		Data       []item `json:"data"`
		Total      int    `json:"total"`
		Page       int    `json:"page"`
		TotalPages int    `json:"total_pages"`
	}{Data: []item{}, Total: len(all), Page: page, TotalPages: (len(all) + size - 1) / size}
	from := min((page-1)*size, len(all))
	for _, c := range all[from:min(from+size, len(all))] {
		out.Data = append(out.Data, item{c.ID, c.ContactID, c.Email, c.Name, c.PhoneNumber, c.Reason, c.CreatedAt.UTC().Format(time.RFC3339)})
	}
	b, _ := json.Marshal(out)
	return vendorfake.Response{Status: http.StatusOK, Body: b}
}
