package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/optout"
	blocksync "github.com/sendguard/sendguard/sync"
)

// Defaults and limits of serve (documented in doc.go, "serve").
const (
	defaultAddr = "127.0.0.1:8080"

	// shutdownBudget is how long serve has, from the signal, to exit:
	// httpShutdown of it waits for the requests in flight, the rest
	// stops the sync and closes the guard (the filter snapshot).
	shutdownBudget = 10 * time.Second
	httpShutdown   = 7 * time.Second

	readHeaderTimeout = 10 * time.Second
	readTimeout       = 60 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
)

// Environment variables serve reads besides the common ones and the
// sync's.
const (
	envAddr        = "SENDGUARD_ADDR"
	envAPIToken    = "SENDGUARD_API_TOKEN"
	envUnsubURL    = "SENDGUARD_UNSUBSCRIBE_URL"
	envUnsubSecret = "SENDGUARD_UNSUBSCRIBE_SECRET"
	envTwilioToken = "SENDGUARD_TWILIO_AUTH_TOKEN"
	envSMSURL      = "SENDGUARD_SMS_WEBHOOK_URL"
)

// listeningPrefix starts the line serve writes to stderr once it accepts
// connections; the bound address follows ("…listening on
// http://127.0.0.1:8080"). Scripts and tests read it (doc.go says so).
const listeningPrefix = "sendguard: serve: listening on "

// serveNoteFile is the note serve leaves in the data directory while it
// runs, so that another command that finds the directory in use can say
// who holds it and where to reach it.
const serveNoteFile = "serve.addr"

// serveConfig is serve's configuration from flags and environment.
type serveConfig struct {
	addr     string
	token    string
	logLevel slog.Level
	sync     bool
	interval time.Duration
	nats     string
	member   string

	unsubURL, unsubSecret string
	smsToken, smsURL      string

	// prom is the metrics provider and the /metrics handler; newServer
	// makes one when it is nil.
	prom *promMetrics
}

// serve runs the HTTP service until a signal.
func (a *app) serve(args []string) int {
	fs, c := a.flags("serve")
	cfg := serveConfig{}
	fs.StringVar(&cfg.addr, "addr", a.envOr(envAddr, defaultAddr), "listen address HOST:PORT")
	fs.BoolVar(&cfg.sync, "sync", false, "run the vendor sync in this process")
	fs.DurationVar(&cfg.interval, "interval", blocksync.DefaultInterval, "with --sync, time between passes")
	fs.StringVar(&cfg.nats, "nats", "", "NATS URL of a fleet to join")
	fs.StringVar(&cfg.member, "member", "", "this process's member name in the fleet")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	pos, code, done := a.parse(fs, args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return a.failf("serve: unexpected argument %q (see 'sendguard help serve')", pos[0])
	}
	if err := cfg.logLevel.UnmarshalText([]byte(*level)); err != nil {
		return a.failf("serve: --log-level %q: want debug, info, warn or error", *level)
	}
	if cfg.interval <= 0 {
		return a.failf("serve: --interval %v: must be positive", cfg.interval)
	}
	if cfg.nats != "" || cfg.member != "" {
		// The fleet (package sync/fleet) is not part of this build yet.
		return a.failf("serve: --nats/--member: fleet sync is not available in this build")
	}
	cfg.token = a.getenv(envAPIToken)
	if cfg.token == "" {
		return a.failf("serve: %s is not set: the admin API needs a bearer token (see 'sendguard help serve')", envAPIToken)
	}
	cfg.unsubURL, cfg.unsubSecret = a.getenv(envUnsubURL), a.getenv(envUnsubSecret)
	cfg.smsToken, cfg.smsURL = a.getenv(envTwilioToken), a.getenv(envSMSURL)
	if (cfg.unsubURL == "") != (cfg.unsubSecret == "") {
		return a.failf("serve: one-click unsubscribe needs both %s and %s", envUnsubURL, envUnsubSecret)
	}
	if (cfg.smsToken == "") != (cfg.smsURL == "") {
		return a.failf("serve: the SMS webhook needs both %s and %s", envTwilioToken, envSMSURL)
	}
	if cfg.unsubURL != "" {
		if _, err := unsubscribePath(cfg.unsubURL, cfg.unsubSecret); err != nil {
			return a.failf("serve: %s", err)
		}
	}
	if cfg.smsURL != "" {
		if u, err := url.Parse(cfg.smsURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return a.failf("serve: %s %q: want the webhook's absolute http(s) URL", envSMSURL, cfg.smsURL)
		}
	}
	var remotes []blocksync.Remote
	if cfg.sync {
		var err error
		if remotes, err = a.remotes(); err != nil {
			return a.failf("serve: --sync: %s", err)
		}
	}

	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: cfg.logLevel}))
	prom, err := newPromMetrics()
	if err != nil {
		return a.failf("serve: %s", err)
	}
	cfg.prom = prom
	g, err := a.openGuard(c, guard.WithMeterProvider(prom.Provider))
	if err != nil {
		return a.failf("%s", err)
	}
	s, err := newServer(a, g, cfg, log)
	if err != nil {
		return a.closeGuard(g, c, a.failf("serve: %s", err))
	}
	var e *blocksync.Engine
	if cfg.sync {
		if e, err = blocksync.New(g.Replication(), remotes, blocksync.WithInterval(cfg.interval),
			blocksync.WithMeterProvider(prom.Provider)); err != nil {
			return a.closeGuard(g, c, a.failf("serve: --sync: %s", why(err)))
		}
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return a.closeGuard(g, c, a.failf("serve: --addr %s: %s", cfg.addr, why(err)))
	}
	base := "http://" + ln.Addr().String()
	note := filepath.Join(c.db, serveNoteFile)
	if err := writeServeNote(note, base); err != nil {
		log.Warn("serve: cannot write the note for other commands", slog.String("file", note), slog.String("err", why(err)))
	}
	return a.runServer(s, e, ln, base, note, c)
}

