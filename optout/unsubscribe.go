package optout

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
)

// SourceUnsubscribe is the source of the blocks an [Unsubscriber] makes.
const SourceUnsubscribe = "unsubscribe"

// MinSecretLen is the shortest secret [NewUnsubscriber] accepts: 32 bytes,
// the HMAC-SHA256 block's half and the hash's size.
const MinSecretLen = 32

// tagLen is the length of a link's tag: 192 bits of HMAC-SHA256.
const tagLen = 24

// maxUnsubscribeBody bounds a one-click POST's body. The RFC 8058 body is
// 26 bytes; a multipart form from a mail client is a few hundred.
const maxUnsubscribeBody = 8 << 10

// macDomain separates the link tags from any other use of the secret.
const macDomain = "sendguard/optout/unsubscribe/v1\x00"

// UnsubscribeConfig configures [NewUnsubscriber].
type UnsubscribeConfig struct {
	// Secret keys the links' HMAC-SHA256 tags: at least 32 random bytes,
	// kept secret. Required.
	Secret []byte
	// OldSecrets are earlier secrets whose links are still honoured (key
	// rotation): links are made with Secret only, and checked against
	// Secret and each of these. Each must also be at least 32 bytes.
	OldSecrets [][]byte
	// URL is the https URL the handler is served at, e.g.
	// "https://mail.example.com/unsubscribe"; a link is URL + "/" + token.
	// Mount the handler on URL's path with a trailing slash
	// (http.Handle("/unsubscribe/", u)), without http.StripPrefix: it
	// reads the link from the request's path. Required; no query or
	// fragment.
	URL string
	// Mailto, when set, is an address ("unsubscribe@example.com") added to
	// List-Unsubscribe as a mailto: URI (RFC 2369) whose subject carries the
	// recipient's token, for mail clients that only send mail. Mail to it is
	// not processed here: hand each one's subject to
	// [Unsubscriber.UnsubscribeToken]. The default (empty) adds none.
	Mailto string
	// Reason is the reason of the blocks made. The default is
	// "one-click unsubscribe".
	Reason string
	// Clock receives each opt-out's delays. The default (nil) is a Clock
	// of the Unsubscriber's own (see [Unsubscriber.Stats]).
	Clock *Clock
	// Now returns the current time. The default (nil) is time.Now.
	Now func() time.Time
	// Logger receives one line per opt-out, recipients redacted. The
	// default (nil) discards everything.
	Logger *slog.Logger
	// MeterProvider receives the sendguard.optout.captured counter and
	// the sendguard.optout.delay histogram. The default (nil) is the
	// global provider (otel.GetMeterProvider).
	MeterProvider metric.MeterProvider
}

// Unsubscriber makes RFC 8058 one-click unsubscribe headers and serves the
// links they carry. It is an [http.Handler]:
//
//   - POST with List-Unsubscribe=One-Click in its body (urlencoded or
//     multipart/form-data; a body without a Content-Type is read as
//     urlencoded) blocks the link's recipient (source
//     "unsubscribe") durably — as durable as the guard's writes — before the
//     200 goes out; no redirect, no cookie. A replay is harmless: the block
//     is already there.
//   - GET (and HEAD) never block: link scanners fetch every URL. It answers a
//     small page with a button that POSTs the same link.
//   - A link that is not exactly one this Unsubscriber (or an old secret)
//     signed — any character altered — changes nothing and is answered 404;
//     a POST without the one-click field 400, a body over 8 KiB 413, any
//     other method 405; the blocklist failing 500.
//
// Unsubscriber is safe for concurrent use by multiple goroutines.
type Unsubscriber struct {
	g      *guard.Guard
	keys   [][]byte // Secret first, then OldSecrets
	base   string   // URL without a trailing slash
	prefix string   // URL's path + "/"
	mailto string
	reason string
	clock  *Clock
	met    *instruments
	now    func() time.Time
	log    *slog.Logger
}

