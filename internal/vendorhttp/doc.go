// Package vendorhttp is the plumbing shared by the vendor clients in
// sync/opencx and sync/ocamba: request pacing ([Pacer]), one bounded HTTP
// exchange ([Do]), a [Caller] that puts them together with logging,
// counters and the 429 hold, the error classification both vendors share
// ([Temporary], [ErrorText]), and parsing of the rate-limit headers.
//
// # Pacing
//
// A [Pacer] combines three things, all waited for before a request is sent:
//
//   - an in-flight limit (a semaphore of [PacerConfig.MaxInFlight] slots);
//   - hard sliding windows ([Window]): at most Limit requests in ANY interval
//     of length Per, whatever its alignment. Vendors count in fixed windows
//     whose alignment the client cannot know; a sliding window satisfies
//     every alignment at once. Each window is a ring of the last Limit send
//     times: a request may go when the oldest of them is at least Per (plus
//     [PacerConfig.Slack], for network jitter) old;
//   - an optional smoothing token bucket ([golang.org/x/time/rate]) so that a
//     backlog is spread evenly rather than sent as a burst of Limit requests.
//     A token bucket alone is not enough: with rate r and burst b it admits
//     b + r·T requests in a window of length T, more than r·T.
//
// and a hold: [Pacer.HoldUntil] stops every request until a given time (used
// for X-RateLimit-Remaining: 0 and Retry-After).
//
// # Secrets
//
// The token goes only into the Authorization header. [CheckToken] refuses
// a token that could break the header, without quoting it; no error or log
// line made here contains it.
//
// # Concurrency
//
// A [Pacer] and a [Caller] are safe for concurrent use by multiple goroutines. Waiting uses
// timers and channels only, so it runs on the fake clock inside a
// [testing/synctest] bubble.
package vendorhttp
