package ocamba

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sendguard/sendguard/internal/vendorhttp"
)

// Defaults of [Config].
const (
	DefaultBaseURL           = "https://api.ocamba.com"
	DefaultRequestsPerSecond = 10  // documented burst: 10/s
	DefaultRequestsPerMinute = 150 // documented steady rate: 150/min
	DefaultBurst             = 10
	DefaultMaxInFlight       = 1
	DefaultPageSize          = 100
	DefaultTimeout           = vendorhttp.DefaultTimeout
	DefaultMaxBodyBytes      = vendorhttp.DefaultMaxBody
	DefaultMaxRetryAfter     = vendorhttp.DefaultMaxRetryAfter
)

// windowSlack lengthens each pacing window a little, for the time between
// sending a request and Ocamba counting it.
const windowSlack = 100 * time.Millisecond

// Config configures a [Client]. Only Token is required; the zero value of
// every other field means its default.
type Config struct {
	// BaseURL is the API root (paths start with /v1/hood). The default
	// value is [DefaultBaseURL]. Ocamba's docs also name
	// "https://api.ocamba.com/v1/hood" as the base: a trailing /v1/hood
	// (and a trailing slash) is dropped, so both forms work.
	BaseURL string
	// Token is the API token, sent as "Authorization: Bearer <Token>". It
	// is never logged nor put in an error. Required.
	Token string
	// HTTPClient makes the requests. The default is a client over
	// http.DefaultTransport that does not follow redirects.
	HTTPClient *http.Client
	// RequestsPerSecond is the short-window pace: no 1-second window (plus
	// a 100 ms margin), however aligned, holds more requests. The default
	// value is 10, Ocamba's documented burst. Negative disables it.
	RequestsPerSecond float64
	// RequestsPerMinute is the steady pace: no 60-second window (plus a
	// 100 ms margin) holds more requests. The default value is 150,
	// Ocamba's documented steady limit. Negative disables it.
	RequestsPerMinute float64
	// Burst is how many requests may go at once before the pace spreads
	// them evenly (at the lower of RequestsPerSecond and
	// RequestsPerMinute/60). The default value is 10.
	Burst int
	// MaxInFlight bounds concurrent requests (Ocamba has a parallel limit
	// whose number is not documented). The default value is 1.
	MaxInFlight int
	// PageSize is M in page=N,M. The default value is 100 (Ocamba's maximum
	// is not documented; see [Page.Next] for short pages).
	PageSize int
	// ReadGDPRFields, when true, adds read_gdpr_fields=true to reads so
	// that contacts come back unmasked (Ocamba audits such reads). nil
	// means true; point it at false to read masked values only.
	ReadGDPRFields *bool
	// Timeout bounds each request, body included (pacing waits are not
	// counted). The default value is 30s; a negative value means none.
	Timeout time.Duration
	// MaxBodyBytes bounds the body read from an answer. The default value
	// is 4 MiB.
	MaxBodyBytes int64
	// MaxRetryAfter caps how long a 429's Retry-After holds the client (no
	// request is sent meanwhile): a longer one, such as
	// "Retry-After: 999999999", holds it for MaxRetryAfter only. The
	// error still reports what Ocamba asked ([Error].RetryAfter). The default
	// value is 1 hour.
	MaxRetryAfter time.Duration
	// Logger receives a Debug line per request and a Warn line per 429.
	// Lines never carry the token; contacts are redacted. The default
	// discards everything.
	Logger *slog.Logger
}

// Client calls Ocamba Hood's blocked-contacts API. Each call is one attempt
// (after pacing): it does not retry; its error is an [*Error] that says
// whether a retry may help.
//
// A Client is safe for concurrent use by multiple goroutines.
type Client struct {
	call     *vendorhttp.Caller
	pageSize int
	gdpr     bool

	mu      sync.Mutex
	limits  RateLimit
	inLimit uint64 // 429s with Retry-After: -1
}

// New returns a Client for cfg. It returns an error if the token is missing
// or malformed or the base URL is not an absolute http(s) URL.
func New(cfg Config) (*Client, error) {
	c := &Client{pageSize: cfg.PageSize, gdpr: cfg.ReadGDPRFields == nil || *cfg.ReadGDPRFields}
	if c.pageSize <= 0 {
		c.pageSize = DefaultPageSize
	}
	rps, rpm := cfg.RequestsPerSecond, cfg.RequestsPerMinute
	if rps == 0 {
		rps = DefaultRequestsPerSecond
	}
	if rpm == 0 {
		rpm = DefaultRequestsPerMinute
	}
	burst := cfg.Burst
	if burst <= 0 {
		burst = DefaultBurst
	}
	maxInFlight := cfg.MaxInFlight
	if maxInFlight <= 0 {
		maxInFlight = DefaultMaxInFlight
	}
	pc := vendorhttp.PacerConfig{MaxInFlight: maxInFlight, Slack: windowSlack, Burst: burst}
	if w, ok := vendorhttp.WindowFor(rps, time.Second); ok {
		pc.Windows = append(pc.Windows, w)
		pc.Rate = rps
	}
	if w, ok := vendorhttp.WindowFor(rpm, time.Minute); ok {
		pc.Windows = append(pc.Windows, w)
		if pc.Rate == 0 || rpm/60 < pc.Rate {
			pc.Rate = rpm / 60
		}
	}
	var err error
	c.call, err = vendorhttp.NewCaller(vendorhttp.CallerConfig{
		Vendor: "ocamba", BaseURL: apiRoot(cfg.BaseURL), DefaultBaseURL: DefaultBaseURL, Token: cfg.Token,
		HTTPClient: cfg.HTTPClient, Timeout: cfg.Timeout, MaxBody: cfg.MaxBodyBytes, Logger: cfg.Logger, Pacer: pc,
		MaxRetryAfter: cfg.MaxRetryAfter,
	})
	if err != nil {
		return nil, err
	}
	c.call.OnAnswer = c.onAnswer
	return c, nil
}