// NewUnsubscriber returns an Unsubscriber for g. It returns an error for a
// nil guard, a secret (or old secret) under [MinSecretLen] bytes, a URL
// that is not https:// with a host (or has a query or fragment), or a
// Mailto that is not an email address.
func NewUnsubscriber(g *guard.Guard, cfg UnsubscribeConfig) (*Unsubscriber, error) {
	if g == nil {
		return nil, errors.New("optout: nil guard")
	}
	if len(cfg.Secret) < MinSecretLen {
		return nil, fmt.Errorf("optout: unsubscribe secret of %d bytes; at least %d are needed", len(cfg.Secret), MinSecretLen)
	}
	keys := [][]byte{append([]byte(nil), cfg.Secret...)}
	for i, k := range cfg.OldSecrets {
		if len(k) < MinSecretLen {
			return nil, fmt.Errorf("optout: old unsubscribe secret %d of %d bytes; at least %d are needed", i, len(k), MinSecretLen)
		}
		keys = append(keys, append([]byte(nil), k...))
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "" {
		return nil, fmt.Errorf("optout: unsubscribe URL %q is not an https URL without query or fragment", cfg.URL)
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	us := &Unsubscriber{
		g:      g,
		keys:   keys,
		base:   strings.TrimSuffix(cfg.URL, "/"),
		prefix: path + "/",
		reason: cfg.Reason,
		clock:  cfg.Clock,
		now:    cfg.Now,
		log:    cfg.Logger,
	}
	if cfg.Mailto != "" {
		c, err := g.Normalizer().Email(cfg.Mailto)
		if err != nil {
			return nil, fmt.Errorf("optout: unsubscribe mailto: %w", err)
		}
		us.mailto = c.Value
	}
	if us.reason == "" {
		us.reason = "one-click unsubscribe"
	}
	if us.clock == nil {
		us.clock = new(Clock)
	}
	if us.met, err = newInstruments(cfg.MeterProvider); err != nil {
		return nil, fmt.Errorf("optout: metrics: %w", err)
	}
	if us.now == nil {
		us.now = time.Now
	}
	if us.log == nil {
		us.log = slog.New(slog.DiscardHandler)
	}
	return us, nil
}

// Stats returns the compliance clock's figures for the Unsubscriber's
// clock.
func (u *Unsubscriber) Stats() ClockStats { return u.clock.Stats() }

// Headers returns the one-click unsubscribe header fields for a message to
// recipient (any form the guard reads as an email address):
//
//	List-Unsubscribe: <https://…/unsubscribe/TOKEN>[, <mailto:…?subject=unsubscribe%20TOKEN>]
//	List-Unsubscribe-Post: List-Unsubscribe=One-Click
//
// The token carries the canonical address and its HMAC tag. Both fields
// must be covered by the message's DKIM signature (RFC 8058 section 4),
// or receivers ignore them. The map is the caller's. Headers returns an
// error wrapping normalize.ErrInvalid for a recipient that is not an email
// address.
func (u *Unsubscriber) Headers(recipient string) (map[string]string, error) {
	c, err := u.g.Normalizer().Email(recipient)
	if err != nil {
		return nil, err
	}
	tok := u.token(c)
	v := "<" + u.base + "/" + tok + ">"
	if u.mailto != "" {
		v += ", <mailto:" + u.mailto + "?subject=unsubscribe%20" + tok + ">"
	}
	return map[string]string{
		"List-Unsubscribe":      v,
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
	}, nil
}

// token is base64url(address) "." base64url(tag).
func (u *Unsubscriber) token(c normalize.Contact) string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.Value)) + "." +
		base64.RawURLEncoding.EncodeToString(tag(u.keys[0], c.Value))
}

func tag(key []byte, addr string) []byte {
	m := hmac.New(sha256.New, key)
	_, _ = io.WriteString(m, macDomain) // a hash never fails to write
	_, _ = io.WriteString(m, addr)
	return m.Sum(nil)[:tagLen]
}

// verify returns the contact a token names if one of the keys signed it,
// and the token is exactly as made (so no other spelling of it passes).
func (u *Unsubscriber) verify(tok string) (normalize.Contact, bool) {
	a, t, ok := strings.Cut(tok, ".")
	if !ok || len(tok) > 1024 {
		return normalize.Contact{}, false
	}
	enc := base64.RawURLEncoding.Strict()
	addr, err1 := enc.DecodeString(a)
	got, err2 := enc.DecodeString(t)
	if err1 != nil || err2 != nil || len(got) != tagLen ||
		enc.EncodeToString(addr) != a || enc.EncodeToString(got) != t {
		return normalize.Contact{}, false
	}
	valid := 0
	for _, k := range u.keys {
		valid |= subtleEq(tag(k, string(addr)), got)
	}
	if valid != 1 {
		return normalize.Contact{}, false
	}
	c, err := u.g.Normalizer().Email(string(addr))
	if err != nil || c.Value != string(addr) {
		// Signed by us, so canonical when made; a store created with
		// other folding settings could read it otherwise.
		return normalize.Contact{}, false
	}
	return c, true
}

