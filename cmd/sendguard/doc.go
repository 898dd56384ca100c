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
// With --json, the same figures as one JSON
// object, nested at the dots: {"entries":3,"filter":{"capacity":…},
// "sync":{"opencx":{"pending":0,…}},…}. Exit 0, or 2 on an error.
//
// # sync
//
//	sendguard sync [--once] [--interval D] [--timeout D]
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
// # help
//
//	sendguard help [COMMAND]
//	sendguard COMMAND -h
//
// Prints this reference, or the part about COMMAND, on stdout (exit 0). An
// unknown command prints the command list on stderr (exit 2).
package main
