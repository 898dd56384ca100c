// Command smtp is the sendguard demo: a real SMTP client (go-smtp's) wrapped
// with the guard, sending a small batch of email.
//
// # Overview
//
// It opens a guard on an embedded Badger store in a temporary directory (or
// -db DIR), blocks a few contacts — an address, a whole domain and a Gmail
// address written another way — and sends four messages, each with several
// To and Cc recipients, through [guard.Wrap] under the [guard.DropBlocked]
// policy. For each message it prints who was delivered and who was
// suppressed and why.
//
// By default it starts an in-process SMTP server (github.com/emersion/go-smtp)
// on 127.0.0.1 and, at the end, prints what that server actually received:
// the envelope (MAIL FROM, RCPT TO) and the To and Cc headers of each
// message. With -smtp HOST:PORT it sends to that server instead (plain SMTP,
// no TLS, no auth), e.g. a local MailHog or smtp4dev:
//
//	go run ./examples/smtp
//	go run ./examples/smtp -smtp 127.0.0.1:1025 -db /tmp/sendguard-demo
//
// # What a careful sender does
//
// The guard decides who may be written to; the sender then writes only to
// them. A message the guard has thinned out is rendered again from its
// remaining recipients: its To and Cc headers name exactly the recipients it
// still goes to, so a suppressed address never even appears in the copy
// other people receive, and Bcc recipients are in the envelope only, never
// in a header. Each message gets its own Date and Message-ID, a UTF-8 text
// body in quoted-printable, and header values are encoded (RFC 2047) and
// checked for line breaks.
//
// # One-click unsubscribe
//
// Every message with a single recipient (the demo's newsletter) gets the
// RFC 8058 header fields from an [optout.Unsubscriber]:
//
//	List-Unsubscribe: <https://shop.example/unsubscribe/TOKEN>
//	List-Unsubscribe-Post: List-Unsubscribe=One-Click
//
// The token names the recipient and carries an HMAC tag, so the link is
// per recipient: a message to several people gets none (send bulk mail one
// recipient per message). A real sender serves the Unsubscriber at that URL
// (-unsubscribe-url) with one long-lived secret (the demo makes a random one
// per run) and DKIM-signs each message with both fields listed in the
// signature's h= tag: Gmail and Yahoo ignore one-click headers a DKIM
// signature does not cover. The demo prints the fields the server received.
//
// A permanent "no such mailbox" answer (5.1.x) to RCPT TO is a hard bounce:
// the demo blocks that address at once, so the next message to it is
// suppressed by the guard rather than rejected by the server. The in-process
// server answers so for gone@example.org.
//
// # Provider folding
//
// The store is created with [guard.WithProviderFolding](true): for Gmail,
// dots and +tags in the local part are ignored, so blocking
// "jane.doe@gmail.com" also suppresses "JaneDoe+invoices@gmail.com". Folding
// is fixed when a store is created; -db with a store created without it
// fails with an error that says so.
//
// # Context
//
// go-smtp's client has no context. The sender dials with
// [net.Dialer.DialContext] and wraps the connection so that every deadline
// go-smtp sets (it sets its own per command and clears it after) is
// clamped to the context's deadline, and so that cancelling the context
// closes the connection.
package main
