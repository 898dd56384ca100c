package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/optout"
)

// Request limits of the admin API.
const (
	maxJSONBody      = 1 << 20 // bytes of a JSON request body
	maxRecipients    = 10000   // recipients in one check or block request
	maxFeedbackBody  = optout.MaxFeedbackSize
	smsInboundPath   = "/sms/inbound"
	openAPIPath      = "/openapi.json"
	defaultAPISource = "local"
)

// openAPIDoc is the OpenAPI 3 document of the admin API, served at
// /openapi.json; a test checks it against adminRoutes.
//
//go:embed openapi.json
var openAPIDoc []byte

// route is one admin API route: behind the bearer token.
type route struct {
	method, path string
	handle       func(s *server, w http.ResponseWriter, r *http.Request)
}

// adminRoutes lists the admin API. The OpenAPI document must describe
// exactly these (TestServeOpenAPIMatchesRoutes).
func adminRoutes() []route {
	return []route{
		{http.MethodPost, "/v1/check", (*server).apiCheck},
		{http.MethodPost, "/v1/blocks", (*server).apiBlock},
		{http.MethodDelete, "/v1/blocks", (*server).apiUnblock},
		{http.MethodGet, "/v1/stats", (*server).apiStats},
		{http.MethodPost, "/v1/unsubscribe-headers", (*server).apiUnsubscribeHeaders},
		{http.MethodPost, "/v1/feedback", (*server).apiFeedback},
	}
}

// handler returns serve's whole HTTP handler: the routes behind the
// logging, metrics and panic recovery.
func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range adminRoutes() {
		h := rt.handle
		mux.Handle(rt.method+" "+rt.path, s.auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h(s, w, r) })))
	}
	// Anything else under /v1/: 401 without the token, else a JSON 404 or
	// 405 (the mux's own are plain text).
	mux.Handle("/v1/", s.auth(http.HandlerFunc(s.apiNotFound)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.Handle("GET /metrics", s.metricsHandler())
	mux.HandleFunc("GET "+openAPIPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAPIDoc)
	})
	if s.sms != nil {
		mux.Handle(smsInboundPath, s.sms) // it answers 405 to anything but POST
	}
	if s.unsub != nil {
		mux.Handle(s.unsubPath, s.unsub) // it reads the link from the whole path
	}
	return s.observe(mux)
}