// runServer serves on ln until a.ctx ends, then shuts down in order:
// stop accepting and finish the requests in flight, stop the sync, close
// the guard.
func (a *app) runServer(s *server, e *blocksync.Engine, ln net.Listener, base, note string, c *common) int {
	srv := &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		// Requests in flight finish after the signal.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(a.ctx) },
	}
	syncCtx, stopSync := context.WithCancel(context.WithoutCancel(a.ctx))
	defer stopSync()
	var wg gosync.WaitGroup
	if e != nil {
		wg.Go(func() {
			if err := e.Run(syncCtx); err != nil && syncCtx.Err() == nil {
				s.log.Error("serve: sync stopped", slog.String("err", a.redact(why(err))))
			}
		})
		wg.Go(func() { a.reportLoop(syncCtx, e, max(time.Minute, s.interval)) })
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.ready.Store(true)
	fmt.Fprintf(a.stderr, "%s%s\n", listeningPrefix, base)
	s.log.Info("serve: started", slog.String("addr", base), slog.Bool("sync", e != nil),
		slog.Bool("unsubscribe", s.unsub != nil), slog.Bool("sms", s.sms != nil))

	code := exitOK
	select {
	case <-a.ctx.Done():
	case err := <-served:
		code = a.failf("serve: %s", why(err))
	}
	start := time.Now()
	s.ready.Store(false)
	s.log.Info("serve: stopping")
	ctx, cancel := context.WithTimeout(context.Background(), httpShutdown)
	if err := srv.Shutdown(ctx); err != nil {
		s.log.Warn("serve: requests still in flight at the deadline were cut", slog.String("err", why(err)))
		_ = srv.Close()
	}
	cancel()
	stopSync()
	wg.Wait()
	if e != nil {
		if stats, err := e.Stats(context.Background()); err == nil {
			for _, st := range stats {
				s.log.Info("serve: sync", slog.String("summary", a.redact(summaryLine(st.Remote, st.Counts, st.Pending))))
			}
		}
	}
	if err := os.Remove(note); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("serve: cannot remove the note", slog.String("file", note), slog.String("err", why(err)))
	}
	code = a.closeGuard(s.g, c, code)
	s.log.Info("serve: stopped", slog.Duration("took", time.Since(start)), slog.Int("exit", code))
	return code
}

// writeServeNote writes the note: this process's id and base URL, one
// "key=value" a line, replaced atomically.
func writeServeNote(path, base string) error {
	tmp := path + ".tmp"
	body := fmt.Sprintf("pid=%d\naddr=%s\n", os.Getpid(), base)
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// servingHint returns, for a directory another process holds, what its
// serve note says: "; sendguard serve (pid N) holds it: use its HTTP API
// at URL". It returns "" when there is no note or the process in it is
// gone (a note left by a crash).
func servingHint(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, serveNoteFile))
	if err != nil || len(b) > 4096 {
		return ""
	}
	var pid int
	var addr string
	for line := range strings.Lines(string(b)) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch k {
		case "pid":
			pid, _ = strconv.Atoi(v)
		case "addr":
			addr = v
		}
	}
	if pid <= 0 || addr == "" || !processAlive(pid) {
		return ""
	}
	if u, err := url.Parse(addr); err != nil || u.Host == "" {
		return ""
	}
	return fmt.Sprintf(": sendguard serve (pid %d) holds it: use its HTTP API at %s (see 'sendguard help serve')", pid, field(addr))
}

