// Command sms is the sendguard SMS demo: a Twilio-shaped REST client
// wrapped with the guard, and the inbound webhook that turns a "STOP" reply
// into a block.
//
// # Overview
//
// It opens a guard on an embedded Badger store in a temporary directory (or
// -db DIR), blocks one number, and sends text messages to numbers written
// in mixed national and international formats (read with -region, by
// default US). Each send goes through [guard.Wrap] with
// [guard.SingleRecipient], then a step that rewrites the recipient to E.164
// (the provider wants E.164), then the REST client: a form-encoded To, From
// and Body POSTed to /2010-04-01/Accounts/{AccountSid}/Messages.json with
// basic auth (account SID and auth token), as Twilio's Messages API takes
// them. It prints who was delivered and who was suppressed and why.
//
// By default the provider is a local fake (an httptest server) that checks
// the path, the credentials and the form fields as the real API does,
// answers in the same JSON shapes, and records what it accepted, which the
// demo prints at the end. With -api URL the client talks to that base URL
// instead (-sid, -token and -from then matter).
//
//	go run ./examples/sms
//	go run ./examples/sms -region GB
//
// # Opt-out replies
//
// The inbound side is package optout's [optout.SMSHandler], mounted on the
// provider's incoming-message webhook (form fields From, To, Body). A reply
// that [optout.ClassifySMS] reads as an opt-out — STOP, UNSUBSCRIBE, ARRET
// and the other keywords, or a short message such as "please stop texting
// me" — blocks the sender (source "sms"), so the next send to that number
// is suppressed; START, UNSTOP or YES lifts that block again — but only a
// block an SMS opt-out made, never one an operator or a blocklist import
// made. Keyword messages are answered with an empty TwiML document (the
// provider sends its own standard confirmation), other messages with 204 No
// Content. Requests must carry a valid X-Twilio-Signature (HMAC-SHA1 of the
// webhook URL and the sorted form fields, keyed with the auth token);
// anything else is refused with 403, so that nobody but the provider can
// block or unblock a number. The demo plays the provider's part and posts
// signed replies to the handler running on a local test server.
package main