// hoodPrefix starts every path the client sends.
const hoodPrefix = "/v1/hood"

// apiRoot drops a trailing /v1/hood (and trailing slashes) from a base URL:
// Ocamba's docs give the base both as https://api.ocamba.com (with full
// paths /v1/hood/...) and as https://api.ocamba.com/v1/hood. A base that
// is nothing but the prefix is left for [vendorhttp.NewCaller] to refuse.
func apiRoot(base string) string {
	if root, ok := strings.CutSuffix(strings.TrimRight(base, "/"), hoodPrefix); ok && root != "" {
		return strings.TrimRight(root, "/")
	}
	return base
}

// RateLimit is what the last X-RateLimit-* headers said.
type RateLimit struct {
	Limit, Remaining int
	Reset            time.Duration // until the window refreshes
	At               time.Time     // when they were read; zero if never
}

// ClientStats are a [Client]'s counters since it was made.
type ClientStats struct {
	Requests     uint64        // HTTP requests sent
	RateLimited  uint64        // 429 answers
	WaitInFlight uint64        // 429 answers with Retry-After: -1 (parallel limit)
	Errors       uint64        // requests that failed: no answer, non-2xx, or an unusable 2xx
	Rejected     uint64        // calls refused before sending (invalid contact)
	Waited       time.Duration // total time spent waiting for the pace
	InFlight     int           // requests in flight now
	LastLimit    RateLimit     // the last rate-limit headers seen
}

// Stats returns the client's counters.
func (c *Client) Stats() ClientStats {
	n := &c.call.Counters
	c.mu.Lock()
	defer c.mu.Unlock()
	return ClientStats{
		Requests: n.Requests.Load(), RateLimited: n.RateLimited.Load(), WaitInFlight: c.inLimit,
		Errors: n.Failed.Load(), Rejected: n.Rejected.Load(), Waited: time.Duration(n.Waited.Load()),
		InFlight: c.call.Pacer.InFlight(), LastLimit: c.limits,
	}
}

// AwaitInFlight returns once one of this client's requests that was in
// flight when it was called has finished, at once if none was, or with
// ctx's error. It is the wait that "Retry-After: -1" ([Error.WaitInFlight])
// asks for.
func (c *Client) AwaitInFlight(ctx context.Context) error { return c.call.Pacer.AwaitInFlight(ctx) }

// onAnswer reads the rate-limit headers of any answer; "Remaining: 0"
// holds every request until the window resets.
func (c *Client) onAnswer(resp vendorhttp.Response, now time.Time) {
	if resp.Status == http.StatusTooManyRequests {
		if _, inFlight, _ := vendorhttp.ParseRetryAfter(resp.Header.Get("Retry-After"), now); inFlight {
			c.mu.Lock()
			c.inLimit++
			c.mu.Unlock()
		}
		return
	}
	limit, err1 := strconv.Atoi(resp.Header.Get("X-RateLimit-Limit"))
	remaining, err2 := strconv.Atoi(resp.Header.Get("X-RateLimit-Remaining"))
	reset, ok := vendorhttp.ParseResetSeconds(resp.Header.Get("X-RateLimit-Reset"), now)
	if err1 != nil || err2 != nil || !ok {
		return
	}
	c.mu.Lock()
	c.limits = RateLimit{Limit: limit, Remaining: remaining, Reset: reset, At: now}
	c.mu.Unlock()
	if remaining <= 0 {
		c.call.Pacer.HoldUntil(now.Add(min(reset, maxHold)))
	}
}

// maxHold caps the hold that "X-RateLimit-Remaining: 0" asks for: Ocamba's
// longest documented window is a minute, so a longer X-RateLimit-Reset is
// a broken header, not a reason to stop sending for years.
const maxHold = time.Minute + windowSlack

// errorBody is Ocamba's documented error body.
type errorBody struct {
	Code    int    `json:"code"`
	Title   string `json:"title"`
	Message string `json:"message"`
	TraceID string `json:"trace_id"`
}

// do makes one paced request and returns the answer of a 2xx, or an
// [*Error].
func (c *Client) do(ctx context.Context, op, method, pathQuery string, payload any) (vendorhttp.Response, error) {
	resp, err := c.call.Call(ctx, op, method, pathQuery, payload)
	switch {
	case err != nil:
		return resp, &Error{Op: op, StatusCode: resp.Status, Err: err}
	case resp.Status/100 == 2 && resp.TooLarge:
		return resp, &Error{Op: op, StatusCode: resp.Status, Err: ErrTooLarge}
	case resp.Status/100 == 2:
		return resp, nil
	}
	e := &Error{Op: op, StatusCode: resp.Status}
	var body errorBody
	if json.Unmarshal(resp.Body, &body) == nil {
		e.Title, e.Message, e.TraceID = body.Title, body.Message, body.TraceID
	} else {
		e.Message = vendorhttp.Snippet(resp.Body)
	}
	// A gateway or a vendor may echo the request, Authorization included.
	e.Title, e.Message, e.TraceID = c.call.Redact(e.Title), c.call.Redact(e.Message), c.call.Redact(e.TraceID)
	e.RetryAfter, e.WaitInFlight, _ = vendorhttp.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return resp, e
}

// Redact returns s with the client's token replaced by "[token]". The
// client's errors are already redacted; Redact is for text from elsewhere
// that may carry it.
func (c *Client) Redact(s string) string { return c.call.Redact(s) }

func (c *Client) badResponse(op string, status int) error {
	c.call.BadResponse()
	return &Error{Op: op, StatusCode: status, Err: ErrBadResponse}
}