// processAlive reports whether a process with this id runs.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}

// server is serve's HTTP side. It is safe for concurrent use: the check
// path takes no lock of its own.
type server struct {
	a        *app // for stats; read only once serving
	g        *guard.Guard
	log      *slog.Logger
	token    [32]byte // SHA-256 of the API token
	interval time.Duration

	clock     *optout.Clock
	unsub     *optout.Unsubscriber // nil when not configured
	unsubPath string               // the path it is mounted on, with a trailing slash
	sms       *optout.SMSHandler   // nil when not configured
	rec       *optout.Recorder

	// ready is true while serving: the guard is open (its filter
	// loaded) and no shutdown has begun.
	ready   atomic.Bool
	metrics *httpMetrics
	prom    *promMetrics
}

// newServer builds the server for g with cfg; log receives its lines.
func newServer(a *app, g *guard.Guard, cfg serveConfig, log *slog.Logger) (*server, error) {
	s := &server{
		a:        a,
		g:        g,
		log:      log,
		token:    hashToken(cfg.token),
		interval: cfg.interval,
		clock:    &optout.Clock{},
		metrics:  newHTTPMetrics(),
		prom:     cfg.prom,
	}
	if s.prom == nil {
		var err error
		if s.prom, err = newPromMetrics(); err != nil {
			return nil, err
		}
	}
	mp := s.prom.Provider
	if err := s.metrics.register(mp, &s.ready); err != nil {
		return nil, err
	}
	if cfg.unsubURL != "" {
		u, path, err := newUnsubscriber(g, cfg.unsubURL, cfg.unsubSecret, s.clock, log, mp)
		if err != nil {
			return nil, err
		}
		s.unsub, s.unsubPath = u, path
	}
	if cfg.smsToken != "" {
		h, err := optout.NewSMSHandler(g, optout.SMSConfig{AuthToken: cfg.smsToken, URL: cfg.smsURL, Clock: s.clock, Logger: log, MeterProvider: mp})
		if err != nil {
			return nil, fmt.Errorf("%s: %s", envSMSURL, why(err))
		}
		s.sms = h
	}
	rec, err := optout.NewRecorder(g, optout.RecorderConfig{Clock: s.clock, Logger: log, MeterProvider: mp})
	if err != nil {
		return nil, err
	}
	s.rec = rec
	return s, nil
}

// newUnsubscriber makes the one-click handler. The secret is used as the
// bytes of the string as given (UTF-8), at least optout.MinSecretLen of
// them; the path it is served at is the URL's, which must not be "/" nor
// fall under a path serve uses itself.
func newUnsubscriber(g *guard.Guard, rawURL, secret string, clock *optout.Clock, log *slog.Logger, mp metric.MeterProvider) (*optout.Unsubscriber, string, error) {
	path, err := unsubscribePath(rawURL, secret)
	if err != nil {
		return nil, "", err
	}
	us, err := optout.NewUnsubscriber(g, optout.UnsubscribeConfig{
		Secret:        []byte(secret),
		URL:           strings.TrimSuffix(rawURL, "/"),
		Clock:         clock,
		Logger:        log,
		MeterProvider: mp,
	})
	if err != nil {
		return nil, "", fmt.Errorf("%s: %s", envUnsubURL, why(err))
	}
	return us, path, nil
}

// unsubscribePath checks the one-click configuration before anything is
// opened, and returns the path to mount the handler on, with a trailing
// slash.
func unsubscribePath(rawURL, secret string) (string, error) {
	if len(secret) < optout.MinSecretLen {
		return "", fmt.Errorf("%s: want at least %d bytes (e.g. the output of 'openssl rand -base64 48'), got %d",
			envUnsubSecret, optout.MinSecretLen, len(secret))
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%s %q: want an https URL with a host and no query, e.g. https://mail.example.com/unsubscribe", envUnsubURL, rawURL)
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	if path == "" {
		return "", fmt.Errorf("%s %q: want a path, e.g. https://mail.example.com/unsubscribe", envUnsubURL, rawURL)
	}
	for _, p := range reservedPaths() {
		p = strings.TrimSuffix(p, "/") + "/"
		if strings.HasPrefix(path+"/", p) || strings.HasPrefix(p, path+"/") {
			return "", fmt.Errorf("%s %q: the path %s is serve's own", envUnsubURL, rawURL, strings.TrimSuffix(p, "/"))
		}
	}
	return path + "/", nil
}

// reservedPaths are the paths (or, ending in "/", trees) serve answers
// itself; the one-click path may not overlap them.
func reservedPaths() []string {
	return []string{"/v1/", "/sms/", "/healthz", "/readyz", "/metrics", "/openapi.json"}
}
