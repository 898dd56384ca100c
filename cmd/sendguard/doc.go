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
//
// Commands: normalize, check, block, unblock, import, export, stats, sync,
// serve, dead-letters, help. Flags are written -flag or --flag, with the value after a space or
// "="; they may stand before or after the arguments, and "--" ends them.
// The common flags (--db, --region) may also stand before COMMAND.
// "sendguard COMMAND -h" prints the part of this reference about COMMAND.
//
// # Common flags
//
// Every command takes these two:
//
//	--db DIR     the data directory, created on first use
//	             (default: $SENDGUARD_DB, else ./sendguard-data)
//	--region CC  the region national phone numbers are read in, e.g. GB
//	             (default: $SENDGUARD_REGION, else US)
//
// The region decides only how input such as "(415) 555-0100" is read;
// stored phone numbers are E.164 ("+14155550100"). A data directory is
// used by one process at a time: while one command (a sync, say) has it
// open, another fails with "in use by another process" and exit code 2.
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
//	sendguard check [--json] RECIPIENT...
//
// Says whether each recipient may be sent to, one line per argument, in
// order:
//
//	allowed<TAB>CANONICAL
//	blocked<TAB>CANONICAL<TAB>REASON<TAB>SOURCE
//	invalid<TAB>INPUT<TAB>REASON
//
// An email address is blocked when the address itself, its domain or a
// parent domain is blocked; REASON and SOURCE are then the block's that
// matched. SOURCE is "local", "import" or a vendor's name.
//
// With --json, each line is instead one JSON object with these fields:
//
//	{"input":"Bob <BOB@example.com>","kind":"email","canonical":"bob@example.com",
//	 "blocked":true,"reason":"hard bounce","source":"local",
//	 "created_at":"2025-01-02T03:04:05Z","error":""}
//
// kind and canonical are "" for an invalid input, whose reason is in
// error; error is "" otherwise. created_at is null unless blocked.
//
// Exit 0 if every recipient is allowed, 1 if any is blocked and none is
// invalid, 2 if any is invalid or on any error.
//
// # block
//
//	sendguard block [--reason R] [--source S] [--expires DURATION] RECIPIENT...
//
//	--reason R           why, recorded with the block (default: empty)
//	--source S           where the block comes from (default: local)
//	--expires DURATION   the block lapses by itself after DURATION: a Go
//	                     duration (90m, 12h) or days (30d, 1.5d, 1d12h);
//	                     default: never
//
// Blocks each recipient: an email address, a phone number, or a domain
// (example.com, @example.com or *.example.com; a domain block covers every
// address at the domain and its subdomains). Prints the block now in
// force, one line per argument:
//
//	blocked<TAB>CANONICAL<TAB>REASON<TAB>SOURCE
//
// Idempotent: blocking a blocked contact again changes nothing, unless the
// new block lasts longer than the one in force (it then replaces it). All
// arguments are read first: if any is invalid, nothing is blocked and the
// error names it (exit 2). Exit 0 otherwise.
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
//	sendguard import [--reason R] [--source S] [--rejects FILE] FILE|-
//
//	--reason R       reason recorded with every imported block (default:
//	                 a CSV's reason column, else empty)
//	--source S       source recorded with every imported block (default:
//	                 a CSV's source column, else import)
//	--rejects FILE   write the invalid lines to FILE instead of stderr
//
// Blocks every contact in FILE; "-" reads stdin. Two formats are read,
// told apart by the first line that is neither blank nor a comment (a line
// starting with #):
//
//   - CSV with a header, when that line has two fields or more, or one
//     field that is a known column name. Fields are separated by commas,
//     or by semicolons or TABs when the header is and names a contact
//     column. The contacts are read from the columns found by name,
//     ignoring case, spaces, underscores, dashes and dots. Email columns,
//     best first: email, emailaddress ("Email Address"), e-mail, mail,
//     recipient_email, address. Phone columns:
//     phone, phone_number, mobile, mobile_number, mobile_phone, msisdn,
//     cell, cellphone, telephone, tel, number. When there is neither, one
//     column that may hold any kind: contact, recipient, to. The best email
//     column and the best phone column are both read, so one row may give
//     two contacts; empty cells are skipped. Suppression exports of
//     SendGrid ("email"), Mailchimp ("Email Address"), Postmark ("Email",
//     "Recipient"), Mailgun ("address") and Twilio ("phone_number"), and
//     this tool's own export ("contact"), load as they are. A header that
//     names no contact column is an error.
//
//     A CSV may also carry each block's metadata, in columns named as
//     export writes them: reason, source (unless --reason or --source is
//     given: the flags win), created_at (or created) and expires_at (or
//     expires). Times are RFC 3339, a date ("2024-05-06", UTC), or Unix
//     seconds; an empty cell means now (created_at) or never (expires_at).
//     A row whose time cannot be read is reported as invalid; a row whose
//     expires_at has passed is not imported and is counted as expired.
//
//   - Otherwise a plain list: one contact per line; blank lines and lines
//     starting with # are skipped.
//
// While it runs, a progress bar is drawn on stderr if stderr is a
// terminal. At the end it prints one line on stdout:
//
//	imported N, already present M, invalid K
//
// N blocks were added; M contacts were blocked already (or came twice in
// the input); K lines (or CSV cells) are not recipients. When E CSV rows
// had lapsed already (their expires_at passed), the line ends with
// ", expired E". Each invalid line or cell is
// reported, in input order, to the --rejects file or else to stderr, with
// its line number (1 is the first line of the input, header included):
//
//	line N: INPUT: REASON
//	line N: malformed CSV: REASON
//
// Exit 0 when the import ran, even with invalid lines. Exit 2 when it
// could not: an unreadable input or rejects file, a CSV header with no
// contact column, a database error. The summary line is printed either
// way and says what was done before the failure.
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
// The CSV imports back as it is: the same contacts, reasons, sources and
// times (import reads the contact column and the metadata columns). Exit
// 0, or 2 on an error.
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
//	change_log.last_seq<TAB>N   the change log's last record
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
// NAME is opencx or ocamba. With --json, the same figures as one JSON
// object, nested at the dots: {"entries":3,"filter":{"capacity":…},
// "sync":{"opencx":{"pending":0,…}},…}. Exit 0, or 2 on an error.
//
// # sync
//
//	sendguard sync [--once] [--interval D] [--timeout D]
//
//	--once         sync once, then exit
//	--interval D   without --once, the time between full passes
//	               (default: 1m); local blocks are pushed at once
//	--timeout D    with --once, how long it may take (default: 2m)
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
// any output.
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
// configuration error or a vendor that refuses the token.
//
// Without --once it runs until SIGINT or SIGTERM, then stops cleanly and
// prints each vendor's line (counting since the start) on stdout (exit
// 0). Failures are retried. Every --interval, a vendor whose state changed
// gets a line on stderr:
//
//	sendguard: sync: NAME: synced at TIME, pending N, dead letters N
//	sendguard: sync: NAME: error (retrying): WHY
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
//	  created_at, error); an invalid recipient has its reason in error
//	POST /v1/blocks {"recipients":[…],"reason":"…","source":"…","expires":"30d"}
//	  200 {"blocks":[…]}: the blocks now in force (input, kind, canonical,
//	  reason, source, created_at, expires_at); source defaults to local,
//	  expires is as block --expires (default: never). All recipients are
//	  read first: an invalid one is a 400 naming it, and nothing is blocked
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
//	GET /metrics          Prometheus text format, sendguard_* metrics;
//	                      no recipient in any label
//
// Each block is written before its 2xx goes out. On SIGTERM or SIGINT,
// serve stops accepting connections, lets the requests in flight finish
// (up to 7 s), stops the sync, closes the database (writing the filter
// snapshot) and exits 0, within 10 s; a second signal kills it at once.
// Exit 2 on a configuration error or if the address cannot be bound.
//
// # help
//
//	sendguard help [COMMAND]
//	sendguard COMMAND -h
//
// Prints this reference, or the part about COMMAND, on stdout (exit 0). An
// unknown command prints the command list on stderr (exit 2).
package main
