// Package vendorfake is the machinery shared by the vendor fakes
// sync/opencx/opencxtest and sync/ocamba/ocambatest: a real
// [net/http/httptest.Server] (on loopback TCP, or in memory over
// internal/memnet for [testing/synctest] bubbles) that records every request,
// enforces rate limits and an in-flight limit with 429 answers, and injects
// switchable, seeded faults. The vendor packages supply the handler and the
// shape of the error bodies; everything else lives here.
//
// # Request pipeline
//
// For every request the [Server]:
//
//  1. reads the body (bounded) and records the request, with the
//     Authorization header redacted to "Bearer ***";
//  2. checks the bearer token ([Config.Token]); a refused request is
//     answered at once (401) and counts toward no limit;
//  3. counts the request in every rate window, then answers 429 if too many
//     requests are in flight ([Config.MaxInFlight]) or a window is over its
//     limit;
//  4. applies the pre-handler faults: connection reset, server error, slow
//     answer (see [Faults]);
//  5. calls [Config.Handle];
//  6. applies the post-handler faults to a 2xx answer: a truncated body, a
//     malformed body, a body that violates the schema;
//  7. lets [Config.Decorate] add headers (rate-limit headers) and writes the
//     answer, recording its status.
//
// # Concurrency
//
// A [Server] is safe for concurrent use by multiple goroutines. Config
// callbacks may be called concurrently.
package vendorfake
