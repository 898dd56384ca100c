// Package ocamba is an HTTP client for Ocamba Hood's blocked-contacts API
// (https://api.ocamba.com/v1/hood), as documented and summarized in the
// project's vendor contract (shared/vendors/README.md, section 2).
//
// # Overview
//
// The documented endpoints are covered:
//
//   - [Client.CreateBlockedContact]: POST /v1/hood/blocked-contacts
//     {"contact", "description"}, for an E.164 phone number or an email
//     address (checked by [ValidContact] before anything is sent). The
//     answer (201) echoes the contact masked: keep [Created.ID].
//   - [Client.ListBlockedContacts]: GET /v1/hood/blocked-contacts
//     ?page=N,M&sort=create_time[&create_time=rl:<ts>][&read_gdpr_fields=true],
//     one page per call; [Page.Next] gives the next query.
//   - [Client.GetBlockedContact]: GET /v1/hood/blocked-contacts/{id}.
//
// Ocamba documents no update, delete or "is X blocked" for blocked
// contacts, and warns that a create removes the contact's actionable from
// every profile that has it.
//
// This package knows nothing of the guard or its store: it is a plain
// client that a sync engine drives.
//
// # Masking
//
// Ocamba hides personal data as "* * * * * * * * * *" ([MaskedContact]):
// always in create answers, and in reads unless read_gdpr_fields=true is
// asked (and allowed). [Config.ReadGDPRFields] asks for it by default.
// Whether the list honours it is not documented, so any read may still
// come back masked: [BlockedContact.Masked] tells, and a masked value
// must never become a block key.
//
// # Times
//
// Ocamba's timestamps are "YYYY-MM-DD HH:MM:SS" in GMT; the client reads
// them (and RFC 3339) into UTC times and writes filters in them. For an
// incremental pull, set [ListQuery.CreatedSince] to the last watermark
// minus an overlap and deduplicate by id: the filter has a resolution of
// one second.
//
// # Pacing
//
// Every request first waits for the client's pace: at most
// [Config.RequestsPerSecond] (default 10) in any 1-second window and
// [Config.RequestsPerMinute] (default 150) in any 60-second window, however
// aligned (Ocamba counts in fixed windows whose alignment a client cannot
// see), spread evenly after a burst of [Config.Burst]; at most
// [Config.MaxInFlight] (default 1) at once. The X-RateLimit-Limit,
// -Remaining and -Reset headers are read on every answer ([ClientStats]);
// when Remaining is 0 no request is sent until Reset seconds have passed
// (at most a minute, Ocamba's longest window, whatever Reset says).
// A 429's Retry-After (seconds) also holds the client. "Retry-After: -1"
// means the parallel limit was hit: [Error.WaitInFlight] is set, and
// [Client.AwaitInFlight] waits for one of the client's requests to finish.
//
// # Errors
//
// Each call is one attempt: the client never retries. Every error is an
// [*Error] with the status, Ocamba's title, message and trace_id, the
// Retry-After, and the cause. [Error.Temporary] says whether a retry may
// help (no answer, 408, 429, 5xx) or not (other 4xx, an invalid contact, a
// 2xx whose body is too large or does not follow the schema);
// [Error.Accepted] says whether Ocamba carried the request out even though
// its answer was unusable. The token is never logged and never appears in
// an error.
//
// # Concurrency
//
// A [Client] is safe for concurrent use by multiple goroutines.
//
// # Testing
//
// Package ocambatest is a fake Ocamba server that follows the same
// contract, with switchable faults and rate enforcement.
package ocamba