// auth lets through requests with the API token: "Authorization: Bearer
// TOKEN", compared in constant time (over SHA-256 digests, so that not
// even the length leaks). Others get 401.
func (s *server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		given := hashToken(strings.TrimSpace(tok))
		if !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(given[:], s.token[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sendguard"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func hashToken(t string) [32]byte { return sha256.Sum256([]byte(t)) }

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe counts and logs each request and turns a panic into a 500. A
// log line names the route pattern, never the path or query: they may
// carry a recipient (an unsubscribe link, DELETE's query).
func (s *server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("serve: handler panicked", slog.String("route", r.Pattern), slog.String("panic", oneLine(fmt.Sprint(p))))
				if sw.status == 0 {
					writeError(sw, http.StatusInternalServerError, "internal error")
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			s.metrics.observe(route, status, time.Since(start))
			level := slog.LevelInfo
			switch {
			case status >= 500:
				level = slog.LevelError
			case r.Method == http.MethodGet || route == "POST /v1/check":
				level = slog.LevelDebug // the hot and the polled routes
			}
			s.log.Log(r.Context(), level, "request", slog.String("route", route), slog.String("method", r.Method),
				slog.Int("status", status), slog.Duration("took", time.Since(start)))
		}()
		next.ServeHTTP(sw, r)
	})
}

// apiNotFound answers a /v1/ request no route matched: 405 with Allow
// when the path has routes for other methods, else 404.
func (s *server) apiNotFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, rt := range adminRoutes() {
		if rt.path == r.URL.Path {
			allow = append(allow, rt.method)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed (allowed: %s)", r.Method, strings.Join(allow, ", ")))
		return
	}
	writeError(w, http.StatusNotFound, "no such API route")
}

// writeJSON writes v as the JSON body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"cannot encode the response"}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// apiError is the body of every admin API error.
type apiError struct {
	Error string `json:"error"`
	// Recipient is the input an error is about, when it is about one.
	Recipient string `json:"recipient,omitempty"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Error: msg})
}

// decodeJSON reads r's body, at most maxJSONBody bytes of one JSON value,
// into dst. On failure it has answered (400 or 413) and returns false.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	if r.ContentLength > maxJSONBody {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", maxJSONBody))
		return false
	}
	body := http.MaxBytesReader(w, r.Body, maxJSONBody)
	dec := json.NewDecoder(body)
	err := dec.Decode(dst)
	if err != nil {
		// An oversized body is a 413 whatever it holds: read on (to the
		// limit at most) to tell it from a small malformed one.
		if _, derr := io.Copy(io.Discard, body); derr != nil {
			var mbe *http.MaxBytesError
			if errors.As(derr, &mbe) {
				err = derr
			}
		}
	}
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("more than one JSON value in the body")
			var mbe *http.MaxBytesError
			if errors.As(terr, &mbe) {
				err = terr
			}
		}
	}
	if err == nil {
		return true
	}
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", maxJSONBody))
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "empty body: want a JSON object")
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		writeError(w, http.StatusBadRequest, "invalid JSON: "+oneLine(err.Error()))
	case errors.As(err, &te):
		what := te.Field
		if what == "" {
			what = "body"
		}
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid JSON: %s: want %s, got %s", what, te.Type, te.Value))
	default:
		writeError(w, http.StatusBadRequest, "invalid JSON: "+oneLine(err.Error()))
	}
	return false
}

// recipientsRequest is the body of POST /v1/check.
type recipientsRequest struct {
	Recipients []string `json:"recipients"`
}

// recipientsOK answers 400 and returns false for a missing, empty or
// oversized recipient list.
func recipientsOK(w http.ResponseWriter, rs []string) bool {
	switch {
	case len(rs) == 0:
		writeError(w, http.StatusBadRequest, `"recipients": want a non-empty list`)
	case len(rs) > maxRecipients:
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`"recipients": %d given, at most %d per request`, len(rs), maxRecipients))
	default:
		return true
	}
	return false
}

// apiCheck: POST /v1/check {"recipients": [...]} → {"results": [...]},
// each the record check --json prints. The check path takes no lock here:
// the guard is safe for concurrent use.
func (s *server) apiCheck(w http.ResponseWriter, r *http.Request) {
	var req recipientsRequest
	if !decodeJSON(w, r, &req) || !recipientsOK(w, req.Recipients) {
		return
	}
	results := make([]checkJSON, 0, len(req.Recipients))
	for _, raw := range req.Recipients {
		v, err := s.g.Check(r.Context(), raw)
		reason, isInvalid := "", false
		if err != nil {
			if reason, isInvalid = invalidReason(err); !isInvalid {
				s.log.Error("serve: check failed", slog.Any("recipient", normalize.Redacted(raw)), slog.String("err", why(err)))
				writeError(w, http.StatusInternalServerError, "blocklist unavailable: "+why(err))
				return
			}
		}
		results = append(results, newCheckJSON(raw, v, reason, isInvalid))
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

// blockRequest is the body of POST /v1/blocks.
type blockRequest struct {
	Recipients []string `json:"recipients"`
	Reason     string   `json:"reason"`
	Source     string   `json:"source"`  // default "local"
	Expires    string   `json:"expires"` // as block --expires; "" never
	// Force allows blocking a mailbox provider's domain (gmail.com, …),
	// as block --force.
	Force bool `json:"force"`
}

// blockJSON is one block in force, as POST /v1/blocks answers.
type blockJSON struct {
	Input     string  `json:"input"`
	Kind      string  `json:"kind"`
	Canonical string  `json:"canonical"`
	Reason    string  `json:"reason"`
	Source    string  `json:"source"`
	CreatedAt *string `json:"created_at"`
	ExpiresAt *string `json:"expires_at"` // null: never
}

// apiBlock: POST /v1/blocks. Every recipient is read first: any invalid
// one is a 400 naming it, and nothing is blocked. Each block is written
// (as durable as the guard's writes) before the 200.
func (s *server) apiBlock(w http.ResponseWriter, r *http.Request) {
	var req blockRequest
	if !decodeJSON(w, r, &req) || !recipientsOK(w, req.Recipients) {
		return
	}
	if req.Source == "" {
		req.Source = defaultAPISource
	}
	if strings.TrimSpace(req.Source) == "" {
		writeError(w, http.StatusBadRequest, `"source": must not be blank`)
		return
	}
	opts := []guard.BlockOption{guard.WithSource(req.Source)}
	if req.Expires != "" {
		d, err := parseExpiry(req.Expires)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf(`"expires" %q: %s`, req.Expires, err))
			return
		}
		opts = append(opts, guard.WithExpiry(d))
	}
	if req.Force {
		opts = append(opts, guard.AllowProviderDomain())
	}
	n := s.g.Normalizer()
	for _, raw := range req.Recipients {
		ct, err := n.Parse(raw)
		if err != nil {
			reason, _ := invalidReason(err)
			if reason == "" {
				reason = why(err)
			}
			writeJSON(w, http.StatusBadRequest, apiError{
				Error:     fmt.Sprintf("invalid recipient %q: %s; nothing was blocked", raw, reason),
				Recipient: raw,
			})
			return
		}
		if !req.Force && ct.Kind == normalize.Domain && guard.IsProviderDomain(ct.Value) {
			writeJSON(w, http.StatusBadRequest, apiError{
				Error: fmt.Sprintf("recipient %q: a mailbox provider's domain: blocking it blocks every address there; "+
					`block the addresses, or set "force": true if that is meant; nothing was blocked`, raw),
				Recipient: raw,
			})
			return
		}
	}
	blocks := make([]blockJSON, 0, len(req.Recipients))
	for _, raw := range req.Recipients {
		v, err := s.g.Block(r.Context(), raw, req.Reason, opts...)
		if err != nil {
			s.log.Error("serve: block failed", slog.Any("recipient", normalize.Redacted(raw)), slog.String("err", why(err)))
			writeError(w, http.StatusInternalServerError, "block failed: "+why(err))
			return
		}
		s.log.Info("serve: blocked", slog.Any("recipient", v.Contact), slog.String("source", v.Source))
		b := blockJSON{Input: raw, Kind: v.Contact.Kind.String(), Canonical: v.Contact.Value, Reason: v.Reason, Source: v.Source}
		if t := rfc3339(v.CreatedAt); t != "" {
			b.CreatedAt = &t
		}
		if t := rfc3339(v.ExpiresAt); t != "" {
			b.ExpiresAt = &t
		}
		blocks = append(blocks, b)
	}
	writeJSON(w, http.StatusOK, map[string]any{"blocks": blocks})
}

// apiUnblock: DELETE /v1/blocks?recipient=… → {"canonical", "unblocked",
// "still_blocked"}; still_blocked is true when a domain block still
// covers the recipient.
func (s *server) apiUnblock(w http.ResponseWriter, r *http.Request) {
	vals := r.URL.Query()["recipient"]
	if len(vals) != 1 || vals[0] == "" {
		writeError(w, http.StatusBadRequest, "want exactly one recipient query parameter: DELETE /v1/blocks?recipient=…")
		return
	}
	raw := vals[0]
	if _, err := s.g.Normalizer().Parse(raw); err != nil {
		reason, _ := invalidReason(err)
		writeJSON(w, http.StatusBadRequest, apiError{Error: fmt.Sprintf("invalid recipient %q: %s", raw, reason), Recipient: raw})
		return
	}
	existed, err := s.g.Unblock(r.Context(), raw)
	if err != nil {
		s.log.Error("serve: unblock failed", slog.Any("recipient", normalize.Redacted(raw)), slog.String("err", why(err)))
		writeError(w, http.StatusInternalServerError, "unblock failed: "+why(err))
		return
	}
	v, err := s.g.Check(r.Context(), raw)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "unblock: check failed: "+why(err))
		return
	}
	if existed {
		s.log.Info("serve: unblocked", slog.Any("recipient", v.Contact))
	}
	writeJSON(w, http.StatusOK, map[string]any{"canonical": v.Contact.Value, "unblocked": existed, "still_blocked": v.Blocked})
}

// apiStats: GET /v1/stats, the object stats --json prints.
func (s *server) apiStats(w http.ResponseWriter, r *http.Request) {
	a := *s.a // a copy whose context is the request's
	a.ctx = r.Context()
	list, err := a.collectStats(s.g)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "stats: "+why(err))
		return
	}
	writeJSON(w, http.StatusOK, nest(list))
}

// apiUnsubscribeHeaders: POST /v1/unsubscribe-headers {"recipient"} →
// the two header fields; 501 when one-click unsubscribe is not
// configured.
func (s *server) apiUnsubscribeHeaders(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Recipient string `json:"recipient"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	if s.unsub == nil {
		writeError(w, http.StatusNotImplemented, fmt.Sprintf("one-click unsubscribe is not configured: set %s and %s", envUnsubURL, envUnsubSecret))
		return
	}
	if req.Recipient == "" {
		writeError(w, http.StatusBadRequest, `"recipient": want an email address`)
		return
	}
	h, err := s.unsub.Headers(req.Recipient)
	if err != nil {
		reason, ok := invalidReason(err)
		if !ok {
			reason = why(err)
		}
		writeJSON(w, http.StatusBadRequest, apiError{Error: fmt.Sprintf("recipient %q: %s", req.Recipient, reason), Recipient: req.Recipient})
		return
	}
	writeJSON(w, http.StatusOK, h)
}

// feedbackJSON is the answer of POST /v1/feedback.
type feedbackJSON struct {
	Type         string              `json:"type"` // hard-bounce, soft-bounce, complaint, other
	FeedbackType string              `json:"feedback_type,omitempty"`
	Reporter     string              `json:"reporter,omitempty"`
	Date         *string             `json:"date"`
	MessageID    string              `json:"message_id,omitempty"`
	Statuses     []feedbackStatus    `json:"statuses,omitempty"`
	Recipients   []feedbackRecipient `json:"recipients"`
	NewlyBlocked int                 `json:"newly_blocked"`
}

type feedbackStatus struct {
	Recipient  string `json:"recipient"`
	Action     string `json:"action"`
	Status     string `json:"status"`
	Diagnostic string `json:"diagnostic,omitempty"`
	Type       string `json:"type"`
}

// feedbackRecipient is one recipient the report is about, and whether it
// is blocked now.
type feedbackRecipient struct {
	Recipient string `json:"recipient"`
	Canonical string `json:"canonical"`
	Blocked   bool   `json:"blocked"`
	Source    string `json:"source,omitempty"`
	Error     string `json:"error,omitempty"`
}

// apiFeedback: POST /v1/feedback with a raw bounce or complaint
// (message/rfc822): parsed with optout.ParseFeedback, applied with an
// optout.Recorder; 200 with what was read and what is blocked.
func (s *server) apiFeedback(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		switch {
		case err != nil:
			writeError(w, http.StatusUnsupportedMediaType, "unreadable Content-Type")
			return
		case mt == "message/rfc822", mt == "message/global", mt == "text/plain", mt == "application/octet-stream",
			mt == "multipart/report": // the report's own type, when a client sends it as the body's
		default:
			writeError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %s: want message/rfc822", mt))
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFeedbackBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", maxFeedbackBody))
			return
		}
		writeError(w, http.StatusBadRequest, "cannot read the body: "+why(err))
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		writeError(w, http.StatusBadRequest, "empty body: want a message (message/rfc822)")
		return
	}
	fb, err := optout.ParseFeedback(bytes.NewReader(body))
	if err != nil {
		status := http.StatusUnprocessableEntity
		if errors.Is(err, optout.ErrTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		writeError(w, status, strings.TrimPrefix(oneLine(err.Error()), "optout: "))
		return
	}
	newly, err := s.rec.Record(r.Context(), fb)
	if err != nil && !onlyInvalid(err) {
		s.log.Error("serve: feedback not applied", slog.String("type", fb.Type.String()), slog.String("err", why(err)))
		writeError(w, http.StatusInternalServerError, "feedback not applied: "+why(err))
		return
	}
	out := feedbackJSON{
		Type:         fb.Type.String(),
		FeedbackType: fb.FeedbackType,
		Reporter:     fb.Reporter,
		MessageID:    fb.MessageID,
		Recipients:   []feedbackRecipient{},
		NewlyBlocked: newly,
	}
	if t := rfc3339(fb.Date); t != "" {
		out.Date = &t
	}
	for _, st := range fb.Statuses {
		out.Statuses = append(out.Statuses, feedbackStatus{
			Recipient: st.Recipient, Action: st.Action, Status: st.Status,
			Diagnostic: st.Diagnostic, Type: st.Type.String(),
		})
	}
	for _, raw := range fb.Recipients {
		fr := feedbackRecipient{Recipient: raw}
		v, err := s.g.Check(r.Context(), raw)
		switch {
		case err == nil:
			fr.Canonical, fr.Blocked = v.Contact.Value, v.Blocked
			if v.Blocked {
				fr.Source = v.Source
			}
		default:
			reason, ok := invalidReason(err)
			if !ok {
				writeError(w, http.StatusInternalServerError, "feedback applied, but the check after it failed: "+why(err))
				return
			}
			fr.Error = reason
		}
		out.Recipients = append(out.Recipients, fr)
	}
	s.log.Info("serve: feedback", slog.String("type", out.Type), slog.Int("recipients", len(fb.Recipients)), slog.Int("newly_blocked", newly))
	writeJSON(w, http.StatusOK, out)
}

// onlyInvalid reports whether err (joined or not) is made only of
// invalid-recipient errors.
func onlyInvalid(err error) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !onlyInvalid(e) {
				return false
			}
		}
		return true
	}
	return errors.Is(err, normalize.ErrInvalid)
}
