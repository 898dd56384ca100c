// Package ocambatest is a fake Ocamba Hood blocked-contacts API for tests:
// a real [net/http/httptest] server that behaves as Ocamba documents, takes
// the conservative reading where Ocamba is silent, records what it receives
// and injects faults on demand.
//
// # Overview
//
// [NewServer] listens on loopback TCP; [NewInMemoryServer] serves over an
// in-memory network reached only through its Client method, and so works
// inside a [testing/synctest] bubble, where fake time advances while the
// client waits for its pace.
//
//	srv := ocambatest.NewInMemoryServer(ocambatest.Options{})
//	defer srv.Close()
//	c, _ := ocamba.New(ocamba.Config{BaseURL: srv.URL(), Token: srv.Token(), HTTPClient: srv.Client()})
//
// # Behaviour
//
//   - Auth: "Authorization: Bearer <token>"; anything else gets 401
//     {"code":401,"title":"Unauthorized.",...} (the body is undocumented).
//   - POST /v1/hood/blocked-contacts: Content-Type application/json (else
//     400 "The request is not valid."), a JSON object whose "contact" is an
//     E.164 phone number (^\+[1-9][0-9]{1,14}$) or an email address (a
//     simple check: Ocamba documents no rule) and whose optional
//     "description" is a string (else 400 with the documented body
//     {"code":400,"title":"Bad request.","message":"The request body is not valid.","trace_id":"<uuid>"}).
//     201 with id, company_id, creator_id, the contact masked, type and
//     description. The type is "mobile_phone_number" for phones and
//     [Options.EmailType] for emails. A contact already blocked gets a new
//     row by default ([Options.Duplicates]); [Server.Duplicates] counts them.
//   - GET /v1/hood/blocked-contacts: page=N[,M] (N ≥ 1; M defaults to 20 and
//     is silently capped at [Options.MaxPageSize]), sort on create_time and
//     update_time ("-" descending; ties by id), the documented filters
//     <field>=[op:]value on id, creator_id, type, create_time and
//     update_time with the operators eq, neq, gt, gte, lt, lte, in, nin, is,
//     isn, r, rf, rl and rr, q on description, and fields. Times in
//     filters are read strictly: "YYYY-MM-DD HH:MM:SS" or "YYYY-MM-DD",
//     GMT; anything else (RFC 3339 included) gets 400 "The request is not
//     valid.". Answer {"total":n,"items":[...]}.
//   - GET /v1/hood/blocked-contacts/{id}: {"total":1,"items":[...]} or 404.
//   - Masking ([Options.Masking]): by default reads, the list included,
//     show the real contact only with read_gdpr_fields=true (stricter than
//     the documented list example; [MaskGetUnlessGDPR] follows it). A
//     masked item has no type or creator, and its contact is
//     "* * * * * * * * * *", like the documented example. Seeded entries
//     with [Entry.Masked] are always masked.
//   - Rate: at most 10 requests in any 1 s and 150 in any 60 s by default
//     (sliding windows: stricter than Ocamba's fixed ones, which
//     [Options.RateMode] can select); beyond, 429 with Retry-After in
//     seconds. Other answers to authorized requests carry X-RateLimit-Limit,
//     X-RateLimit-Remaining and X-RateLimit-Reset (seconds) for the most
//     constraining window. More than [Options.MaxInFlight] requests at once
//     (default 2) get 429 with "Retry-After: -1".
//
// The fake checks contacts and parses times with its own code, not package
// ocamba's, so that a mistake in the client is not mirrored by the fake.
//
// # Recording, limits and faults
//
// A [Server] embeds the shared fake machinery, whose methods it promotes:
// URL, Client, Close, Requests (every request: method, path, raw and
// decoded query, headers with the token redacted, body, arrival time,
// status answered, faults applied), SetFaults (seeded faults: 5xx bursts,
// slow answers, connection resets, truncated, malformed or schema-breaking
// 2xx bodies; see [Faults]), FaultCounts, RateViolations, InFlightRejections,
// PeakInFlight and TraceID. [Server.MaxRate] returns the most requests seen
// in any 1 s and 60 s window, so a test can assert a client never exceeded
// 10 and 150. [Server.Seed] preloads entries (with create times, some
// masked) for pulls; [Server.Blocked] returns what the fake holds.
//
// # Concurrency
//
// A [Server] is safe for concurrent use by multiple goroutines.
package ocambatest
