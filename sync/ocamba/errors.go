package ocamba

import (
	"errors"
	"net/http"
	"time"

	"github.com/sendguard/sendguard/internal/vendorhttp"
)

// Sentinel causes carried in [Error.Err]. Match them with errors.Is.
var (
	// ErrInvalidContact: the contact is neither an E.164 phone number nor an
	// email address (see [ValidContact]); no request was sent.
	ErrInvalidContact = errors.New("ocamba: contact is neither an E.164 phone number nor an email address")
	// ErrTooLarge: a 2xx answer's body was larger than
	// [Config.MaxBodyBytes].
	ErrTooLarge = errors.New("ocamba: response body too large")
	// ErrBadResponse: a 2xx answer's body is not JSON or does not follow
	// the documented schema.
	ErrBadResponse = errors.New("ocamba: response does not follow the documented schema")
)

// Error is the error every [Client] call returns. It carries the HTTP
// status (0 if no answer arrived), Ocamba's error body ({code, title,
// message, trace_id}), the Retry-After of a 429, and the underlying cause.
// Its text never contains the token.
//
// Use [Error.Temporary] to decide between retrying and giving up.
type Error struct {
	Op         string        // the call, e.g. "create blocked contact"
	StatusCode int           // HTTP status; 0 if no answer arrived
	Title      string        // the body's "title", e.g. "Bad request."
	Message    string        // the body's "message", e.g. "The request body is not valid."
	TraceID    string        // the body's "trace_id"
	RetryAfter time.Duration // from Retry-After (seconds), if any
	// WaitInFlight is set by "Retry-After: -1": the parallel limit was hit;
	// retry once one of your in-flight requests has finished (see
	// [Client.AwaitInFlight]).
	WaitInFlight bool
	Err          error // the cause: a network error, a context error, or a sentinel above
}

// Error returns "ocamba: <op>: <status> <title> <message> [trace <id>]"
// or "ocamba: <op>: <cause>".
func (e *Error) Error() string {
	detail := e.Title
	if detail == "" {
		detail = http.StatusText(e.StatusCode)
	}
	if e.Message != "" {
		detail += " " + e.Message
	}
	if e.WaitInFlight {
		detail += " (too many requests in flight)"
	}
	return vendorhttp.ErrorText("ocamba", e.Op, e.StatusCode, detail, e.TraceID, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether the same call may succeed later: true for no
// answer (network errors, timeouts, a body cut short, a context error),
// 408, 429 and 5xx; false for 3xx, other 4xx (400, 401, 403, 404, 409 ...),
// an invalid contact, and a 2xx whose body was too large or broke the
// schema.
func (e *Error) Temporary() bool {
	return vendorhttp.Temporary(e.StatusCode,
		errors.Is(e.Err, ErrInvalidContact) || errors.Is(e.Err, ErrTooLarge) || errors.Is(e.Err, ErrBadResponse))
}

// Accepted reports whether Ocamba answered 2xx: the request was carried
// out even though its answer could not be read. For a create, the contact
// is blocked at Ocamba but its id is unknown.
func (e *Error) Accepted() bool { return e.StatusCode/100 == 2 }
