package guard

import (
	"context"
	"errors"
	"fmt"
)

// Sender sends one message of type M. Implementations must be safe for
// concurrent use by multiple goroutines if the wrapped sender is used so.
type Sender[M any] interface {
	Send(ctx context.Context, msg M) error
}

// SenderFunc adapts an ordinary function to [Sender].
type SenderFunc[M any] func(ctx context.Context, msg M) error

// Send calls f(ctx, msg).
func (f SenderFunc[M]) Send(ctx context.Context, msg M) error { return f(ctx, msg) }

var _ Sender[string] = SenderFunc[string](nil)

// Middleware decorates a Sender.
type Middleware[M any] func(next Sender[M]) Sender[M]

// Chain wraps s in mws. The first middleware listed is the outermost:
// Chain(s, a, b) sends through a, then b, then s. Put the guard first and
// any retry after it, so that a blocked recipient is never retried.
func Chain[M any](s Sender[M], mws ...Middleware[M]) Sender[M] {
	for i := len(mws) - 1; i >= 0; i-- {
		s = mws[i](s)
	}
	return s
}

// Addressing tells the guard who a message goes to, and how to make a copy
// of it for fewer recipients. Implementations must be safe for concurrent
// use and must not change msg.
type Addressing[M any] interface {
	// Recipients returns every recipient of msg (for email: To, Cc and
	// Bcc, in a fixed order). The guard does not keep the slice.
	Recipients(msg M) []string
	// Without returns a copy of msg without the recipients at the given
	// positions of Recipients(msg) (ascending, at least one, never all).
	Without(msg M, drop []int) M
}

// AddressingFuncs adapts two functions to [Addressing].
type AddressingFuncs[M any] struct {
	RecipientsFunc func(msg M) []string
	WithoutFunc    func(msg M, drop []int) M
}

// Recipients calls a.RecipientsFunc.
func (a AddressingFuncs[M]) Recipients(msg M) []string { return a.RecipientsFunc(msg) }

// Without calls a.WithoutFunc.
func (a AddressingFuncs[M]) Without(msg M, drop []int) M { return a.WithoutFunc(msg, drop) }

// SingleRecipient is the addressing of a message with exactly one
// recipient, such as an SMS: to returns it. Such a message is never copied:
// when its recipient is suppressed it is not sent at all.
func SingleRecipient[M any](to func(msg M) string) Addressing[M] {
	return AddressingFuncs[M]{
		RecipientsFunc: func(msg M) []string { return []string{to(msg)} },
		WithoutFunc:    func(msg M, _ []int) M { return msg },
	}
}

// Policy says what a wrapped sender does with a message that has blocked
// recipients.
type Policy uint8

const (
	// RejectBlocked refuses the whole message if any recipient is blocked.
	// It is the default.
	RejectBlocked Policy = iota
	// DropBlocked removes blocked recipients and sends to the rest; if none
	// remain, the next sender is not called.
	DropBlocked
)

// String returns "reject-blocked" or "drop-blocked".
func (p Policy) String() string {
	switch p {
	case RejectBlocked:
		return "reject-blocked"
	case DropBlocked:
		return "drop-blocked"
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}

// WrapOption configures [Wrap].
type WrapOption func(*wrapOptions)

type wrapOptions struct {
	policy      Policy
	dropInvalid bool
	onSuppress  func(ctx context.Context, s Suppressed)
}

// WithPolicy sets the policy for blocked recipients. The default value is
// [RejectBlocked].
func WithPolicy(p Policy) WrapOption { return func(o *wrapOptions) { o.policy = p } }

// WithDropInvalid makes invalid recipients be dropped (under either policy)
// instead of refusing the message. The default value is false: a message
// with an invalid recipient is refused.
func WithDropInvalid(drop bool) WrapOption { return func(o *wrapOptions) { o.dropInvalid = drop } }

// WithOnSuppressed sets a hook called once for each recipient that is not
// sent to, before Send returns, on the sending goroutine and outside any
// lock of the guard's. It must not block for long.
func WithOnSuppressed(fn func(ctx context.Context, s Suppressed)) WrapOption {
	return func(o *wrapOptions) { o.onSuppress = fn }
}

// Wrap returns a Sender that checks every recipient of each message with g
// before passing the message to next. What happens to a message with
// blocked, invalid or unconfirmed recipients depends on the options:
//
//   - [RejectBlocked] (the default): any blocked recipient refuses the
//     whole message; next is not called.
//   - [DropBlocked]: blocked recipients are removed (addr.Without) and the
//     rest is sent; if none remain, next is not called.
//   - An invalid recipient refuses the message unless [WithDropInvalid].
//   - A recipient the store could not confirm (fail-closed) is treated as
//     blocked.
//
// Whenever a recipient is suppressed, Send returns a *[BlockedError] listing
// them all (errors.Is(err, ErrBlocked) when any is blocked); its Sent field
// says whether the rest went out. If next fails, its error is joined with
// that one. The guard never retries: put retries inside next.
func Wrap[M any](g *Guard, next Sender[M], addr Addressing[M], opts ...WrapOption) Sender[M] {
	w := &guarded[M]{g: g, next: next, addr: addr}
	for _, opt := range opts {
		opt(&w.o)
	}
	return w
}

// NewMiddleware returns [Wrap] as a [Middleware], for [Chain].
func NewMiddleware[M any](g *Guard, addr Addressing[M], opts ...WrapOption) Middleware[M] {
	return func(next Sender[M]) Sender[M] { return Wrap(g, next, addr, opts...) }
}

type guarded[M any] struct {
	g    *Guard
	next Sender[M]
	addr Addressing[M]
	o    wrapOptions
}

// Unwrap returns the wrapped sender.
func (w *guarded[M]) Unwrap() Sender[M] { return w.next }

// Send checks msg's recipients and sends it (or a copy without some of
// them) through next, as [Wrap] describes.
func (w *guarded[M]) Send(ctx context.Context, msg M) error {
	rcpts := w.addr.Recipients(msg)
	if len(rcpts) == 0 {
		return ErrNoRecipients
	}
	var sup []Suppressed
	refuse := false
	for i, r := range rcpts {
		v, err := w.g.Check(ctx, r)
		switch {
		case err == nil && !v.Blocked:
			continue
		case errors.Is(err, ErrClosed):
			return err
		case err == nil: // blocked
			refuse = refuse || w.o.policy == RejectBlocked
		case v.Blocked: // unconfirmed, failed closed: treat as blocked
			refuse = refuse || w.o.policy == RejectBlocked
		default: // invalid
			refuse = refuse || !w.o.dropInvalid
		}
		sup = append(sup, Suppressed{Index: i, Verdict: v, Err: err})
	}
	if len(sup) == 0 {
		return w.next.Send(ctx, msg)
	}
	if w.o.onSuppress != nil {
		for _, s := range sup {
			w.o.onSuppress(ctx, s)
		}
	}
	be := &BlockedError{Suppressed: sup}
	if refuse || len(sup) == len(rcpts) {
		return be
	}
	drop := make([]int, len(sup))
	for i, s := range sup {
		drop[i] = s.Index
	}
	if err := w.next.Send(ctx, w.addr.Without(msg, drop)); err != nil {
		return errors.Join(err, be)
	}
	be.Sent = true
	return be
}
