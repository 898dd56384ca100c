// Package opencxtest is a fake OpenCX blocklist API for tests: a real
// [net/http/httptest] server that behaves as OpenCX documents, takes the
// conservative reading where OpenCX is silent, records what it receives and
// injects faults on demand.
//
// # Overview
//
// [NewServer] listens on loopback TCP; [NewInMemoryServer] serves over an
// in-memory network reached only through [Server.Client], and so works
// inside a [testing/synctest] bubble, where fake time advances while the
// client waits for its pace.
//
//	srv := opencxtest.NewInMemoryServer(opencxtest.Options{})
//	defer srv.Close()
//	c, _ := opencx.New(opencx.Config{BaseURL: srv.URL(), Token: srv.Token(), HTTPClient: srv.Client()})
//
// # Behaviour
//
//   - Auth: "Authorization: Bearer <token>"; anything else gets 401 with the
//     documented body {"statusCode":401,"message":"Unauthorized","error":"Unauthorized"}.
//     With [Options.Scopes] set, a key lacking blocklist:read or
//     blocklist:write gets 403.
//   - POST /blocklist/contacts: Content-Type must be application/json (else
//     415), the body an object with a string "email" matching the documented
//     pattern and an optional string "reason" (else 400 with an ErrorDto).
//     200 with an empty body. A duplicate (same email, any case) is handled
//     as [Options.Duplicates] says: by default 200 and a second entry (the
//     conservative reading: OpenCX does not document it).
//   - POST /blocklist/domains: "domains" is a comma-separated string
//     (required, non-empty); each must be a plain host name (else 400).
//     Already blocked domains are listed in "skipped".
//   - GET /blocklist/contacts?page=N&limit=M: page-number pagination with
//     "data", "total", "page", "total_pages"; the size defaults to 20 and is
//     silently capped at [Options.MaxPageSize]; newest first by default.
//   - Any other route: 404 with an ErrorDto.
//   - Rate: 100 requests in any 60 s window by default; beyond, 429 with an
//     ErrorDto (and Retry-After only if [Options.RetryAfter]).
//
// The fake checks emails (the documented pattern, read by hand: its
// lookaheads are beyond Go's regexp) and domains with its own code, not
// package opencx's, so that a mistake in the client is not mirrored by the
// fake.
//
// # Recording, limits and faults
//
// A [Server] embeds the shared fake machinery, whose methods it promotes:
// URL, Client, Close, Requests (every request: method, path, query, headers
// with the token redacted, body, arrival time, status answered, faults
// applied), SetFaults (seeded faults: 5xx bursts, slow answers, connection
// resets, truncated, malformed or schema-breaking 2xx bodies; see [Faults]),
// FaultCounts, RateViolations (429s for the rate), InFlightRejections,
// PeakInFlight and TraceID. [Server.MaxRate] and RateViolations let a test
// assert that a client never exceeded its pace; [Server.Duplicates] counts
// repeated blocks.
//
// # Concurrency
//
// A [Server] is safe for concurrent use by multiple goroutines.
package opencxtest
