// Package opencx is an HTTP client for OpenCX's blocklist API
// (https://api.open.cx), as documented and summarized in the project's
// vendor contract (shared/vendors/README.md, section 1).
//
// # Overview
//
// Three documented endpoints are covered:
//
//   - [Client.BlockContact]: POST /blocklist/contacts {"email", "reason"}.
//     Emails only; the email must match OpenCX's documented pattern
//     ([EmailPattern], checked by [ValidEmail] before anything is sent).
//   - [Client.BlockDomains]: POST /blocklist/domains {"domains": "a.com,
//     b.org", "reason"}; the answer lists what was blocked and what was
//     skipped as already blocked.
//   - [Client.ListContacts]: GET /blocklist/contacts?page=N&limit=M, one
//     page per call, page-number pagination up to total_pages.
//
// The other blocklist operations OpenCX lists (check, unblock, list domains)
// have no documented path, so this package does not guess one.
//
// This package knows nothing of the guard or its store: it is a plain
// client that a sync engine drives.
//
// # Undocumented details
//
// The name of the page-size parameter ([Config.PageSizeParam], default
// "limit") and its maximum are not documented: both are configurable, and
// the client relies only on total_pages. OpenCX documents no rate-limit
// headers; a Retry-After on a 429 is honoured if present. What a second
// block of the same email answers is not documented: the status comes back
// in the error.
//
// # Pacing
//
// Every request first waits for the client's pace (see [Config]): at most
// [Config.RequestsPerMinute] in any 60-second window, however aligned,
// spread evenly after a burst of [Config.Burst], at most
// [Config.MaxInFlight] at once, and none while a Retry-After from a 429 is
// running. Waiting respects the context and fails early when the context's
// deadline cannot be met.
//
// # Errors
//
// Each call is one attempt: the client never retries. Every error is an
// [*Error] carrying the status, OpenCX's ErrorDto message and error text,
// any Retry-After, and the cause. [Error.Temporary] says whether a retry
// may help (no answer, 408, 429, 5xx) or not (other 4xx, invalid input, a
// 2xx whose body is too large or does not follow the schema). The token is
// never logged and never appears in an error.
//
// # Concurrency
//
// A [Client] is safe for concurrent use by multiple goroutines.
//
// # Testing
//
// Package opencxtest is a fake OpenCX server that follows the same
// contract, with switchable faults and rate enforcement.
package opencx
