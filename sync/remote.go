package sync

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

// Remote is one vendor blocklist the [Engine] keeps in agreement with the
// local store. [NewOpenCX] and [NewOcamba] adapt the two vendor clients;
// anything else that can list and add blocks can be a Remote too.
//
// The engine calls one Remote from one goroutine at a time (its passes are
// serialized per remote), but [StatsReporter.RequestStats] may be called
// concurrently with the other methods. Every call that does I/O is one
// attempt: the engine retries, paces its retries and decides what a failure
// means from the error (see [RemoteError]).
type Remote interface {
	// Name names the remote: the source of the blocks pulled from it, and
	// (as "remote/<name>") its change-log consumer. It must be non-empty,
	// stable across restarts, and unique among an engine's remotes.
	Name() string

	// Accepts says whether c can be pushed to the remote. If ok is false
	// and why is empty, the remote does not handle c's kind at all (OpenCX
	// and phone numbers): the record is skipped. If ok is false and why is
	// not empty, c is of a kind the remote handles but a value it refuses:
	// the record goes to the remote's dead letters with why as the reason.
	Accepts(c normalize.Contact) (ok bool, why string)

	// Push delivers block records, in order, to the remote. recs is not
	// empty; every record is a block of a contact the remote accepts. The
	// remote may deliver several at once (a batch) or just the first; it
	// returns one [Ack] for each record it delivered, in order, from the
	// first: acked[i] is for recs[i]. If err is not nil it is about
	// recs[len(acked)], which was not delivered. Push returns at least one
	// Ack or an error. It must not retain recs.
	Push(ctx context.Context, recs []storage.Record) (acked []Ack, err error)

	// Pull fetches one page of the remote's list (one request). The engine
	// starts every pull at Cursor.Page 1 and asks for the next page while
	// [Page.More] is true, retrying a failed page.
	Pull(ctx context.Context, cur Cursor) (Page, error)
}

// StatsReporter is implemented by a [Remote] that counts its requests.
// RequestStats must be safe to call concurrently with the Remote's other
// methods.
type StatsReporter interface {
	RequestStats() RequestStats
}

// Redactor is implemented by a [Remote] that holds a secret (a token).
// The engine passes every text it stores or logs about any of its remotes
// (dead-letter reasons, last errors, the errors it returns) through the
// Redact of every remote that implements it, so that no configured token
// is kept or shown, even when a vendor echoes one in an error body.
// Redact returns s with the secrets replaced; it must be safe for
// concurrent use.
type Redactor interface {
	Redact(s string) string
}

// RequestStats are a remote client's counters since it was made.
type RequestStats struct {
	Requests    uint64 // HTTP requests sent
	RateLimited uint64 // answered 429 Too Many Requests
}

// Ack acknowledges the delivery of one record to a [Remote].
type Ack struct {
	Seq uint64 // the record's Seq
	// ID is the remote's id for the new entry, if it gave one. The engine
	// remembers it, so that the entry is recognized in later pulls even
	// when the remote masks its contact.
	ID string
}

// Cursor says which page [Remote.Pull] should fetch.
type Cursor struct {
	// Page is the page number within this pull, from 1.
	Page int
	// Next is the previous page's [Page].Next (nil on page 1): where the
	// remote said this page starts, for remotes that need more than a
	// page number.
	Next []byte
	// Since is the State of the last page the engine applied in earlier
	// pulls (nil if none): the remote's incremental watermark. It is the
	// same for every page of one pull. It is nil, whatever the stored
	// watermark, in a full pull: the first, and then one every
	// [WithFullPull], so that entries that appear late with an old
	// creation time are seen.
	Since []byte
	// State is the State of the previous page of this pull; on page 1,
	// the stored watermark (nil if none), even in a full pull.
	State []byte
}

// Page is one page of a remote's list.
type Page struct {
	Blocks []RemoteBlock
	// More reports whether another page follows in this pull.
	More bool
	// Next, if not nil, is handed back in the next page's Cursor.Next.
	Next []byte
	// Total is the number of entries the pull asked for (the remote's
	// whole list in a full pull), if the remote says (0 if not). When a
	// full pull (Cursor.Since nil) reports the same Total on every page
	// and every entry's contact is known (none masked and unknown), the
	// engine takes it as a complete picture of the list: contacts it
	// marked as still listed after a local unblock (or whose pushed block
	// lapsed) that the list no longer holds are unmarked.
	Total int
	// State is the remote's watermark once this page (and every page
	// before it in this pull) has been applied, or nil if the remote keeps
	// none (a full scan every time). The engine stores it after applying
	// the page and hands it back as Cursor.Since in the next pull.
	State []byte
}

// RemoteBlock is one entry of a remote's list.
type RemoteBlock struct {
	// ID is the remote's id for the entry; "" if it has none. Entries are
	// deduplicated by ID, and an ID the engine has seen before (pushed or
	// pulled) is not applied again.
	ID string
	// Kind is the kind of Value if the remote says (0: detect it).
	Kind normalize.Kind
	// Value is the contact as the remote lists it; the engine normalizes
	// it. Ignored when Masked.
	Value string
	// Masked reports that the remote hid the value ("* * * …"). A masked
	// value never becomes a key: the engine resolves the entry through its
	// ID if the engine pushed it, and otherwise counts it as skipped.
	Masked    bool
	Reason    string
	CreatedAt time.Time // when the remote listed it; zero if unknown
}

