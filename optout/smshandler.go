package optout

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
)

// SourceSMS is the source of the blocks an [SMSHandler] makes; an opt-in
// lifts only a block with this source.
const SourceSMS = "sms"

// maxSMSForm bounds an incoming-message webhook's body.
const maxSMSForm = 64 << 10

// SMSConfig configures [NewSMSHandler].
type SMSConfig struct {
	// AuthToken is the provider account's auth token. When set, every
	// request must carry a valid X-Twilio-Signature — base64 of HMAC-SHA1,
	// keyed with the token, over URL followed by each form field's name and
	// value, sorted by name — and anything else is refused with 403. When
	// empty, nothing is checked and anybody who can reach the handler can
	// block and unblock numbers: only for a handler behind something else
	// that authenticates the provider.
	AuthToken string
	// URL is the webhook's public URL exactly as configured at the provider
	// (the provider signs it, query included). Required with AuthToken:
	// the handler never rebuilds it from the request's Host header.
	URL string
	// HelpReply, when set, is sent back (as TwiML) to a HELP or INFO
	// message. The default (empty) leaves the answer to the provider's
	// own keyword handling.
	HelpReply string
	// Clock receives each opt-out's delays. The default (nil) is a Clock
	// of the handler's own (see [SMSHandler.Stats]).
	Clock *Clock
	// Now returns the current time. The default (nil) is time.Now.
	Now func() time.Time
	// Logger receives one line per opt-out and opt-in, numbers redacted.
	// The default (nil) discards them.
	Logger *slog.Logger
	// MeterProvider receives the sendguard.optout.captured counter and
	// the sendguard.optout.delay histogram. The default (nil) is the
	// global provider (otel.GetMeterProvider).
	MeterProvider metric.MeterProvider
}

// SMSHandler is an [http.Handler] for a Twilio-shaped incoming-message
// webhook: a POST of form fields From, To, Body and others. A message that
// [ClassifySMS] reads as an opt-out blocks From (source "sms") before the
// answer goes out; an opt-in lifts From's block only if an SMS opt-out made
// it. Answers:
//
//   - 200 with an empty TwiML document to a keyword message (with a
//     message for HELP when HelpReply is set), 204 to any other message;
//   - 403 to a request without a valid signature (when AuthToken is set);
//   - 405 to anything but POST; 400 to an unreadable form or From, 413 to a
//     body over 64 KiB;
//   - 500 when the blocklist fails: the provider retries.
//
// SMSHandler is safe for concurrent use by multiple goroutines.
type SMSHandler struct {
	g     *guard.Guard
	cfg   SMSConfig
	clock *Clock
	met   *instruments
	log   *slog.Logger
	now   func() time.Time
}

// NewSMSHandler returns the webhook handler for g. It returns an error when
// g is nil, or AuthToken is set without an absolute http(s) URL.
func NewSMSHandler(g *guard.Guard, cfg SMSConfig) (*SMSHandler, error) {
	if g == nil {
		return nil, errors.New("optout: nil guard")
	}
	if cfg.AuthToken != "" {
		u, err := url.Parse(cfg.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("optout: SMS webhook URL %q is not an absolute http(s) URL", cfg.URL)
		}
	}
	h := &SMSHandler{g: g, cfg: cfg, clock: cfg.Clock, log: cfg.Logger, now: cfg.Now}
	if h.clock == nil {
		h.clock = new(Clock)
	}
	met, err := newInstruments(cfg.MeterProvider)
	if err != nil {
		return nil, fmt.Errorf("optout: metrics: %w", err)
	}
	h.met = met
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h, nil
}

// Stats returns the compliance clock's figures for the handler's clock.
func (h *SMSHandler) Stats() ClockStats { return h.clock.Stats() }

// emptyTwiML is the answer to a keyword message: no reply of ours.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// ServeHTTP handles one incoming message (see [SMSHandler]).
func (h *SMSHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	received := h.now()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxSMSForm)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	if h.cfg.AuthToken != "" && !h.signed(r) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	intent := ClassifySMS(r.PostForm.Get("Body"))
	if intent == None {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	reply := ""
	switch intent {
	case OptOut, OptIn:
		c, err := h.g.Normalizer().Phone(r.PostForm.Get("From"))
		if err != nil {
			http.Error(w, "From is not a phone number", http.StatusBadRequest)
			return
		}
		if intent == OptOut {
			err = h.optOut(r, c, received)
		} else {
			err = h.optIn(r, c)
		}
		if err != nil {
			h.log.Warn("optout: sms keyword not applied", slog.Any("from", c), slog.Any("err", err))
			http.Error(w, "blocklist unavailable", http.StatusInternalServerError)
			return
		}
	case Help:
		reply = h.cfg.HelpReply
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	if reply == "" {
		_, _ = io.WriteString(w, emptyTwiML)
		return
	}
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Message>`+html.EscapeString(reply)+`</Message></Response>`)
}

func (h *SMSHandler) optOut(r *http.Request, c normalize.Contact, received time.Time) error {
	added, err := h.g.BlockContact(r.Context(), c, r.PostForm.Get("From"), "sms opt-out",
		guard.WithSource(SourceSMS), guard.WithCreatedAt(received))
	if err != nil {
		return err
	}
	if added {
		h.met.observe(r.Context(), h.clock, SourceSMS, received, h.now())
		h.log.Info("optout: sms opt-out", slog.Any("from", c))
	}
	return nil
}

func (h *SMSHandler) optIn(r *http.Request, c normalize.Contact) error {
	lifted, err := h.g.UnblockContactIfSource(r.Context(), c, SourceSMS)
	if lifted {
		h.log.Info("optout: sms opt-in", slog.Any("from", c))
	}
	return err
}

// signed reports whether r carries the provider's signature for the
// configured URL and r's form fields. r's form must be parsed.
func (h *SMSHandler) signed(r *http.Request) bool {
	got := r.Header.Get("X-Twilio-Signature")
	if got == "" {
		return false
	}
	want := TwilioSignature(h.cfg.AuthToken, h.cfg.URL, r.PostForm)
	return hmac.Equal([]byte(got), []byte(want))
}

// TwilioSignature returns the X-Twilio-Signature of a form POSTed to
// fullURL: base64 of HMAC-SHA1, keyed with authToken, over fullURL followed
// by each field's name and value, fields sorted by name (values of one
// name in the order given). It is what the provider sends and what
// [SMSHandler] checks; tests and fakes use it to sign.
func TwilioSignature(authToken, fullURL string, form url.Values) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	_, _ = io.WriteString(mac, fullURL) // a hash never fails to write
	for _, k := range slices.Sorted(maps.Keys(form)) {
		for _, v := range form[k] {
			_, _ = io.WriteString(mac, k)
			_, _ = io.WriteString(mac, v)
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

var _ http.Handler = (*SMSHandler)(nil)
