// Package sync is sendguard's replication engine: it keeps a guard's
// blocklist in agreement with vendor blocklists (OpenCX and Ocamba Hood),
// in both directions, so that a block made anywhere ends up everywhere.
//
// The package is named like the standard library's sync because it is
// sendguard's sync. Importers alias it:
//
//	import blocksync "github.com/sendguard/sendguard/sync"
//
// and inside it the standard library's package is imported as gosync.
//
// # Overview
//
// An [Engine] joins a guard's replication view ([guard.Guard.Replication]:
// its change log, consumer offsets, dead letters and state, and the one
// way to apply a remote change) and a list of [Remote]s. [NewOpenCX] and [NewOcamba] adapt the vendor clients of
// packages sync/opencx and sync/ocamba:
//
//	cx, _ := opencx.New(opencx.Config{Token: cxToken})
//	oc, _ := ocamba.New(ocamba.Config{Token: ocToken})
//	e, err := blocksync.New(g.Replication(), []blocksync.Remote{
//		blocksync.NewOpenCX(cx, blocksync.OpenCXOptions{}),
//		blocksync.NewOcamba(oc, blocksync.OcambaOptions{}),
//	}, blocksync.WithLogger(log))
//	...
//	err = e.Run(ctx) // until ctx is done
//
// For each remote the engine makes passes. A pass pushes, then pulls:
//
//   - Push reads the guard's change log after the remote's offset (the
//     consumer "remote/<name>") and delivers the block records the remote
//     accepts ([Remote.Accepts]). It never echoes a block to the remote it
//     came from (Record.Origin is the remote's consumer, or Record.Source
//     its name), pushes blocks pulled from other remotes
//     unless [WithMirror](false), honours Record.Target (a retried dead
//     letter is for one consumer only), and skips a block whose contact is
//     no longer blocked locally. The offset moves past a record only once
//     the remote has acknowledged it, or once it is in the dead letters.
//   - Pull fetches the remote's list page by page and applies new blocks
//     through the view ([guard.Replication.Apply], with the remote's name as
//     source, its consumer as origin and its creation time), so the guard's
//     filter learns them; the
//     values go through the guard's normalizer, and those that are not
//     contacts are counted and logged (redacted). A pulled block lands in
//     the change log like any other, which is how it reaches the other
//     remotes.
//
// # Unblocks and tombstones
//
// Neither vendor documents an unblock endpoint, so a local unblock stays
// local. The store keeps a tombstone (the unblock's time); a later pull of
// the same, still listed, contact does not re-block it if the remote
// created its entry at or before the unblock, and does if after. The same
// holds for a block the engine pushed with an expiry (vendors keep none):
// its copy at the remote is never applied back (that would make it
// permanent), and once it has expired locally it counts as unblocked.
// Only the engine's own copy is treated so: an entry is its own only when
// it has the id the remote gave the push (Ocamba), or, for a remote that
// gives none (OpenCX), when the remote created it within the push's
// window — from when the push was first sent to when it was acknowledged,
// widened by two minutes for clock skew — and then only the first such
// entry. Any other entry for the contact (someone else's block at the
// vendor, a duplicate left by a resend, an entry without an id or a
// creation time) is applied as a block: when in doubt, the contact stays
// blocked.
// Such contacts are counted in [RemoteStats].StillListed so that an
// operator can remove them at the vendor; a complete full scan (OpenCX)
// that no longer finds one unmarks it. A contact blocked here again while
// the remote still lists it (marked so, or its pushed block lapsed) is not
// pushed again — that would only add a second entry at the vendor — and
// is counted in [Counts].AlreadyListed; the remote's entry stands for the
// new block. To know which contacts a remote
// lists, the engine remembers every contact it pushed to or pulled from
// it, with the remote's id when there is one.
//
// # Delivery, retries and errors
//
// Delivery is at least once. Each remote call is one attempt (the vendor
// clients pace themselves at the vendors' documented limits); the engine
// retries. A [Temporary] failure (network error, timeout, 408, 429, 5xx) is
// retried after a capped, jittered exponential backoff ([WithBackoff]) that
// a success resets, never shorter than the remote's Retry-After — and
// never longer than [WithMaxWait] (1 hour by default): a remote that asks
// for more ("Retry-After: 999999999") is retried after the maximum, and
// the cut wait is logged and counted ([Counts].WaitsCapped). The vendor
// clients cap the hold a Retry-After puts on them the same way. Ocamba's
// 429 for too many requests in flight (Retry-After: -1) waits for the
// client's request in flight to finish, then a short backoff that does not
// grow. A retryable failure never drops a record: the pass waits, or ends
// with ctx (without waiting past its deadline) and leaves the record
// pending. A [Permanent] failure (400 and the other 4xx but 401, 403,
// 404 and 405; a value the remote refuses) moves the record to the
// remote's dead letters with the remote's message, and the queue moves on; storage's RetryDeadLetters re-queues
// them for that remote alone. A 2xx whose body is unreadable means the
// vendor carried the request out: it is acknowledged.
//
// [Unauthorized] failures (401, 403) are configuration errors — a bad
// token, a missing scope — that would fail every record alike. They are
// therefore not dead-lettered: the remote's pass stops, every record stays
// pending, the error is reported ([RemoteReport].Err, [RemoteStats]
// LastError; errors.Is(err, [ErrUnauthorized])), and [Engine.Run] tries
// again after its backoff. [Unavailable] failures — a redirect, 404 or 405
// from an endpoint the vendor documents, which says that the base URL is
// wrong or that a gateway answers for the vendor during a deploy — are
// handled the same way (errors.Is(err, [ErrUnavailable])): a gateway that
// answers 404 for a few minutes must not empty the queue into the dead
// letters.
//
// A push that failed after the remote may have received it (a timeout, a
// reset, a 5xx; not a 429) is sent again: neither vendor documents an
// idempotency key, so this can create a duplicate entry. Such attempts are
// counted as Resent, an upper bound on the duplicate entries (an OpenCX
// attempt may carry several domains, but OpenCX answers a domain it has as
// skipped and makes no entry); entries that a pull finds listed twice
// under different ids are counted as Duplicates.
//
// A pull page that fails is retried the same way; a permanent failure
// (an answer that breaks the schema) is retried [WithPermanentRetries]
// times before the pull gives up until the next pass. A 4xx other than 408
// and 429 (a 400, a 404), or a redirect, is not retried in the pass at
// all, as the vendors ask: the pull stops, the error is reported ([RemoteStats].LastError),
// and the next pass asks again. Context errors mean shutdown and are never
// logged or reported as failures by [Engine.Run].
//
// # Remotes
//
// OpenCX ([OpenCX]) takes emails matching its documented pattern (other
// emails are dead-lettered with that reason) and domains, sent in batches
// of consecutive domain records with the same reason; phone numbers are
// not pushed. Its pull is a full scan, page by page to total_pages.
//
// Ocamba Hood ([Ocamba]) takes E.164 phone numbers and emails. It echoes a
// created contact masked ("* * * …"), so the engine keeps the returned id.
// Its pull is incremental: entries created since the last watermark minus
// an overlap ([OcambaOptions].Overlap, 5 minutes by default, for clock skew
// and entries landing in the same second), sorted by create_time, asked
// with real values (read_gdpr_fields=true), deduplicated by id. A masked
// value never becomes a key: if its id is one the engine pushed, the entry
// is known; otherwise it is counted in SkippedMasked (once) and logged.
// Because an entry that appears late with an old create_time (a restore, a
// bulk import with original dates) is before the watermark, a full pull
// (no create_time filter) is made once every [WithFullPull] (a day by
// default) as well; it applies what the incremental pulls missed and, when
// complete, unmarks still-listed contacts Ocamba no longer lists.
//
// # Run, SyncOnce and Stats
//
// [Engine.Run] runs one goroutine per remote until ctx is done: a full
// pass at once and every interval ([WithInterval], with jitter), a push as
// soon as the guard reports a local change, so that a local block reaches
// the vendor within about a second when the pace allows (a long pull
// pushes between its pages). A failed pass is tried again after the
// backoff; when only its pull failed, local changes are still pushed
// meanwhile. [Engine.SyncOnce] makes one full pass per
// remote and reports, per remote, what was pushed, pulled, skipped,
// dead-lettered and is still pending. [Engine.Stats] reports each remote's
// offset lag, pending records, dead letters, requests and 429s, contacts
// still listed after a local unblock, and its last success and error.
//
// # Metrics
//
// [WithMeterProvider] registers OpenTelemetry instruments, observable and
// by remote (attribute remote): sendguard.sync.requests and
// sendguard.sync.rate_limited (429s) {request}, from the remote's
// [StatsReporter]; sendguard.sync.pushed, sendguard.sync.retries,
// sendguard.sync.dead_lettered {record} and sendguard.sync.pulled {block}
// since the engine was made; sendguard.sync.dead_letters and
// sendguard.sync.pending {record} now, read from the store at collection
// (pending is recounted only when the remote's offset or the log moved);
// sendguard.sync.last_success (s, Unix time) once a pass has completed.
// The instruments stay registered while the engine is reachable.
//
// # Durable state
//
// Everything is kept through the replication view under the remote's
// consumer "remote/<name>": its offset, its dead letters, and in its state
// the pull watermark, the remote ids seen, the contacts the remote lists,
// the contacts still listed after a local unblock, and masked entries
// already counted. Nothing is kept in memory that a restart would need: a
// killed process resumes from the stored offset. [Engine.DeadLetters],
// [Engine.RetryDeadLetters], [Engine.HasState] and [Engine.Forget] read
// and drop that state by remote name, without a client; a remote removed
// for good should be forgotten so that it no longer holds the log back.
//
// A database written before the replication view kept this state in meta
// keys "sync/<name>/…"; [guard.Open] moves it into the consumer's state
// once, so an upgraded engine keeps its pull watermarks, remote ids and
// still-listed marks.
//
// # Trimming
//
// The guard trims its change log by itself (guard.WithLogRetention: 30
// days by default): a record goes once it is older than the retention and
// every consumer has passed it. A remote's offset moves only when the
// remote has the record (or it is dead-lettered), so trimming never takes
// a record a configured remote still needs; a remote that is no longer
// configured keeps its offset, and so holds the log back, until
// [Engine.Forget].
//
// # Bootstrap
//
// A remote whose offset is behind the change log's first retained record
// (added after the log was trimmed, or away too long) is fed from the
// guard's entries ([guard.Replication.Bootstrap]): every live block it
// accepts and does not list yet is pushed, then it tails the log from the
// scan's sequence number. Contacts unblocked before the scan are not
// pushed.
//
// # Logging
//
// Nothing is logged unless [WithLogger] is given. Tokens are never logged
// nor stored: the vendor clients replace their token in any text taken
// from an answer (a vendor that echoes the Authorization header), and the
// engine passes every text it keeps or returns — dead-letter reasons, the
// last error, the errors of [Engine.SyncOnce] — through the Redact of
// every remote that holds a secret ([Redactor]). Recipients are
// logged only through normalize.Contact and normalize.Redacted, which
// redact them. Repeated failures are logged at most every 30 seconds per
// remote.
//
// # Concurrency
//
// An [Engine] is safe for concurrent use. Passes of one remote are
// serialized, so [Engine.SyncOnce] may run while [Engine.Run] does; the
// remotes' passes run in parallel. The engine owns the goroutines it
// starts and has stopped them all when Run or SyncOnce returns.
package sync