// ErrorClass says what a failed remote call means for the engine.
type ErrorClass uint8

const (
	// Temporary failures (network errors, timeouts, 408, 429, 5xx) are
	// retried with backoff; the record or page is never given up.
	Temporary ErrorClass = iota
	// Permanent failures (400 and the other 4xx but 401, 403, 404 and
	// 405; a value the remote refuses; an answer that breaks the
	// documented schema) are not retried: a
	// pushed record goes to the dead letters with the remote's message,
	// and a pull stops until the next pass (after [WithPermanentRetries]
	// more tries for a page whose answer broke the schema).
	Permanent
	// Unauthorized failures (401, 403) are configuration errors: a bad
	// token or a missing scope. They stop the remote's pass, leave every
	// record pending, and are reported; the next pass tries again.
	Unauthorized
	// Unavailable failures (a redirect, 404 or 405 from an endpoint the
	// vendor documents) say that the endpoint is not where it should be:
	// a wrong base URL, or a gateway answering for the vendor during a
	// deploy or an outage. Like Unauthorized failures they would fail
	// every record alike, so they stop the remote's pass, leave every
	// record pending (never dead-lettered), and are reported; the next
	// pass tries again.
	Unavailable
)

// String returns "temporary", "permanent", "unauthorized" or
// "unavailable".
func (c ErrorClass) String() string {
	switch c {
	case Permanent:
		return "permanent"
	case Unauthorized:
		return "unauthorized"
	case Unavailable:
		return "unavailable"
	}
	return "temporary"
}

// ErrUnauthorized is matched (errors.Is) by every [RemoteError] of class
// [Unauthorized].
var ErrUnauthorized = errors.New("sync: remote refused the credentials")

// ErrUnavailable is matched (errors.Is) by every [RemoteError] of class
// [Unavailable].
var ErrUnavailable = errors.New("sync: remote endpoint unavailable (redirect, 404 or 405)")

// RemoteError is a classified failure of a [Remote] call. Remotes return it
// (or wrap it) so that the engine knows whether to retry. An error that is
// not a RemoteError is classified by a Temporary() bool method if it has
// one, and otherwise treated as temporary: an unknown failure never drops a
// record.
type RemoteError struct {
	Class ErrorClass
	// Status is the HTTP status, 0 if no answer arrived.
	Status int
	// Message is the remote's own explanation, for dead letters and logs.
	// It never contains a token.
	Message string
	// RetryAfter is the least the remote asked to wait before the next
	// request (Retry-After).
	RetryAfter time.Duration
	// RateLimited reports a 429: the request was refused, not processed.
	RateLimited bool
	// WaitInFlight reports a 429 for too many concurrent requests
	// (Ocamba's Retry-After: -1): retry shortly.
	WaitInFlight bool
	// Err is the underlying error, if any.
	Err error
}

// Error returns the message, or the underlying error's text.
func (e *RemoteError) Error() string {
	switch {
	case e.Err != nil && e.Message != "" && !strings.Contains(e.Err.Error(), e.Message):
		return e.Err.Error() + ": " + e.Message
	case e.Err != nil:
		return e.Err.Error()
	case e.Message != "":
		return "sync: remote: " + e.Message
	}
	return "sync: remote: " + e.Class.String() + " failure"
}

// Unwrap returns the underlying error.
func (e *RemoteError) Unwrap() error { return e.Err }

// Is reports whether target is [ErrUnauthorized] or [ErrUnavailable] and e
// is of that class.
func (e *RemoteError) Is(target error) bool {
	return target == ErrUnauthorized && e.Class == Unauthorized ||
		target == ErrUnavailable && e.Class == Unavailable
}

// classify reads err as a RemoteError.
func classify(err error) *RemoteError {
	var re *RemoteError
	if errors.As(err, &re) {
		return re
	}
	out := &RemoteError{Class: Temporary, Err: err}
	var t interface{ Temporary() bool }
	if errors.As(err, &t) && !t.Temporary() {
		var ne net.Error
		if !errors.As(err, &ne) { // net errors' Temporary is deprecated and unreliable
			out.Class = Permanent
		}
	}
	return out
}

// vendorError classifies a vendor client's error by its HTTP status and
// the client's own temporary/permanent verdict: 401 and 403 are
// Unauthorized, and a redirect, 404 or 405 is Unavailable, whatever the
// client says. Both vendors' endpoints are documented, so those answers
// are about the endpoint (a wrong base URL, a gateway during an outage),
// never about the record sent.
func vendorError(err error, status int, temporary bool, msg string, retryAfter time.Duration) *RemoteError {
	re := &RemoteError{Status: status, Message: msg, RetryAfter: retryAfter, Err: err}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		re.Class = Unauthorized
	case status/100 == 3 || status == http.StatusNotFound || status == http.StatusMethodNotAllowed:
		re.Class = Unavailable
	case temporary:
		re.Class = Temporary
		re.RateLimited = status == http.StatusTooManyRequests
	default:
		re.Class = Permanent
	}
	return re
}
