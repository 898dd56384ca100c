package opencx

import (
	"errors"
	"net/http"
	"time"

	"github.com/sendguard/sendguard/internal/vendorhttp"
)

// Sentinel causes carried in [Error.Err]. Match them with errors.Is.
var (
	// ErrInvalidEmail: the email does not match OpenCX's documented
	// pattern (see [ValidEmail]); no request was sent.
	ErrInvalidEmail = errors.New("opencx: email does not match the documented pattern")
	// ErrInvalidDomain: a domain is empty or not a plain host name; no
	// request was sent.
	ErrInvalidDomain = errors.New("opencx: invalid domain")
	// ErrTooLarge: a 2xx answer's body was larger than
	// [Config.MaxBodyBytes].
	ErrTooLarge = errors.New("opencx: response body too large")
	// ErrBadResponse: a 2xx answer's body is not JSON or does not follow
	// the documented schema.
	ErrBadResponse = errors.New("opencx: response does not follow the documented schema")
)

// Error is the error every [Client] call returns. It carries the HTTP
// status (0 if no answer arrived), OpenCX's ErrorDto ({statusCode, message,
// error}), any Retry-After, and the underlying cause. Its text never
// contains the token.
//
// Use [Error.Temporary] to decide between retrying and giving up.
type Error struct {
	Op         string        // the call, e.g. "block contact"
	StatusCode int           // HTTP status; 0 if no answer arrived
	Message    string        // the body's "message" (several joined with "; ")
	ErrorText  string        // the body's "error", e.g. "Bad Request"
	TraceID    string        // an X-Request-Id or X-Trace-Id header, if any (undocumented)
	RetryAfter time.Duration // from a Retry-After header, if any
	Err        error         // the cause: a network error, a context error, or a sentinel above
}

// Error returns "opencx: <op>: <status> <text>: <message> (<error>)
// [trace <id>]" or "opencx: <op>: <cause>".
func (e *Error) Error() string {
	detail := http.StatusText(e.StatusCode)
	if e.Message != "" {
		detail += ": " + e.Message
	}
	if e.ErrorText != "" && e.ErrorText != http.StatusText(e.StatusCode) {
		detail += " (" + e.ErrorText + ")"
	}
	return vendorhttp.ErrorText("opencx", e.Op, e.StatusCode, detail, e.TraceID, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether the same call may succeed later: true for no
// answer (network errors, timeouts, a body cut short, a context error),
// 408, 429 and 5xx; false for 3xx, other 4xx (400, 401, 403, 404, 415, 422
// ...), client-side validation failures, and a 2xx whose body was too large
// or broke the schema.
func (e *Error) Temporary() bool {
	return vendorhttp.Temporary(e.StatusCode, errors.Is(e.Err, ErrInvalidEmail) || errors.Is(e.Err, ErrInvalidDomain) ||
		errors.Is(e.Err, ErrTooLarge) || errors.Is(e.Err, ErrBadResponse))
}

// Accepted reports whether OpenCX answered 2xx: the request was carried
// out even though its answer could not be read.
func (e *Error) Accepted() bool { return e.StatusCode/100 == 2 }
