package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

// Exit codes: part of the command line's contract (see doc.go).
const (
	exitOK    = 0 // success; check: every recipient allowed
	exitFound = 1 // check: something blocked; sync --once: something still pending
	exitErr   = 2 // invalid input, bad usage, or a failure
)

// Defaults of the common flags, when the environment does not set them.
const (
	defaultDB     = "./sendguard-data"
	defaultRegion = "US"
)

// app is one run of the command line: its streams, environment and
// context. It is used by one goroutine.
type app struct {
	ctx    context.Context
	stdin  io.Reader
	stdout *bufio.Writer
	stderr io.Writer
	// errOut is the stderr given to run, for the terminal test.
	errOut io.Writer
	getenv func(string) string
	// secrets are the vendor tokens the environment configures, read at
	// the start of every command (not only those that build remotes):
	// redact removes them from every line this program writes.
	secrets []string
}

// tokenVars name the environment variables that hold vendor tokens.
var tokenVars = []string{"SENDGUARD_OPENCX_TOKEN", "SENDGUARD_OCAMBA_TOKEN"}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(a *app, args []string) int
}

func commands() []command {
	return []command{
		{"normalize", "print the canonical form of recipients", (*app).normalize},
		{"check", "say whether recipients are blocked", (*app).check},
		{"block", "block recipients", (*app).block},
		{"unblock", "remove blocks", (*app).unblock},
		{"import", "block every contact in a list, CSV or JSON file", (*app).importList},
		{"export", "write every active block to stdout", (*app).export},
		{"stats", "show the blocklist's and the sync's figures", (*app).stats},
		{"sync", "push and pull blocks to and from the vendors; with --nats, join a fleet", (*app).sync},
		{"serve", "serve the guard, opt-out intake and sync over HTTP", (*app).serve},
		{"dead-letters", "list (or retry) the blocks a vendor refused for good", (*app).deadLetters},
		{"version", "show this program's version", (*app).version},
		{"help", "show this reference, or one command's", (*app).help},
	}
}

// run is the whole command line: main only adds the process around it.
// It returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) (code int) {
	a := &app{
		ctx:    ctx,
		stdin:  stdin,
		stdout: bufio.NewWriterSize(stdout, 64<<10),
		stderr: stderr,
		errOut: stderr,
		getenv: getenv,
	}
	for _, key := range tokenVars {
		if tok := getenv(key); tok != "" {
			a.secrets = append(a.secrets, tok)
		}
	}
	defer func() {
		if p := recover(); p != nil {
			code = a.failf("internal error: %s", oneLine(fmt.Sprint(p)))
		}
		if err := a.stdout.Flush(); err != nil && code != exitErr {
			code = a.failf("write output: %s", why(err))
		}
	}()
	global, args := leadingCommonFlags(args)
	if len(args) == 0 {
		a.usage(a.stderr)
		return exitErr
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	if name == "help" {
		// The common flags before it are allowed, and mean nothing to it.
		return a.help(args[1:])
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(a, append(global, args[1:]...))
		}
	}
	fmt.Fprintf(a.stderr, "sendguard: unknown command %q\n\n", name)
	a.usage(a.stderr)
	return exitErr
}

// leadingCommonFlags splits off the common flags written before the
// command ("sendguard --db DIR check …"); they are passed to the command.
func leadingCommonFlags(args []string) (global, rest []string) {
	for len(args) > 0 {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
		if !strings.HasPrefix(args[0], "-") || (name != "db" && name != "region") {
			break
		}
		n := 2
		if hasValue || len(args) < 2 {
			n = min(1, len(args))
		}
		global, args = append(global, args[:n]...), args[n:]
	}
	return global, args
}

// usage writes the short usage: the command list.
func (a *app) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: sendguard COMMAND [flags] [args]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s  %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'sendguard help' for the full reference, 'sendguard help COMMAND' for one command.\n")
}

// failf writes one error line, "sendguard: " and the message, to stderr
// and returns exitErr.
func (a *app) failf(format string, args ...any) int {
	fmt.Fprintf(a.stderr, "sendguard: %s\n", a.redact(oneLine(fmt.Sprintf(format, args...))))
	return exitErr
}

// redact replaces every secret in s.
func (a *app) redact(s string) string {
	for _, t := range a.secrets {
		if t != "" {
			s = strings.ReplaceAll(s, t, "[token]")
		}
	}
	return s
}

// common holds the flags every command takes, and how the command opens
// the store.
type common struct {
	db     string
	region string
	// readOnly opens the store read-only, refusing a directory that holds
	// no store: set for the commands that only read (see readOnlyCommand).
	readOnly bool
}

// readOnlyCommand reports whether the named command only reads the store.
// It then opens it read-only: a --db that holds no store is refused rather
// than created, and a full disk does not stop it. (dead-letters --retry
// writes: it clears readOnly.)
func readOnlyCommand(name string) bool {
	switch name {
	case "check", "stats", "export", "dead-letters":
		return true
	}
	return false
}

// flags returns a flag set for the named command with the common flags
// registered, their defaults read from the environment.
func (a *app) flags(name string) (*flag.FlagSet, *common) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by parse, in one line
	c := &common{readOnly: readOnlyCommand(name)}
	fs.StringVar(&c.db, "db", a.envOr("SENDGUARD_DB", defaultDB), "data directory")
	fs.StringVar(&c.region, "region", a.envOr("SENDGUARD_REGION", defaultRegion), "default region for national phone numbers")
	return fs, c
}

