package optout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
)

// The sources of the blocks a [Recorder] makes.
const (
	SourceBounce    = "bounce"
	SourceComplaint = "complaint"
)

// softBounceEvent names the guard's durable soft-bounce counter.
const softBounceEvent = "soft-bounce"

// RecorderConfig configures [NewRecorder].
type RecorderConfig struct {
	// SoftBounces is how many soft bounces within Window block a
	// recipient. The default value (0) is 3.
	SoftBounces int
	// Window is the period SoftBounces are counted over. The default value
	// (0) is 7 days.
	Window time.Duration
	// Clock receives each block's delays. The default (nil) is a Clock of
	// the Recorder's own (see [Recorder.Stats]).
	Clock *Clock
	// Now returns the current time. The default (nil) is time.Now.
	Now func() time.Time
	// Logger receives one line per block, recipients redacted. The default
	// (nil) discards everything.
	Logger *slog.Logger
	// MeterProvider receives the sendguard.optout.captured counter and
	// the sendguard.optout.delay histogram. The default (nil) is the
	// global provider (otel.GetMeterProvider).
	MeterProvider metric.MeterProvider
}

// Recorder applies bounce and complaint reports to a guard: a hard bounce
// blocks its recipients at once (source "bounce"), as does a complaint
// (source "complaint"); a soft bounce blocks a recipient once it is the
// SoftBounces-th within Window. Soft bounces are counted durably in the
// guard's store ([guard.Guard.CountEvent]), so the count survives a
// restart and is shared by every Recorder on the same guard. Every soft
// bounce recorded counts, also a report recorded again (when in doubt,
// block). The count is cleared when the recipient is blocked.
//
// Recorder is safe for concurrent use by multiple goroutines.
type Recorder struct {
	g      *guard.Guard
	soft   int
	window time.Duration
	clock  *Clock
	met    *instruments
	now    func() time.Time
	log    *slog.Logger
}

// NewRecorder returns a Recorder for g. It returns an error for a nil
// guard or a negative SoftBounces or Window.
func NewRecorder(g *guard.Guard, cfg RecorderConfig) (*Recorder, error) {
	if g == nil {
		return nil, errors.New("optout: nil guard")
	}
	if cfg.SoftBounces < 0 || cfg.Window < 0 {
		return nil, errors.New("optout: negative soft-bounce count or window")
	}
	r := &Recorder{g: g, soft: cfg.SoftBounces, window: cfg.Window, clock: cfg.Clock, now: cfg.Now, log: cfg.Logger}
	if r.soft == 0 {
		r.soft = 3
	}
	if r.window == 0 {
		r.window = 7 * 24 * time.Hour
	}
	if r.clock == nil {
		r.clock = new(Clock)
	}
	met, err := newInstruments(cfg.MeterProvider)
	if err != nil {
		return nil, fmt.Errorf("optout: metrics: %w", err)
	}
	r.met = met
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// Stats returns the compliance clock's figures for the Recorder's clock.
func (r *Recorder) Stats() ClockStats { return r.clock.Stats() }

// Record applies fb and returns how many recipients it newly blocked.
// Each block is durable before Record returns. The time asked for (the
// block's CreatedAt, and the compliance clock's start) is the report's
// Date, else now; a soft bounce is counted at the original message's
// ArrivalDate, else the same time, so that Window is measured in the
// reports' time. A recipient that is not an email
// address is skipped; the error joins those (wrapping
// normalize.ErrInvalid) with any failure of the guard, and the other
// recipients are applied regardless.
func (r *Recorder) Record(ctx context.Context, fb *Feedback) (int, error) {
	if fb == nil {
		return 0, nil
	}
	now := r.now()
	requested := fb.Date
	if requested.IsZero() || requested.After(now) {
		requested = now
	}
	// A soft bounce is counted at the original message's arrival (else
	// the report's date): Window is measured in the reports' time.
	event := fb.ArrivalDate
	if event.IsZero() {
		event = requested
	}
	type item struct {
		rcpt string
		t    FeedbackType
	}
	var items []item
	if fb.Statuses != nil {
		for _, s := range fb.Statuses {
			items = append(items, item{s.Recipient, s.Type})
		}
	} else {
		for _, rc := range fb.Recipients {
			items = append(items, item{rc, fb.Type})
		}
	}
	var errs []error
	blocked := 0
	for _, it := range items {
		if it.t == Other {
			continue
		}
		c, err := r.g.Normalizer().Email(it.rcpt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		added, err := r.apply(ctx, c, it.rcpt, it.t, fb, requested, event)
		if err != nil {
			errs = append(errs, err)
		}
		if added {
			blocked++
		}
	}
	return blocked, errors.Join(errs...)
}

func (r *Recorder) apply(ctx context.Context, c normalize.Contact, original string, t FeedbackType, fb *Feedback, requested, event time.Time) (bool, error) {
	var source, reason string
	switch t {
	case HardBounce:
		source, reason = SourceBounce, "hard bounce"
		if st := statusOf(fb, original); st != "" {
			reason += " " + st
		}
	case Complaint:
		source, reason = SourceComplaint, "complaint"
		if fb.FeedbackType != "" {
			reason += ": " + fb.FeedbackType
		}
	case SoftBounce:
		n, err := r.g.CountEvent(ctx, softBounceEvent, c, event, r.window)
		if err != nil {
			return false, err
		}
		if n < r.soft {
			r.log.Debug("optout: soft bounce counted", slog.Any("recipient", c), slog.Int("count", n))
			return false, nil
		}
		source, reason = SourceBounce, fmt.Sprintf("%d soft bounces in %v", n, r.window)
	default:
		return false, nil
	}
	added, err := r.g.BlockContact(ctx, c, original, reason,
		guard.WithSource(source), guard.WithCreatedAt(requested))
	if err != nil {
		return false, err
	}
	if t == SoftBounce {
		// Blocked now: a later unblock starts from nothing.
		if err := r.g.ResetEvents(ctx, softBounceEvent, c); err != nil {
			r.log.Warn("optout: soft-bounce count not cleared", slog.Any("recipient", c), slog.Any("err", err))
		}
	}
	if added {
		r.met.observe(ctx, r.clock, source, requested, r.now())
		r.log.Info("optout: blocked", slog.Any("recipient", c), slog.String("source", source))
	}
	return added, nil
}

func statusOf(fb *Feedback, rcpt string) string {
	for _, s := range fb.Statuses {
		if s.Recipient == rcpt {
			return s.Status
		}
	}
	return ""
}