func subtleEq(a, b []byte) int {
	if hmac.Equal(a, b) {
		return 1
	}
	return 0
}

// UnsubscribeToken blocks the recipient named by a token from a
// List-Unsubscribe link or the subject of a mail to the Mailto address
// ("unsubscribe TOKEN", or the token alone), asked for at requested (zero:
// now). It reports whether a new block was made. A token that does not
// verify is an error, and changes nothing.
func (u *Unsubscriber) UnsubscribeToken(ctx context.Context, subject string, requested time.Time) (bool, error) {
	tok := strings.TrimSpace(subject)
	if f := strings.Fields(tok); len(f) == 2 && strings.EqualFold(f[0], "unsubscribe") {
		tok = f[1]
	}
	c, ok := u.verify(tok)
	if !ok {
		return false, errors.New("optout: unsubscribe token does not verify")
	}
	if requested.IsZero() {
		requested = u.now()
	}
	return u.block(ctx, c, requested)
}

func (u *Unsubscriber) block(ctx context.Context, c normalize.Contact, requested time.Time) (bool, error) {
	added, err := u.g.BlockContact(ctx, c, c.Value, u.reason,
		guard.WithSource(SourceUnsubscribe), guard.WithCreatedAt(requested))
	if err != nil {
		return false, err
	}
	if added {
		u.met.observe(ctx, u.clock, SourceUnsubscribe, requested, u.now())
		u.log.Info("optout: unsubscribed", slog.Any("recipient", c))
	}
	return added, nil
}

// ServeHTTP serves one request for a link (see [Unsubscriber]).
func (u *Unsubscriber) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	received := u.now()
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		h.Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// The link as given: the escaped path and the query, never the Host.
	p := r.URL.EscapedPath()
	tok, ok := strings.CutPrefix(p, u.prefix)
	if !ok || r.URL.RawQuery != "" || r.URL.ForceQuery {
		http.NotFound(w, r)
		return
	}
	c, ok := u.verify(tok)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'")
		_, _ = io.WriteString(w, confirmPage)
		return
	}
	if !u.oneClick(w, r) {
		return
	}
	if _, err := u.block(r.Context(), c, received); err != nil {
		u.log.Warn("optout: unsubscribe not applied", slog.Any("recipient", c), slog.Any("err", err))
		http.Error(w, "unavailable, try again later", http.StatusInternalServerError)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	_, _ = io.WriteString(w, donePage)
}

// oneClick reads a POST body and reports whether it carries
// List-Unsubscribe=One-Click; if not, it has answered. The body is read as
// a form when it says it is one (urlencoded or multipart/form-data, as RFC
// 8058 has it) and as an urlencoded body otherwise: a client that leaves
// the Content-Type out still means it, and the link's tag, not the body,
// is what authenticates the request.
func (u *Unsubscriber) oneClick(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxUnsubscribeBody)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var (
		val string
		err error
	)
	switch mt {
	case "multipart/form-data":
		err = r.ParseMultipartForm(maxUnsubscribeBody)
		if r.MultipartForm != nil {
			defer func() { _ = r.MultipartForm.RemoveAll() }()
		}
		val = r.PostFormValue("List-Unsubscribe")
	case "application/x-www-form-urlencoded":
		err = r.ParseForm()
		val = r.PostFormValue("List-Unsubscribe")
	default:
		var b []byte
		if b, err = io.ReadAll(r.Body); err == nil {
			var q url.Values
			q, err = url.ParseQuery(strings.TrimSpace(string(b)))
			val = q.Get("List-Unsubscribe")
		}
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		http.Error(w, "too large", http.StatusRequestEntityTooLarge)
		return false
	case err != nil:
		http.Error(w, "bad request", http.StatusBadRequest)
		return false
	case strings.TrimSpace(val) != "One-Click": // a body sent with a final line break still means it
		http.Error(w, "not a one-click unsubscribe request", http.StatusBadRequest)
		return false
	}
	return true
}

// confirmPage is the GET answer: a button that POSTs the one-click body to
// the same URL (a form without an action posts to the page's own URL).
const confirmPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="robots" content="noindex"><title>Unsubscribe</title></head>
<body><form method="post">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<p>Stop receiving these emails?</p>
<button type="submit">Unsubscribe</button>
</form></body></html>
`

// donePage is the answer to a one-click POST.
const donePage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Unsubscribed</title></head>
<body><p>You are unsubscribed. You will receive no more of these emails.</p></body></html>
`

var _ http.Handler = (*Unsubscriber)(nil)
