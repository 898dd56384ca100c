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
// dead-letters, help. Flags are written -flag or --flag, with the value after a space or
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
// Every command that opens the database also reads
//
//	SENDGUARD_LOG_RETENTION   how long the change log keeps a record at
//	                          least: a Go duration or days (30d, 12h); 0s
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
// NAME is opencx or ocamba. With --json, the same figures as one JSON
// object, nested at the dots (a consumer's name is one key):
// {"entries":3,"change_log":{"records":1,"consumers":{"remote/opencx":
// {"offset":7,"lag":0}},…},"filter":{"capacity":…},
// "sync":{"opencx":{"pending":0,…}},…}. Exit 0, or 2 on an error.
//
// # sync
//
//	sendguard sync [--once] [--interval D] [--timeout D]
//	sendguard sync --forget NAME
//
//	--once         sync once, then exit
//	--interval D   without --once, the time between full passes
//	               (default: 1m); local blocks are pushed at once
//	--timeout D    with --once, how long it may take (default: 2m)
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
// # help
//
//	sendguard help [COMMAND]
//	sendguard COMMAND -h
//
// Prints this reference, or the part about COMMAND, on stdout (exit 0). An
// unknown command prints the command list on stderr (exit 2).
package main
