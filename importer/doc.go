// Package importer loads the suppression exports of other services — and
// this module's own — into a [guard.Guard]: CSV (any of comma, semicolon
// or TAB), JSON (an array of records, or an object holding one, as
// `aws sesv2 list-suppressed-destinations` and Postmark's suppression dump
// print them) and JSON lines, from any io.Reader, streamed in bounded
// memory whatever the input's size.
//
// # Overview
//
//	res, err := importer.Import(ctx, g, f,
//		importer.OnProblem(func(p importer.Problem) { log.Printf("line %d: %s", p.Line, p.Reason) }))
//
// [Import] reads with a [Reader] and feeds [guard.Guard.ImportEntries] in
// batches; a [Reader] alone gives the rows, for a program that wants to
// look before it blocks.
//
// # Columns and times
//
// Columns are found by the names peers use: SendGrid (email, created,
// reason), Mailgun (address, error, created_at), Amazon SES (EmailAddress,
// Reason, LastUpdateTime), Postmark (EmailAddress or Email,
// SuppressionReason, Origin, CreatedAt), Mailchimp (Email Address,
// UNSUB_TIME, UNSUB_REASON, CLEAN_TIME), Twilio (phone_number,
// date_created), listmonk (email, status, created_at) and sendguard's
// export (contact, reason, source, created_at, expires_at). [WithMapping]
// names any others. Times are read in every form those peers write (see
// [ParseTime]).
//
// # Errors
//
// No contact is ever dropped for its metadata: a time that cannot be read
// is left out (the block is made now, or never lapses) and reported as a
// warning with its line, and a CSV line whose quote never closes (within
// 64 lines or 64 KiB) is read up to its end, reported, and reading goes on
// at the next line. A line that cannot be read at all (longer than
// [MaxLine]) is reported and counted as invalid. Malformed JSON, or a JSON
// record over 1 MiB, stops the import with a *[LineError] naming the line;
// what was read before it is imported.
//
// # Concurrency
//
// A [Reader] reads its input once, on the goroutine that calls
// [Reader.Read], and is not safe for concurrent use. [Import] calls its
// hooks ([OnDetect], [OnProblem], [OnProgress]) on the calling goroutine,
// holding no lock of the guard's.
package importer
