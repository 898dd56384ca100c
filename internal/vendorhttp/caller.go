package vendorhttp

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Counters are a client's request counters.
type Counters struct {
	Requests    atomic.Uint64 // requests sent
	RateLimited atomic.Uint64 // 429 answers
	Failed      atomic.Uint64 // requests that failed: no answer, non-2xx, or an unusable 2xx
	Rejected    atomic.Uint64 // calls refused before sending
	Waited      atomic.Int64  // nanoseconds spent waiting for the pace
}

// Caller makes paced, logged, counted requests for one vendor client.
//
// A Caller is safe for concurrent use by multiple goroutines once built;
// its fields must not change after the first call.
type Caller struct {
	Vendor  string // for log messages, e.g. "opencx"
	Base    string // base URL, no trailing slash
	Token   string
	Client  *http.Client
	Pacer   *Pacer
	Timeout time.Duration
	MaxBody int64
	Log     *slog.Logger
	// MaxHold caps how long a 429's Retry-After holds the pacer.
	MaxHold time.Duration
	// OnAnswer, if set, sees every answer that arrived (any status),
	// before Call returns; it may read headers and hold the pacer.
	OnAnswer func(resp Response, now time.Time)
	Counters Counters
}

// Call waits for the pace, sends one request (payload marshalled as JSON
// unless nil) and returns the answer. err is non-nil only when no complete
// answer arrived: the pace wait failed (ctx), the payload did not marshal,
// or the exchange failed; resp.Status may then still be set (a 2xx whose
// body was cut). A 429 is counted and its Retry-After (seconds) holds the
// pacer.
func (c *Caller) Call(ctx context.Context, op, method, pathQuery string, payload any) (resp Response, err error) {
	var body []byte
	if payload != nil {
		if body, err = json.Marshal(payload); err != nil {
			return Response{}, err
		}
	}
	release, waited, err := c.Pacer.Acquire(ctx)
	c.Counters.Waited.Add(int64(waited))
	if err != nil {
		return Response{}, err
	}
	defer release()
	c.Counters.Requests.Add(1)
	start := time.Now()
	resp, err = Do(ctx, c.Client, Request{
		Method: method, URL: c.Base + pathQuery, Token: c.Token, Body: body, Timeout: c.Timeout, MaxBody: c.MaxBody,
	})
	c.Log.LogAttrs(ctx, slog.LevelDebug, c.Vendor+" request", slog.String("op", op), slog.String("method", method),
		slog.String("path", pathQuery), slog.Int("status", resp.Status), slog.Duration("took", time.Since(start)),
		slog.Duration("paced", waited))
	if err != nil || resp.Status/100 != 2 || resp.TooLarge {
		c.Counters.Failed.Add(1)
	}
	if resp.Status != 0 && c.OnAnswer != nil {
		c.OnAnswer(resp, time.Now())
	}
	if resp.Status == http.StatusTooManyRequests {
		c.Counters.RateLimited.Add(1)
		d, inFlight, _ := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		if d > 0 {
			c.Pacer.HoldUntil(time.Now().Add(min(d, c.MaxHold)))
		}
		c.Log.LogAttrs(ctx, slog.LevelWarn, c.Vendor+" rate limited", slog.String("op", op),
			slog.Duration("retry_after", d), slog.Bool("in_flight_limit", inFlight))
	}
	return resp, err
}

// Redact returns s with every occurrence of the token replaced by
// "[token]": for any text taken from an answer (a vendor that echoes the
// Authorization header in an error body) before it goes into an error.
func (c *Caller) Redact(s string) string { return RedactToken(s, c.Token) }

// RedactToken returns s with every occurrence of token (if not empty)
// replaced by "[token]".
func RedactToken(s, token string) string {
	if token == "" || !strings.Contains(s, token) {
		return s
	}
	return strings.ReplaceAll(s, token, "[token]")
}

// BadResponse counts a 2xx whose body could not be used.
func (c *Caller) BadResponse() { c.Counters.Failed.Add(1) }

// Temporary is the classification both vendors' errors share: no answer
// (status 0, or a 2xx whose body was cut), 408, 429 and 5xx are worth a
// retry; any other status is not. permanentCause overrides everything (a
// validation failure, an oversized or unreadable 2xx).
func Temporary(status int, permanentCause bool) bool {
	switch {
	case permanentCause:
		return false
	case status == 0, status/100 == 2:
		return true
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500:
		return true
	}
	return false
}

// Defaults shared by both vendor clients.
const (
	DefaultTimeout = 30 * time.Second
	DefaultMaxBody = 4 << 20
	// DefaultMaxRetryAfter caps how long a Retry-After holds a client.
	DefaultMaxRetryAfter = time.Hour
)

// CallerConfig is what [NewCaller] needs; zero values mean defaults.
type CallerConfig struct {
	Vendor                  string // error and log prefix, e.g. "opencx"
	BaseURL, DefaultBaseURL string
	Token                   string
	HTTPClient              *http.Client  // nil: one that does not follow redirects
	Timeout                 time.Duration // 0: DefaultTimeout; < 0: none
	MaxBody                 int64         // ≤ 0: DefaultMaxBody
	MaxRetryAfter           time.Duration // ≤ 0: DefaultMaxRetryAfter
	Logger                  *slog.Logger  // nil: discard
	Pacer                   PacerConfig
}

// NewCaller checks the token and the base URL and returns a Caller with
// the defaults filled in. Its errors start with "<vendor>: " and never
// contain the token.
func NewCaller(cfg CallerConfig) (*Caller, error) {
	if err := CheckToken(cfg.Token); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Vendor, err)
	}
	base, err := ParseBaseURL(cfg.BaseURL, cfg.DefaultBaseURL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Vendor, err)
	}
	c := &Caller{Vendor: cfg.Vendor, Base: base, Token: cfg.Token, Client: cfg.HTTPClient, Timeout: cfg.Timeout,
		MaxBody: cfg.MaxBody, Log: cfg.Logger, Pacer: NewPacer(cfg.Pacer), MaxHold: cfg.MaxRetryAfter}
	if c.MaxHold <= 0 {
		c.MaxHold = DefaultMaxRetryAfter
	}
	if c.Client == nil {
		c.Client = &http.Client{CheckRedirect: NoRedirect}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxBody <= 0 {
		c.MaxBody = DefaultMaxBody
	}
	return c, nil
}

// ErrorText formats a vendor error the same way for both clients:
// "<vendor>: <op>: <status> <detail> [trace <id>]: <cause>", each part only
// when present (detail defaults to the status text). A cause's own
// "<vendor>: " prefix is dropped.
func ErrorText(vendor, op string, status int, detail, trace string, cause error) string {
	var b strings.Builder
	b.WriteString(vendor + ": " + op)
	if status != 0 {
		if detail == "" {
			detail = http.StatusText(status)
		}
		b.WriteString(": " + strconv.Itoa(status))
		if detail != "" {
			b.WriteString(" " + detail)
		}
		if trace != "" {
			b.WriteString(" [trace " + trace + "]")
		}
	}
	if cause != nil {
		b.WriteString(": " + strings.TrimPrefix(cause.Error(), vendor+": "))
	}
	return b.String()
}