func (a *app) envOr(key, def string) string {
	if v := a.getenv(key); v != "" {
		return v
	}
	return def
}

// parse parses args with fs. Flags may stand before, between or after the
// positional arguments; "--" ends the flags. It returns the positional
// arguments, or done with the exit code when the command must stop: after
// -h (help printed, exit 0) or a flag error (exit 2).
func (a *app) parse(fs *flag.FlagSet, args []string) (pos []string, code int, done bool) {
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			return nil, a.commandHelp(a.stdout, fs.Name()), true
		}
		if err != nil {
			return nil, a.failf("%s: %s (see 'sendguard help %s')", fs.Name(), err, fs.Name()), true
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, 0, false
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), 0, false
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// normalizer returns a normalizer for the region flag; folding is off
// (normalize opens no store to learn its setting).
func (a *app) normalizer(c *common) (*normalize.Normalizer, error) {
	n, err := normalize.New(normalize.WithRegion(c.region))
	if err != nil {
		return nil, fmt.Errorf("--region %q: unknown region", c.region)
	}
	return n, nil
}

// openGuard opens the guard on the --db directory: read-only for a
// command that only reads (c.readOnly), refusing a directory that holds no
// store; otherwise read-write, creating the store in a missing or empty
// directory (never among other files). The error is ready to print after
// "sendguard: ".
func (a *app) openGuard(c *common, extra ...guard.Option) (*guard.Guard, error) {
	if c.db == "" {
		return nil, errors.New("--db: must not be empty")
	}
	if _, err := a.normalizer(c); err != nil {
		return nil, err // before the directory is created
	}
	reten, err := a.logRetention()
	if err != nil {
		return nil, err
	}
	opts := []guard.Option{guard.WithRegion(c.region), guard.WithLogRetention(reten)}
	if c.readOnly {
		opts = append(opts, guard.WithReadOnly())
	}
	g, err := guard.Open(c.db, append(opts, extra...)...)
	if err != nil {
		hint := ""
		if errors.Is(err, storage.ErrLocked) {
			hint = servingHint(c.db)
		}
		return nil, fmt.Errorf("open database: %s: %s%s", c.db, openWhy(err), hint)
	}
	return g, nil
}

// logRetention reads SENDGUARD_LOG_RETENTION: a Go duration or days, 0s
// for none; unset, the guard's default.
func (a *app) logRetention() (time.Duration, error) {
	s := a.getenv("SENDGUARD_LOG_RETENTION")
	if s == "" {
		return guard.DefaultLogRetention, nil
	}
	d, err := parseDays(s)
	if days, ferr := strconv.ParseFloat(s, 64); ferr == nil && days >= 0 && days <= 100*365 {
		// A bare number is days ("7"), as "30d" is; "0" is 0s.
		d, err = time.Duration(days*float64(24*time.Hour)), nil
	}
	if err == nil && d < 0 {
		err = errors.New("must not be negative")
	}
	if err != nil {
		return 0, fmt.Errorf("SENDGUARD_LOG_RETENTION=%q: %s (use e.g. 30d, 12h, 0s)", s, err)
	}
	return d, nil
}

// closeGuard closes g; a failure to close turns a success into exit 2.
func (a *app) closeGuard(g *guard.Guard, c *common, code int) int {
	if err := g.Close(); err != nil {
		return a.failf("close database: %s: %s", c.db, why(err))
	}
	return code
}

// openWhy says why the store did not open, in words for an operator.
func openWhy(err error) string {
	switch {
	case errors.Is(err, storage.ErrNoStore):
		return why(err) + " (check --db or $SENDGUARD_DB; block, import and sync create a store in a missing or empty directory)"
	case errors.Is(err, storage.ErrLocked):
		return "in use by another process"
	case errors.Is(err, storage.ErrFormat):
		return "not a sendguard database, or written by another version: " + why(err)
	case errors.Is(err, storage.ErrCorrupt):
		return "corrupt: " + why(err)
	}
	return why(err)
}

// why is an error's text without the package prefixes the layers below
// add ("guard: open: storage: …"), on one line.
func why(err error) string {
	s := err.Error()
	for {
		i := strings.Index(s, ": ")
		if i < 0 || !isPrefixWord(s[:i]) {
			break
		}
		s = s[i+2:]
	}
	return oneLine(s)
}

// isPrefixWord reports whether w is a package or operation name that
// the layers below put before their messages.
func isPrefixWord(w string) bool {
	switch w {
	case "guard", "storage", "normalize", "filter", "sync", "opencx", "ocamba",
		"open", "block", "unblock", "import", "check":
		return true
	}
	return false
}

// oneLine replaces line breaks, so that a message is one line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r\n", "; ", "\n", "; ", "\r", "; ").Replace(s)
}

// field makes s safe as a tab-separated field: control characters (tabs,
// line breaks, …) become Go escapes such as \t and \n.
func field(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			q := fmt.Sprintf("%+q", r) // '\t', '\x01', '\u0085'
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// invalidReason returns the reason of an invalid-recipient error, and
// false if err is some other error.
func invalidReason(err error) (string, bool) {
	if !errors.Is(err, normalize.ErrInvalid) {
		return "", false
	}
	var ie *normalize.InvalidError
	if errors.As(err, &ie) && ie.Reason != "" {
		return field(ie.Reason), true
	}
	return field(why(err)), true
}
