// Sendguard is the operator's command line for a sendguard blocklist: load
// an existing suppression list, look contacts up, block and unblock by
// hand, export the list, run the two-way sync with the vendors, and see how
// things stand, without writing Go. Scripts call it: the words, output
// formats and exit codes below are a contract.
//
// # Usage
//
//	sendguard COMMAND [flags] [args]
//	sendguard help [COMMAND]
//	sendguard --version
//
// Commands: normalize, check, block, unblock, import, export, stats, sync,
// serve, dead-letters, version, help. Flags are written -flag or --flag,
// with the value after a space or "="; they may stand before or after the
// arguments, and "--" ends them. The common flags (--db, --region) may
// also stand before COMMAND, or before --help or --version. "sendguard
// COMMAND -h" prints the part of this reference about COMMAND.
//
// # Common flags
//
// Every command takes these two:
//
//	--db DIR     the data directory (default: $SENDGUARD_DB, else
//	             ./sendguard-data)
//	--region CC  the region national phone numbers are read in, e.g. GB
//	             (default: $SENDGUARD_REGION, else US)
//
// Every command that opens the database also reads
//
//	SENDGUARD_LOG_RETENTION   how long the change log keeps a record at
//	                          least: a Go duration or days (30d, 12h;
//	                          a bare number is days: 7); 0s
//	                          drops a record as soon as every vendor has
//	                          synced past it (default: 30d)
//
// The change log records every block and unblock; the sync reads it to
// push changes to the vendors, and it is the audit trail of who blocked
// what, and when. A record goes once it is older than the retention and
// every vendor with sync state has synced past it (with no vendor at all,
// once it is older than the retention); the last record always stays. A
// command trims it when it closes the database, and sync, while it runs,
// every minute. A vendor that is no longer used holds the log back until
// it is forgotten (sync --forget); stats names it.
//
// The region decides only how input such as "(415) 555-0100" is read;
// stored phone numbers are E.164 ("+14155550100").
//
// The commands that only read (check, stats, export, dead-letters without
// --retry) open the data directory read-only: they refuse a directory that
// holds no sendguard database — missing, empty, or holding other files —
// with exit code 2 and an error naming it, and create nothing, so a
// mistyped --db never answers "allowed" for everyone. The commands that
// write (block, unblock, import, sync, serve, dead-letters --retry)
// create the database in a missing or empty directory, never in one that
// holds other files. A directory is used by one writing process at a time:
// while one (a sync, say) has it open, another command fails with "in use
// by another process" and exit code 2 (when serve holds it, the error
// says so and gives its address); reading commands may run side by side.
//
// On a nearly full disk (under 64 MiB free) the reading commands go on
// answering, and the writing ones fail with "disk almost full" and exit
// code 2, writing nothing.
//
// # Output
//
// Results go to stdout, one record per line, fields separated by one TAB
// (written <TAB> below). CANONICAL is a contact's canonical form: a
// lowercase email address, an E.164 phone number, or a domain. KIND is
// email, phone or domain. INPUT is the argument or line as given, and
// REASON says why it is not a recipient; control characters in them (a
// TAB, a line break) are written as Go escapes (\t, \n), so that a record
// is always one line. Times are RFC 3339, in UTC.
//
// Errors go to stderr, one line each, naming what failed, the input or
// file, and why; never a stack trace:
//
//	sendguard: import: contacts.csv: no such file or directory
//	sendguard: open database: ./sendguard-data: in use by another process
//
// # Exit codes
//
//	0  success; check: every recipient allowed; sync --once: nothing pending
//	1  check: a recipient is blocked (and none is invalid);
//	   sync --once: something is still pending after --timeout
//	2  an invalid recipient, bad usage, or a failure (said on stderr)
//
// # normalize
//
//	sendguard normalize [--region CC] RECIPIENT...
//
// Prints the canonical form of each recipient, one line per argument, in
// order:
//
//	KIND<TAB>CANONICAL
//	invalid<TAB>INPUT<TAB>REASON
//
// A recipient is an email address ("Bob <Bob@Example.COM>", "mailto:…"),
// a phone number ("+44 20 7946 0000", "(415) 555-0100", "tel:…") or a
// domain ("example.com", "@example.com", "*.example.com"). normalize reads
// no database and creates none; provider folding (Gmail dots and +tags) is
// off, as in a database this tool creates. Exit 0 if every input is valid,
// 2 if any is invalid.
//
// # check
//
//	sendguard check [--json] [--file FILE] RECIPIENT...|-
//
//	--json        one JSON object per line
//	--file FILE   also read recipients from FILE, one per line
//
// Says whether each recipient may be sent to, one line per recipient, in
// order:
//
//	allowed<TAB>CANONICAL
//	blocked<TAB>CANONICAL<TAB>REASON<TAB>SOURCE<TAB>MATCHED
//	invalid<TAB>INPUT<TAB>REASON
//
// An email address is blocked when the address itself, its domain or a
// parent domain is blocked; REASON and SOURCE are then the block's that
// matched, and MATCHED is the blocked contact that matched: the address
// itself, or the domain ("x@sub.spam.example" blocked through
// "spam.example"). SOURCE is "local", "import" or a vendor's name.
//
// The recipients are the arguments, where "-" stands for stdin, and the
// lines of --file; stdin and the file are read one recipient per line
// (blank lines skipped) and streamed, so that a send list of any length
// can be cleaned:
//
//	sendguard check - < list.txt | grep ^allowed | cut -f2 > clean.txt
//
// The answers so far are written out whenever the input has no more lines
// ready, so a program feeding recipients one at a time through a pipe
// reads each answer at once.
//
// With --json, each line is instead one JSON object with these fields:
//
//	{"input":"Bob <BOB@example.com>","kind":"email","canonical":"bob@example.com",
//	 "blocked":true,"reason":"hard bounce","source":"local",
//	 "created_at":"2025-01-02T03:04:05Z","error":"",
//	 "matched":"bob@example.com","match":"address","expires_at":null}
//
// kind and canonical are "" for an invalid input, whose reason is in
// error; error is "" otherwise. created_at is null unless blocked.
// matched is the blocked contact that matched ("" unless blocked); match
// says what it is: "address" (the recipient itself), "domain" (its domain
// or a parent domain) or "none"; expires_at is when the block lapses, null
// for a block that never does (and unless blocked).
//
// Exit 0 if every recipient is allowed, 1 if any is blocked and none is
// invalid, 2 if any is invalid or on any error.
//
// # block
//
//	sendguard block [--reason R] [--source S] [--expires DURATION] [--force] RECIPIENT...
//
//	--reason R           why, recorded with the block (default: empty)
//	--source S           where the block comes from (default: local)
//	--expires DURATION   the block lapses by itself after DURATION: a Go
//	                     duration (90m, 12h) or days (30d, 1.5d, 1d12h);
//	                     default: never
//	--force              block a mailbox provider's domain all the same
//
// Blocks each recipient: an email address, a phone number, or a domain
// (example.com, @example.com or *.example.com; a domain block covers every
// address at the domain and its subdomains). Prints the block now in
// force, one line per argument:
//
//	blocked<TAB>CANONICAL<TAB>REASON<TAB>SOURCE
//
// The domain of a large mailbox provider (gmail.com, googlemail.com,
// outlook.com, hotmail.com, live.com, msn.com, yahoo.com, ymail.com,
// aol.com, icloud.com, me.com, proton.me, gmx.com, web.de, mail.ru,
// yandex.ru, qq.com and a few more: the list is guard.IsProviderDomain's)
// is refused without --force: such a block stops every address there,
// which is almost never what was meant; block the addresses instead.
//
// Idempotent: blocking a blocked contact again changes nothing, unless the
// new block lasts longer than the one in force (it then replaces it). All
// arguments are read first: if any is invalid (or a provider's domain
// without --force), nothing is blocked and the error names it (exit 2).
// Exit 0 otherwise.
//
// # unblock
//
//	sendguard unblock RECIPIENT...
//
// Removes the block on each recipient, one line per argument:
//
//	unblocked<TAB>CANONICAL     a block was removed
//	not-blocked<TAB>CANONICAL   there was none; nothing changed
//
// Only the block on the contact itself is removed: an address whose domain
// is blocked stays blocked, and a line on stderr says so
// ("sendguard: unblock: bob@example.com: still blocked through domain
// example.com"); unblock the domain for that. Neither vendor documents an
// unblock, so a contact a vendor lists stays listed there (stats counts
// them), but the sync does not block it here again. As for block, invalid
// input changes nothing and exits 2; exit 0 otherwise.
//
// # import
//
//	sendguard import [--reason R] [--source S] [--column MAP] [--rejects FILE] FILE|-
//
//	--reason R       reason recorded with every imported block (default:
//	                 the input's reason column, else empty)
//	--source S       source recorded with every imported block (default:
//	                 the input's source column, else import)
//	--column MAP     name the columns (or JSON keys) to read, for exports
//	                 whose names are not known: contact=NAME (may be
//	                 repeated), reason=NAME, source=NAME, created_at=NAME,
//	                 expires_at=NAME, separated by commas; the flag
//	                 may be given more than once
//	--rejects FILE   write the invalid lines to FILE instead of stderr
//
// Blocks every contact in FILE; "-" reads stdin. The input is streamed: a
// file of any size imports in bounded memory. The format is found from the
// input (the importer package does the reading; Go programs can use it
// too):
//
//   - JSON, when the first character that is not a space is [ or {: an
//     array of records; an object holding one array of records, as
//     "aws sesv2 list-suppressed-destinations" (SuppressedDestinationSummaries),
//     Postmark's suppression dump (Suppressions), Mailgun's API (items)
//     and listmonk's API (data.results) print it, minified or pretty; or
//     one record per line (JSON lines, as export --format jsonl writes).
//     A record's string, number and boolean fields are its columns.
//   - CSV with a header, when the first line that is neither blank nor a
//     comment (#) has two fields or more, or one field that is a known
//     column name. Fields are separated by commas, or by semicolons or
//     TABs when the header is and names a contact column.
//   - Otherwise a plain list: one contact per line; blank lines and lines
//     starting with # are skipped.
//
// Columns are found by name, ignoring case, spaces, underscores, dashes
// and dots, unless --column names them. Contact columns, best first:
// email, email_address ("Email Address", "EmailAddress"), mail,
// recipient_email, address; phone, phone_number, mobile, mobile_number,
// mobile_phone, msisdn, cell, cellphone, telephone, tel, number; and, when
// there is neither, contact, recipient or to. The best email column and
// the best phone column are both read, so one row may give two contacts;
// empty cells are skipped. The metadata, best first:
//
//	reason       reason, suppression_reason (Postmark), unsub_reason
//	             (Mailchimp), bounce_reason, error (Mailgun), status
//	source       source, origin (Postmark)
//	created_at   created_at, created (SendGrid), date_created (Twilio),
//	             last_update_time (SES), unsub_time, clean_time
//	             (Mailchimp), bounced_at, suppressed_at, timestamp, date,
//	             updated_at
//	expires_at   expires_at, expires, expiry, expiration, expiration_date
//
// so the suppression exports of SendGrid, Mailgun, Amazon SES, Postmark,
// Mailchimp, Twilio and listmonk, and this tool's own export in either
// format, load as they are. One line on stderr says how the input was read
// and which column became what:
//
//	sendguard: import: unsubscribed.csv: CSV; contact from "Email Address", reason from "UNSUB_REASON", created_at from "UNSUB_TIME"
//
// An input whose columns name no contact is an error. --reason and
// --source, when given, win over the columns.
//
// Times are read as RFC 3339 ("2024-04-26T10:06:40Z", with or without
// fractions, "T" or a space), RFC 2822 and RFC 1123 ("Fri, 26 Apr 2024
// 10:06:40 UTC", with a numeric zone or a name such as GMT, EST or PDT),
// a date ("2024-04-26", UTC), Unix seconds ("1714125600", or with a
// fraction) or Unix milliseconds ("1714125600000"); a time without a zone
// is UTC. An empty cell means now (created_at) or never (expires_at). A
// time that cannot be read never drops the block: the contact is blocked
// as of now (created_at) or without an expiry (expires_at), and a warning
// names the line. A row whose expires_at has passed is not imported and is
// counted as expired.
//
// A CSV field in quotes may span lines, but not past 64 lines or 64 KiB:
// a quote still open there, or at the end of the input, is an unclosed
// quote; that line is read alone up to its end (with a warning) and
// reading goes on at the next line, so one stray quote never swallows the
// rest of a file. A line over 64 KiB is skipped and reported as invalid.
// Malformed JSON, or a JSON record over 1 MiB, stops the import with exit
// 2 naming the line; the blocks read before it are imported.
//
// While it runs, a progress bar is drawn on stderr if stderr is a
// terminal. At the end it prints one line on stdout:
//
//	imported N, already present M, invalid K
//
// N blocks were added; M contacts were blocked already (or came twice in
// the input); K lines (or cells) were not imported: not recipients, or
// not readable. When E rows had lapsed already (their expires_at passed),
// the line goes on with ", expired E"; when W contacts were imported
// despite a problem (a time that could not be read, an unclosed quote),
// with ", warnings W". Each invalid line or cell is reported, in input
// order, to the --rejects file or else to stderr, with its line number (1
// is the first line of the input, header included):
//
//	line N: INPUT: REASON
//	line N: REASON
//
// and each warning on stderr (the first 20; then how many more):
//
//	line N: INPUT: imported, but REASON
//
// Exit 0 when the import ran, even with invalid lines. Exit 2 when it
// could not or stopped: an unreadable input or rejects file, input whose
// columns name no contact, malformed JSON, a database error, or SIGINT
// or SIGTERM ("sendguard: import: FILE: interrupted; N imported, safe to
// re-run": running it again imports the rest, and counts what was
// imported already as already present). The summary line is printed
// either way and says what was done before the failure.
//
// # export
//
//	sendguard export [--format csv|jsonl]
//
// Writes every active block to stdout (a lapsed block is gone). The
// default, CSV, has a header line; expires_at is empty for a block that
// never lapses:
//
//	contact,kind,reason,source,created_at,expires_at
//	bob@example.com,email,hard bounce,local,2025-01-02T03:04:05Z,
//	+14155550100,phone,STOP,ocamba,2025-01-03T00:00:00Z,2025-04-03T00:00:00Z
//
// With --format jsonl, one JSON object per line with the same fields;
// expires_at is null for a block that never lapses:
//
//	{"contact":"bob@example.com","kind":"email","reason":"hard bounce","source":"local","created_at":"2025-01-02T03:04:05Z","expires_at":null}
//
// Either format imports back as it is: the same contacts, reasons,
// sources and times (import reads the contact column and the metadata
// columns). The database is opened before anything is written: a failed
// export writes nothing on stdout. Exit 0, or 2 on an error.
//
// # stats
//
//	sendguard stats [--json]
//
// Prints the blocklist's figures, one per line as NAME<TAB>VALUE:
//
//	entries<TAB>N               active blocks
//	domains<TAB>N               blocked domains among them
//	provider_folding<TAB>B      true or false, as the database was created
//	change_log.first_seq<TAB>N  the change log's first record kept (0: none)
//	change_log.last_seq<TAB>N   its last record
//	change_log.records<TAB>N    how many records it keeps
//	change_log.trimmed_through<TAB>N
//	                            the last record trimmed (0: none yet)
//	change_log.retention<TAB>D  SENDGUARD_LOG_RETENTION, as a Go duration
//	change_log.held_by<TAB>C    the consumer furthest behind, which keeps
//	                            the records after its offset; empty when
//	                            every consumer is at the end
//	change_log.consumers.C.offset<TAB>N
//	                            per consumer C (remote/opencx,
//	change_log.consumers.C.lag<TAB>N
//	                            remote/ocamba, …): the last record it has
//	                            handled, and how many sequence numbers
//	                            it is behind
//	dead_letters<TAB>N          records a vendor refused for good
//	filter.capacity<TAB>N       the bloom filter: capacity, count, bits,
//	filter.…                    k, fill_ratio, estimated_fp_rate, stale
//	store.lsm_bytes<TAB>N       the store's size on disk, and its tables
//
// and, for each vendor configured in the environment (see sync) or with
// sync state in the database, its sync figures:
//
//	sync.NAME.offset<TAB>N         last change-log record handled for it
//	sync.NAME.lag<TAB>N            records after that offset
//	sync.NAME.pending<TAB>N        blocks still to push to it
//	sync.NAME.dead_letters<TAB>N   records it refused for good
//	sync.NAME.still_listed<TAB>N   contacts unblocked here that it still
//	                               lists (remove them at the vendor)
//
// NAME is opencx or ocamba. If the database was ever a fleet member (sync
// --nats), the figures its member saved at its last heartbeat (every 2s
// while it ran; nothing is asked of the server):
//
//	fleet.stream, fleet.member      the stream and this member's name
//	fleet.applied<TAB>N             last stream position applied here
//	fleet.lag<TAB>N                 stream messages after it, as last seen
//	fleet.published<TAB>N           change-log record through which local
//	                                changes are in the stream
//	fleet.unpublished<TAB>N         local changes not yet in the stream
//	fleet.members<TAB>A,B,…         members with a heartbeat under 30s old
//	fleet.lease_holder<TAB>NAME     the member running the vendor sync
//	fleet.at<TAB>TIME               when these figures were taken
//
// With --json, the same figures as one JSON object, nested at the dots (a
// consumer's name is one key):
// {"entries":3,"change_log":{"records":1,"consumers":{"remote/opencx":
// {"offset":7,"lag":0}},…},"filter":{"capacity":…},
// "sync":{"opencx":{"pending":0,…}},…}. Exit 0, or 2 on an error.
//
// # sync
//
//	sendguard sync [--once] [--interval D] [--timeout D] [--full-pull D]
//	sendguard sync --forget NAME
//	sendguard sync --nats URL --member NAME [--stream S] [--interval D]
//
//	--nats URL     join a fleet over NATS JetStream (SENDGUARD_NATS_URL;
//	               several URLs comma-separated)
//	--member NAME  this instance's name in the fleet: stable across
//	               restarts, unique (SENDGUARD_MEMBER; letters, digits,
//	               '-' and '_')
//	--stream S     the fleet's stream (SENDGUARD_NATS_STREAM; default
//	               SENDGUARD)
//	--once         sync once, then exit
//	--interval D   without --once, the time between full passes
//	               (default: 1m); local blocks are pushed at once
//	--timeout D    with --once, how long it may take (default: 2m)
//	--full-pull D  how often Ocamba's whole list is read instead of its
//	               entries since the last pull, so that entries it shows
//	               late with an old date are seen (default: 24h)
//	--forget NAME  drop everything kept for vendor NAME, then exit
//
// Pushes local blocks to the vendors and pulls the vendors' blocks in
// (source: the vendor's name), with the sync engine. The vendors come from
// the environment; a vendor is used when its token is set, and at least
// one must be:
//
//	SENDGUARD_OPENCX_TOKEN   OpenCX API key (it takes emails and domains)
//	SENDGUARD_OPENCX_URL     default https://api.open.cx
//	SENDGUARD_OPENCX_RPM     requests per minute (default 100)
//	SENDGUARD_OCAMBA_TOKEN   Ocamba Hood API token (emails and phones)
//	SENDGUARD_OCAMBA_URL     default https://api.ocamba.com (a trailing
//	                         /v1/hood, as in Ocamba's docs, is dropped)
//	SENDGUARD_OCAMBA_RPS     requests per second (default 10)
//	SENDGUARD_OCAMBA_RPM     requests per minute (default 150)
//
// The defaults are the vendors' documented limits. Tokens never appear in
// any output, nor in what the database stores: a vendor that echoes the
// Authorization header in an error body has the token replaced by
// "[token]" before the error is kept as a dead-letter reason, and every
// command replaces the tokens the environment sets in whatever it prints.
//
// With --once, one full pass (push, then pull) per vendor, and a second
// or third while blocks pulled from one vendor are still to be pushed to
// the other. Then, on stdout, one line per vendor:
//
//	NAME: pushed N, pulled N, dead-lettered N, pending N, skipped masked N, skipped unblocked N, invalid N
//
// pushed: blocks the vendor took; pulled: its blocks new here;
// dead-lettered: records it refused for good; pending: blocks still to
// push; skipped: vendor entries not applied (masked by the vendor, or
// unblocked here since); invalid: vendor entries that are not contacts.
// Then one line per record dead-lettered in this run, a record the vendor
// refused for good (it counts as delivered, with its error):
//
//	dead-letter<TAB>NAME<TAB>CANONICAL<TAB>REASON
//
// Exit 0 when nothing is left pending; 1 when something still is after
// --timeout (a vendor down, say; retries wait with backoff); 2 on a
// configuration error, a vendor that refuses the token, or a vendor
// endpoint that answers a redirect, 404 or 405 (the records stay pending,
// none is dead-lettered).
//
// Without --once it runs until SIGINT or SIGTERM, then stops cleanly and
// prints each vendor's line (counting since the start) on stdout (exit
// 0). Failures are retried. Every --interval, a vendor whose state changed
// gets a line on stderr:
//
//	sendguard: sync: NAME: synced at TIME, pending N, dead letters N
//	sendguard: sync: NAME: error (retrying): WHY
//
// A vendor added to a database whose change log no longer reaches back to
// its beginning (a vendor configured later, or one away longer than the
// retention) is first sent every contact blocked now, from the blocklist
// itself, and then the changes after that: nothing still blocked is
// missed, and nothing unblocked before is sent.
//
// --forget NAME drops what the database keeps for vendor NAME: its place
// in the change log, its dead letters, and what the sync knows of its
// list. Use it for a vendor that is no longer used, which would otherwise
// hold the change log back forever (stats shows change_log.held_by). It
// needs no token and sends no request; it prints
//
//	forgot<TAB>NAME       something was kept, and is gone
//	not-known<TAB>NAME    nothing was kept for NAME
//
// If NAME is configured again later, it is fed from the blocklist as a new
// vendor. Exit 0, or 2 on an error.
//
// With --nats, the database becomes a member of a fleet of instances that
// agree within a second (package sync/fleet): its local changes are
// published to the stream and the other members' changes applied here.
// At most one member at a time — the holder of the fleet's vendor lease —
// runs the vendor sync described above, with the vendors of its
// environment; a member without vendor tokens only replicates. It runs
// until SIGINT or SIGTERM (--once does not apply), writes a line to
// stderr when the fleet's state changes:
//
//	sendguard: sync: fleet S: member NAME, applied N, lag N, unpublished N, members A,B, lease holder NAME
//
// and that line on stdout at the end. NATS credentials come from the
// environment and go to the NATS client as they are; they never appear in
// any output:
//
//	SENDGUARD_NATS_CREDS      a .creds file (JWT and NKey)
//	SENDGUARD_NATS_TOKEN      a token
//	SENDGUARD_NATS_USER       user name, with SENDGUARD_NATS_PASSWORD
//	SENDGUARD_NATS_CA         CA certificate file for TLS
//	SENDGUARD_NATS_CERT       client certificate file, with SENDGUARD_NATS_KEY
//
// NATS down at start or later is not an error: local blocks go on, and
// are published when it is back.
//
// # dead-letters
//
//	sendguard dead-letters [--vendor NAME] [--retry]
//
//	--vendor NAME   only the dead letters of opencx or ocamba (default: both)
//	--retry         put them back in their vendor's queue
//
// A dead letter is a block a vendor refused for good (an address it does
// not accept, say): the sync sets it aside so that it never stalls the
// queue, and counts it as delivered with its error. dead-letters lists
// them, oldest first, one line each, as sync --once does:
//
//	dead-letter<TAB>NAME<TAB>CANONICAL<TAB>REASON
//
// With --retry, they go back into their vendor's queue and the next sync
// pushes them again (after the cause is fixed: a token's scope, a vendor's
// rule); it prints one line:
//
//	retried N
//
// A dead letter the blocklist has overtaken since (its contact has been
// unblocked here) is dropped, not retried: a newer record already carries
// the contact's state. Exit 0, or 2 on an error.
//
// # serve
//
//	sendguard serve [--addr HOST:PORT] [--sync [--interval D]] [--log-level L]
//
//	--addr HOST:PORT   where to listen (default: $SENDGUARD_ADDR, else
//	                   127.0.0.1:8080); port 0 picks a free port
//	--sync             also run the vendor sync in this process, as
//	                   sendguard sync does, with the same environment
//	--interval D       with --sync, the time between full passes (1m)
//	--nats URL, --member NAME
//	                   join a fleet of serve processes over NATS; not
//	                   available in this build (exit 2)
//	--log-level L      debug, info (default), warn or error
//
// Holds the data directory and serves the guard over HTTP: for services
// not written in Go, for opt-outs (one-click unsubscribe links, SMS STOP
// replies, bounces and complaints) and, with --sync, the vendor sync, in
// one long-running process. Once it accepts connections it writes one
// line to stderr, which scripts may read for the bound address:
//
//	sendguard: serve: listening on http://127.0.0.1:8080
//
// Logs follow on stderr as slog text lines (time=… level=… msg=…), one per
// request (the route pattern, never the path or query) and per block;
// recipients are redacted (a***@example.com, ***0123) and no token or
// secret is ever written. While serve runs, another command on the same
// directory fails with "in use by another process: sendguard serve (pid
// N) holds it: use its HTTP API at URL": serve keeps a note, serve.addr,
// in the data directory and removes it when it stops.
//
// The environment:
//
//	SENDGUARD_API_TOKEN            the admin API's bearer token; required
//	                               (serve exits 2 without it)
//	SENDGUARD_UNSUBSCRIBE_URL      the public https URL of the one-click
//	                               links, e.g. https://mail.example.com/unsubscribe
//	SENDGUARD_UNSUBSCRIBE_SECRET   the key of the links' HMAC: the bytes of
//	                               the string as given, at least 32 (e.g.
//	                               openssl rand -base64 48); changing it
//	                               voids the links already sent
//	SENDGUARD_TWILIO_AUTH_TOKEN    the SMS provider's auth token
//	SENDGUARD_SMS_WEBHOOK_URL      the webhook's public URL exactly as
//	                               configured at the provider
//
// One-click unsubscribe needs both of its variables, and the SMS webhook
// both of its; with only one of a pair, serve exits 2.
//
// The admin API needs "Authorization: Bearer $SENDGUARD_API_TOKEN"
// (compared in constant time; 401 without it or with another). Bodies are
// JSON, at most 1 MiB and 10000 recipients; every error is {"error":"…"}
// with a 4xx or 5xx status (400 bad input or JSON, 401, 404, 405, 413 body
// too large, 415, 422, 500 the blocklist failed). The OpenAPI 3 document
// is cmd/sendguard/openapi.json, served at GET /openapi.json.
//
//	POST /v1/check {"recipients":[…]}
//	  200 {"results":[…]}: per recipient, in order, the object check
//	  --json prints (input, kind, canonical, blocked, reason, source,
//	  created_at, error, matched, match, expires_at); an invalid
//	  recipient has its reason in error
//	POST /v1/blocks {"recipients":[…],"reason":"…","source":"…","expires":"30d"}
//	  200 {"blocks":[…]}: the blocks now in force (input, kind, canonical,
//	  reason, source, created_at, expires_at); source defaults to local,
//	  expires is as block --expires (default: never); "force":true is
//	  block --force. All recipients are read first: an invalid one, or a
//	  mailbox provider's domain without force, is a 400 naming it, and
//	  nothing is blocked
//	DELETE /v1/blocks?recipient=…
//	  200 {"canonical":…,"unblocked":true|false,"still_blocked":…}:
//	  unblocked says a block on the recipient itself was removed;
//	  still_blocked that a domain block still covers it
//	GET /v1/stats
//	  200 the object stats --json prints
//	POST /v1/unsubscribe-headers {"recipient":"…"}
//	  200 {"List-Unsubscribe":"…","List-Unsubscribe-Post":"…"}, the header
//	  fields for a message to recipient (add them before DKIM signing);
//	  501 when one-click unsubscribe is not configured
//	POST /v1/feedback, a raw bounce (RFC 3464) or complaint (ARF) message,
//	Content-Type: message/rfc822, at most 4 MiB
//	  200 {"type":"hard-bounce","recipients":[{"recipient","canonical",
//	  "blocked","source"}],"statuses":[…],"newly_blocked":N,…}: a hard
//	  bounce or a complaint blocks at once (source bounce, complaint), soft
//	  bounces at the third within 7 days; 422 for a message that is not
//	  such a report
//
// The public endpoints, without the token:
//
//	GET|POST PATH/TOKEN   the one-click links, under the path of
//	                      SENDGUARD_UNSUBSCRIBE_URL: a POST with
//	                      List-Unsubscribe=One-Click blocks (source
//	                      unsubscribe); a GET shows a page with a button;
//	                      a link not exactly as signed is a 404
//	POST /sms/inbound     the Twilio-shaped SMS webhook: X-Twilio-Signature
//	                      is checked with SENDGUARD_TWILIO_AUTH_TOKEN over
//	                      SENDGUARD_SMS_WEBHOOK_URL (403, nothing changed,
//	                      when wrong); STOP and the like block From (source
//	                      sms), START lifts an SMS block
//	GET /healthz          200 while the process runs
//	GET /readyz           200 while the store is open and the filter
//	                      loaded, 503 once stopping
//	GET /metrics          Prometheus text format: the guard's, the sync's
//	                      and the opt-outs' sendguard_* metrics (listed in
//	                      the README, "Metrics"), and serve's own:
//	                      sendguard_http_requests_total and
//	                      sendguard_http_request_time_seconds_total by
//	                      route and code, sendguard_ready; no recipient in
//	                      any label
//
// Each block is written before its 2xx goes out. On SIGTERM or SIGINT,
// serve stops accepting connections, lets the requests in flight finish
// (up to 7 s), stops the sync (logging each vendor's summary line, as
// sync prints it), closes the database (writing the filter
// snapshot) and exits 0, within 10 s; a second signal kills it at once.
// Exit 2 on a configuration error or if the address cannot be bound.
//
// # version
//
//	sendguard version
//	sendguard --version
//
// Prints the program's module version, and the VCS revision and time it
// was built from when the build recorded them, on one line (exit 0):
//
//	sendguard v1.2.0 (0123abcd…, 2026-01-02T03:04:05Z, go1.26.0)
//
// A build from a checkout says "(devel)" for the version, and ", modified"
// after the revision when the tree had uncommitted changes.
//
// # help
//
//	sendguard help [COMMAND]
//	sendguard COMMAND -h
//	sendguard --help
//
// Prints this reference, or the part about COMMAND, on stdout (exit 0). An
// unknown command prints the command list on stderr (exit 2).
package main
