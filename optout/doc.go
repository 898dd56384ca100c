// Package optout captures opt-outs where they happen — the unsubscribe link
// in an email, a STOP reply to a text, a hard bounce, a spam complaint — and
// turns each into a block through the guard, durable before the request is
// answered.
//
// # One-click unsubscribe
//
// An [Unsubscriber] makes the RFC 2369 and RFC 8058 header fields for each
// message and serves the links they carry:
//
//	u, err := optout.NewUnsubscriber(g, optout.UnsubscribeConfig{
//		Secret: key, // at least 32 random bytes
//		URL:    "https://mail.example.com/unsubscribe",
//	})
//	hdr, err := u.Headers("Ann <ann@example.com>")
//	// hdr["List-Unsubscribe"]      = "<https://mail.example.com/unsubscribe/TOKEN>"
//	// hdr["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
//	http.Handle("/unsubscribe/", u)
//
// The token is the canonical address and a 192-bit HMAC-SHA256 tag, both
// base64url; it is checked in constant time against the secret and any
// [UnsubscribeConfig.OldSecrets] (key rotation). Add both header fields to
// the message before it is DKIM-signed and sign them (list them in the h=
// tag): Gmail and Yahoo ignore one-click headers a DKIM signature does not
// cover, and require one-click unsubscribe from bulk senders, honoured
// within 2 days.
//
// A POST with List-Unsubscribe=One-Click blocks the address (source
// "unsubscribe"); a GET, which link scanners make, never blocks: it shows a
// page with a button that POSTs. A link that is not exactly as signed is
// answered 404.
//
// # SMS keywords
//
// [ClassifySMS] reads a reply as [OptOut], [OptIn], [Help] or [None] (the
// rule is on the function: single keywords from CTIA's guidelines, carrier
// and Twilio defaults, and the FCC's "any reasonable means" of revoking
// consent, 47 CFR 64.1200(a)(10), in force since 11 April 2025, honoured
// within 10 business days). An [SMSHandler] serves a Twilio-shaped
// incoming-message webhook: it checks X-Twilio-Signature, blocks From on an
// opt-out (source "sms") and, on an opt-in, lifts only a block an SMS opt-out
// made.
//
// # Bounces and complaints
//
// [ParseFeedback] reads a delivery-status notification (RFC 3464) or an
// abuse report (ARF, RFC 5965) into a [Feedback]; a [Recorder] applies it:
// a hard bounce or a complaint blocks at once (sources "bounce",
// "complaint"), soft bounces after 3 within 7 days (configurable), counted
// in the guard's store so that a restart forgets nothing.
//
// # Compliance clock
//
// Every block this package makes records when the opt-out was asked for
// (the request's arrival, the report's Date) as the block's CreatedAt; the
// change-log record says when it was enforced. A [Clock], shared by the
// handlers and the recorder or one each, keeps the count, the worst and the
// mean delay, overall and per source, for an operator to show the 2-day and
// 10-business-day rules are met (see [Clock.Stats]).
//
// # Metrics
//
// The MeterProvider field of [UnsubscribeConfig], [SMSConfig] and
// [RecorderConfig] (default: the global OpenTelemetry provider) receives
// sendguard.optout.captured {opt-out}, the opt-outs that became blocks,
// and sendguard.optout.delay (s), a histogram of the delay from asking to
// enforcement, both by channel ("unsubscribe", "sms", "bounce",
// "complaint").
//
// # Concurrency
//
// Every type in this package is safe for concurrent use by multiple
// goroutines. Nothing here starts a goroutine.
//
// # Logging
//
// Nothing is logged unless a *slog.Logger is configured; recipients are
// always logged redacted.
package optout
