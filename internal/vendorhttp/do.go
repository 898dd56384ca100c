package vendorhttp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrTokenInvalid is returned by [CheckToken] for an empty token or one with
// characters that cannot go in a header. Its text never contains the token.
var ErrTokenInvalid = errors.New("token is empty or has spaces or control characters")

// CheckToken reports whether token can be sent as a Bearer token.
func CheckToken(token string) error {
	if token == "" {
		return ErrTokenInvalid
	}
	for _, r := range token {
		if r > unicode.MaxASCII || r <= ' ' || r == 0x7f {
			return ErrTokenInvalid
		}
	}
	return nil
}

// ParseBaseURL parses an absolute http(s) URL with a host and no query or
// fragment, and returns it with any trailing slash removed. raw "" gives def.
func ParseBaseURL(raw, def string) (string, error) {
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("base URL does not parse: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("base URL must be an absolute http or https URL")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", errors.New("base URL must have no query, fragment or user info")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// NoRedirect is a [net/http.Client.CheckRedirect] that does not follow
// redirects: the 3xx answer is returned as it is.
func NoRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Request is one HTTP exchange to make.
type Request struct {
	Method string
	URL    string
	Token  string // sent as "Authorization: Bearer <Token>"
	Body   []byte // sent as application/json when non-nil
	// Timeout bounds the whole exchange, body included; ≤ 0 means none.
	Timeout time.Duration
	// MaxBody bounds the body read from a 2xx answer; a longer body sets
	// [Response.TooLarge]. Error bodies are cut at min(MaxBody, 64 KiB).
	MaxBody int64
}

// Response is what came back.
type Response struct {
	Status   int
	Header   http.Header
	Body     []byte
	TooLarge bool // the body was longer than allowed and was cut
}

const maxErrorBody = 64 << 10

// Do makes one exchange with client. It returns an error only if no complete
// answer arrived (network error, timeout, ctx done, a body cut short); any
// HTTP status is a Response. The error never contains the token.
func Do(ctx context.Context, client *http.Client, r Request) (Response, error) {
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return Response{}, err
	}
	if r.Body == nil {
		// net/http replays a bodiless GET by itself when a reused
		// connection breaks after the request was written: a second
		// request at the vendor that the pacer never saw, enough to cross
		// a rate limit. A request with a body and no GetBody is not
		// replayable; an empty body is still sent as none (net/http
		// probes it and finds it empty). The caller retries, paced.
		req.Body = io.NopCloser(strings.NewReader(""))
	}
	req.Header.Set("Authorization", "Bearer "+r.Token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "sendguard")
	if r.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	limit := max(r.MaxBody, 1)
	if resp.StatusCode/100 != 2 {
		limit = min(limit, maxErrorBody)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	out := Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	if err != nil {
		return out, fmt.Errorf("read response body: %w", err)
	}
	if int64(len(b)) > limit {
		out.Body, out.TooLarge = b[:limit], true
	}
	return out, nil
}

// ParseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date
// (relative to now). A negative number (Ocamba's "-1") sets inFlight: retry
// once one of your in-flight requests has finished. ok is false for an empty
// or unreadable value.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, inFlight, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, true, true
		}
		return time.Duration(min(n, 1<<31)) * time.Second, false, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), false, true
	}
	return 0, false, false
}

// ParseResetSeconds reads an X-RateLimit-Reset value, in seconds until the
// window refreshes. A value above 10⁹ is taken as a Unix time instead, as
// some APIs send. ok is false for an empty or unreadable value.
func ParseResetSeconds(v string, now time.Time) (d time.Duration, ok bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	if n > 1e9 {
		return max(time.Unix(n, 0).Sub(now), 0), true
	}
	return time.Duration(n) * time.Second, true
}

// Snippet returns a short printable excerpt of a body that is not the
// expected JSON, for an error message.
func Snippet(b []byte) string {
	const maxLen = 200
	s := strings.Map(func(r rune) rune {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, string(b))
	s = strings.TrimSpace(s)
	if len(s) > maxLen {
		n := maxLen
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	return s
}
