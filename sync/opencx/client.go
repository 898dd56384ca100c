package opencx

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sendguard/sendguard/internal/vendorhttp"
)

// Defaults of [Config].
const (
	DefaultBaseURL           = "https://api.open.cx"
	DefaultRequestsPerMinute = 100 // documented: 100 requests/min for standard endpoints
	DefaultBurst             = 10
	DefaultPageSize          = 100
	DefaultPageSizeParam     = "limit"
	DefaultTimeout           = vendorhttp.DefaultTimeout
	DefaultMaxBodyBytes      = vendorhttp.DefaultMaxBody
	DefaultMaxRetryAfter     = vendorhttp.DefaultMaxRetryAfter
)

// windowSlack lengthens each pacing window a little, for the time between
// sending a request and OpenCX counting it.
const windowSlack = 100 * time.Millisecond

// Config configures a [Client]. Only Token is required; the zero value of
// every other field means its default.
type Config struct {
	// BaseURL is the API root. The default value is [DefaultBaseURL].
	BaseURL string
	// Token is the API key, sent as "Authorization: Bearer <Token>". It is
	// never logged nor put in an error. Required.
	Token string
	// HTTPClient makes the requests. The default is a client over
	// http.DefaultTransport that does not follow redirects.
	HTTPClient *http.Client
	// RequestsPerMinute is the pace: no 60-second window (plus a 100 ms
	// margin), however aligned, holds more requests. The default value is
	// 100, OpenCX's documented limit. A negative value disables pacing.
	RequestsPerMinute float64
	// Burst is how many requests may go at once before the pace spreads
	// them evenly (RequestsPerMinute/60 per second). The default value is
	// 10.
	Burst int
	// MaxInFlight bounds concurrent requests. The default value is 1.
	MaxInFlight int
	// PageSize is the page size asked of [Client.ListContacts]. The
	// default value is 100; a negative value sends no size, leaving
	// OpenCX's default (documented: 20).
	PageSize int
	// PageSizeParam is the name of the page-size query parameter, which
	// OpenCX does not document. The default value is "limit".
	PageSizeParam string
	// Timeout bounds each request, body included (pacing waits are not
	// counted). The default value is 30s; a negative value means none.
	Timeout time.Duration
	// MaxBodyBytes bounds the body read from an answer. The default value
	// is 4 MiB.
	MaxBodyBytes int64
	// MaxRetryAfter caps how long a 429's Retry-After holds the client (no
	// request is sent meanwhile): a longer one, such as
	// "Retry-After: 999999999", holds it for MaxRetryAfter only. The
	// error still reports what OpenCX asked ([Error].RetryAfter). The default
	// value is 1 hour.
	MaxRetryAfter time.Duration
	// Logger receives a Debug line per request and a Warn line per 429.
	// Lines never carry the token; emails are redacted. The default
	// discards everything.
	Logger *slog.Logger
}

// Client calls OpenCX's blocklist API. Each call is one attempt (after
// pacing): it does not retry; its error is an [*Error] that says whether a
// retry may help.
//
// A Client is safe for concurrent use by multiple goroutines.
type Client struct {
	call      *vendorhttp.Caller
	pageSize  int
	pageParam string
}

// New returns a Client for cfg. It returns an error if the token is missing
// or malformed or the base URL is not an absolute http(s) URL.
func New(cfg Config) (*Client, error) {
	c := &Client{pageSize: cfg.PageSize, pageParam: cfg.PageSizeParam}
	if c.pageSize == 0 {
		c.pageSize = DefaultPageSize
	}
	if c.pageParam == "" {
		c.pageParam = DefaultPageSizeParam
	}
	rpm := cfg.RequestsPerMinute
	if rpm == 0 {
		rpm = DefaultRequestsPerMinute
	}
	burst := cfg.Burst
	if burst <= 0 {
		burst = DefaultBurst
	}
	pc := vendorhttp.PacerConfig{MaxInFlight: cfg.MaxInFlight, Slack: windowSlack}
	if w, ok := vendorhttp.WindowFor(rpm, time.Minute); ok {
		pc.Windows = []vendorhttp.Window{w}
		pc.Rate, pc.Burst = rpm/60, burst
	}
	var err error
	c.call, err = vendorhttp.NewCaller(vendorhttp.CallerConfig{
		Vendor: "opencx", BaseURL: cfg.BaseURL, DefaultBaseURL: DefaultBaseURL, Token: cfg.Token,
		HTTPClient: cfg.HTTPClient, Timeout: cfg.Timeout, MaxBody: cfg.MaxBodyBytes, Logger: cfg.Logger, Pacer: pc,
		MaxRetryAfter: cfg.MaxRetryAfter,
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ClientStats are a [Client]'s counters since it was made.
type ClientStats struct {
	Requests    uint64        // HTTP requests sent
	RateLimited uint64        // 429 answers
	Errors      uint64        // requests that failed: no answer, non-2xx, or an unreadable 2xx
	Rejected    uint64        // calls refused before sending (invalid email or domain)
	Waited      time.Duration // total time spent waiting for the pace
	InFlight    int           // requests in flight now
}

// Stats returns the client's counters.
func (c *Client) Stats() ClientStats {
	n := &c.call.Counters
	return ClientStats{
		Requests: n.Requests.Load(), RateLimited: n.RateLimited.Load(), Errors: n.Failed.Load(),
		Rejected: n.Rejected.Load(), Waited: time.Duration(n.Waited.Load()), InFlight: c.call.Pacer.InFlight(),
	}
}

// errorDto is OpenCX's documented error body. message may be a string or,
// as NestJS validation sends it, a list of strings.
type errorDto struct {
	StatusCode int             `json:"statusCode"`
	Message    json.RawMessage `json:"message"`
	Error      string          `json:"error"`
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
	e := &Error{Op: op, StatusCode: resp.Status, TraceID: resp.Header.Get("X-Request-Id")}
	if e.TraceID == "" {
		e.TraceID = resp.Header.Get("X-Trace-Id")
	}
	var dto errorDto
	if json.Unmarshal(resp.Body, &dto) == nil {
		e.Message, e.ErrorText = message(dto.Message), dto.Error
	} else {
		e.Message = vendorhttp.Snippet(resp.Body)
	}
	// A gateway or a vendor may echo the request, Authorization included.
	e.Message, e.ErrorText, e.TraceID = c.call.Redact(e.Message), c.call.Redact(e.ErrorText), c.call.Redact(e.TraceID)
	e.RetryAfter, _, _ = vendorhttp.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return resp, e
}

// Redact returns s with the client's token replaced by "[token]". The
// client's errors are already redacted; Redact is for text from elsewhere
// that may carry it.
func (c *Client) Redact(s string) string { return c.call.Redact(s) }

func message(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return strings.Join(list, "; ")
	}
	return ""
}
