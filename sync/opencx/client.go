package opencx

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
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
	DefaultTimeout           = 30 * time.Second
	DefaultMaxBodyBytes      = 4 << 20
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
	base, token string
	hc          *http.Client
	pacer       *vendorhttp.Pacer
	pageSize    int
	pageParam   string
	timeout     time.Duration
	maxBody     int64
	log         *slog.Logger
	requests    atomic.Uint64
	rateLimited atomic.Uint64
	failed      atomic.Uint64
	rejected    atomic.Uint64
	waited      atomic.Int64
}

// New returns a Client for cfg. It returns an error if the token is missing
// or malformed or the base URL is not an absolute http(s) URL.
func New(cfg Config) (*Client, error) {
	if err := vendorhttp.CheckToken(cfg.Token); err != nil {
		return nil, fmt.Errorf("opencx: %w", err)
	}
	base, err := vendorhttp.ParseBaseURL(cfg.BaseURL, DefaultBaseURL)
	if err != nil {
		return nil, fmt.Errorf("opencx: %w", err)
	}
	c := &Client{
		base: base, token: cfg.Token, hc: cfg.HTTPClient, log: cfg.Logger,
		pageSize: cfg.PageSize, pageParam: cfg.PageSizeParam, timeout: cfg.Timeout, maxBody: cfg.MaxBodyBytes,
	}
	if c.hc == nil {
		c.hc = &http.Client{CheckRedirect: vendorhttp.NoRedirect}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.pageSize == 0 {
		c.pageSize = DefaultPageSize
	}
	if c.pageParam == "" {
		c.pageParam = DefaultPageSizeParam
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBodyBytes
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
	c.pacer = vendorhttp.NewPacer(pc)
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
	return ClientStats{
		Requests: c.requests.Load(), RateLimited: c.rateLimited.Load(), Errors: c.failed.Load(),
		Rejected: c.rejected.Load(), Waited: time.Duration(c.waited.Load()), InFlight: c.pacer.InFlight(),
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
	var body []byte
	if payload != nil {
		var err error
		if body, err = json.Marshal(payload); err != nil {
			return vendorhttp.Response{}, &Error{Op: op, Err: err}
		}
	}
	release, waited, err := c.pacer.Acquire(ctx)
	c.waited.Add(int64(waited))
	if err != nil {
		return vendorhttp.Response{}, &Error{Op: op, Err: err}
	}
	defer release()
	c.requests.Add(1)
	start := time.Now()
	resp, err := vendorhttp.Do(ctx, c.hc, vendorhttp.Request{
		Method: method, URL: c.base + pathQuery, Token: c.token, Body: body,
		Timeout: c.timeout, MaxBody: c.maxBody,
	})
	c.log.LogAttrs(ctx, slog.LevelDebug, "opencx request", slog.String("op", op), slog.String("method", method),
		slog.String("path", pathQuery), slog.Int("status", resp.Status), slog.Duration("took", time.Since(start)),
		slog.Duration("paced", waited))
	if err != nil {
		c.failed.Add(1)
		return resp, &Error{Op: op, StatusCode: resp.Status, Err: err}
	}
	if resp.Status/100 == 2 {
		if resp.TooLarge {
			c.failed.Add(1)
			return resp, &Error{Op: op, StatusCode: resp.Status, Err: ErrTooLarge}
		}
		return resp, nil
	}
	c.failed.Add(1)
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
	if d, _, ok := vendorhttp.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = d
	}
	if resp.Status == http.StatusTooManyRequests {
		c.rateLimited.Add(1)
		if e.RetryAfter > 0 {
			c.pacer.HoldUntil(time.Now().Add(e.RetryAfter))
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "opencx rate limited", slog.String("op", op),
			slog.Duration("retry_after", e.RetryAfter))
	}
	return resp, e
}

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
