package guard_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
)

type mail struct {
	To, Cc []string
}

// mailAddressing lists To then Cc.
var mailAddressing = guard.AddressingFuncs[mail]{
	RecipientsFunc: func(m mail) []string { return append(append([]string{}, m.To...), m.Cc...) },
	WithoutFunc: func(m mail, drop []int) mail {
		skip := map[int]bool{}
		for _, d := range drop {
			skip[d] = true
		}
		var out mail
		for i, r := range m.To {
			if !skip[i] {
				out.To = append(out.To, r)
			}
		}
		for i, r := range m.Cc {
			if !skip[len(m.To)+i] {
				out.Cc = append(out.Cc, r)
			}
		}
		return out
	},
}

func TestWrap_Policies(t *testing.T) {
	ctx := t.Context()
	g := openGuard(t, t.TempDir())
	mustBlock(t, g, "blocked@example.com", "bounced")
	mustBlock(t, g, "spam.test", "spam domain")

	tests := []struct {
		name      string
		opts      []guard.WrapOption
		msg       mail
		wantSent  *mail
		wantIs    []error
		wantSupp  []int
		wantSentF bool
	}{
		{
			name:     "clean message goes through unchanged",
			msg:      mail{To: []string{"a@example.com"}, Cc: []string{"b@example.com"}},
			wantSent: &mail{To: []string{"a@example.com"}, Cc: []string{"b@example.com"}},
		},
		{
			name:     "reject refuses the whole message",
			msg:      mail{To: []string{"a@example.com", "Blocked@Example.com"}},
			wantIs:   []error{guard.ErrBlocked},
			wantSupp: []int{1},
		},
		{
			name:      "drop sends to the rest",
			opts:      []guard.WrapOption{guard.WithPolicy(guard.DropBlocked)},
			msg:       mail{To: []string{"a@example.com", "blocked@example.com"}, Cc: []string{"x@mail.spam.test", "c@example.com"}},
			wantSent:  &mail{To: []string{"a@example.com"}, Cc: []string{"c@example.com"}},
			wantIs:    []error{guard.ErrBlocked},
			wantSupp:  []int{1, 2},
			wantSentF: true,
		},
		{
			name:     "drop with none left does not send",
			opts:     []guard.WrapOption{guard.WithPolicy(guard.DropBlocked)},
			msg:      mail{To: []string{"blocked@example.com"}, Cc: []string{"y@spam.test"}},
			wantIs:   []error{guard.ErrBlocked},
			wantSupp: []int{0, 1},
		},
		{
			name:     "invalid recipient refuses by default",
			opts:     []guard.WrapOption{guard.WithPolicy(guard.DropBlocked)},
			msg:      mail{To: []string{"a@example.com", "not-an-address"}},
			wantIs:   []error{normalize.ErrInvalid},
			wantSupp: []int{1},
		},
		{
			name:      "invalid recipient dropped when asked",
			opts:      []guard.WrapOption{guard.WithDropInvalid(true)},
			msg:       mail{To: []string{"a@example.com", "not-an-address"}},
			wantSent:  &mail{To: []string{"a@example.com"}},
			wantIs:    []error{normalize.ErrInvalid},
			wantSupp:  []int{1},
			wantSentF: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []mail
			var hooked []int
			next := guard.SenderFunc[mail](func(_ context.Context, m mail) error {
				got = append(got, m)
				return nil
			})
			opts := append([]guard.WrapOption{guard.WithOnSuppressed(func(_ context.Context, s guard.Suppressed) {
				hooked = append(hooked, s.Index)
			})}, tt.opts...)
			err := guard.Wrap(g, next, mailAddressing, opts...).Send(ctx, tt.msg)
			if tt.wantSent == nil && len(got) != 0 {
				t.Fatalf("sent %+v, want nothing", got)
			}
			if tt.wantSent != nil && (len(got) != 1 || !reflect.DeepEqual(got[0], *tt.wantSent)) {
				t.Fatalf("sent %+v, want %+v", got, *tt.wantSent)
			}
			if len(tt.wantIs) == 0 {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			for _, target := range tt.wantIs {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = false", err, target)
				}
			}
			var be *guard.BlockedError
			if !errors.As(err, &be) {
				t.Fatalf("err %v is not a *BlockedError", err)
			}
			var idx []int
			for _, s := range be.Suppressed {
				idx = append(idx, s.Index)
			}
			if !reflect.DeepEqual(idx, tt.wantSupp) || !reflect.DeepEqual(hooked, tt.wantSupp) {
				t.Errorf("suppressed %v, hooked %v, want %v", idx, hooked, tt.wantSupp)
			}
			if be.Sent != tt.wantSentF {
				t.Errorf("Sent = %v, want %v", be.Sent, tt.wantSentF)
			}
			for _, s := range be.Blocked() {
				if s.Verdict.Reason == "" || s.Verdict.Source != "local" {
					t.Errorf("blocked recipient without reason/source: %+v", s.Verdict)
				}
			}
		})
	}
}

func TestWrap_NextErrorIsKept(t *testing.T) {
	g := openGuard(t, t.TempDir())
	mustBlock(t, g, "blocked@example.com", "x")
	boom := errors.New("smtp down")
	next := guard.SenderFunc[mail](func(context.Context, mail) error { return boom })
	s := guard.Wrap(g, next, mailAddressing, guard.WithPolicy(guard.DropBlocked))
	err := s.Send(t.Context(), mail{To: []string{"a@example.com", "blocked@example.com"}})
	if !errors.Is(err, boom) || !errors.Is(err, guard.ErrBlocked) {
		t.Fatalf("err = %v; want both the sender's error and ErrBlocked", err)
	}
	var be *guard.BlockedError
	if !errors.As(err, &be) || be.Sent {
		t.Fatalf("BlockedError = %+v, want Sent false", be)
	}
	if err := s.Send(t.Context(), mail{}); !errors.Is(err, guard.ErrNoRecipients) {
		t.Errorf("empty message: %v", err)
	}
}

func TestChain_Order(t *testing.T) {
	var order []string
	mw := func(name string) guard.Middleware[string] {
		return func(next guard.Sender[string]) guard.Sender[string] {
			return guard.SenderFunc[string](func(ctx context.Context, m string) error {
				order = append(order, name)
				return next.Send(ctx, m)
			})
		}
	}
	s := guard.Chain[string](guard.SenderFunc[string](func(context.Context, string) error {
		order = append(order, "send")
		return nil
	}), mw("a"), mw("b"))
	if err := s.Send(t.Context(), "m"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "send"}; !reflect.DeepEqual(order, want) {
		t.Errorf("order = %v, want %v", order, want)
	}
}

func TestWrap_Unwrap(t *testing.T) {
	g := openGuard(t, t.TempDir())
	inner := guard.SenderFunc[string](func(context.Context, string) error { return nil })
	w := guard.Wrap(g, guard.Sender[string](inner), guard.SingleRecipient(func(m string) string { return m }))
	u, ok := w.(interface{ Unwrap() guard.Sender[string] })
	if !ok || u.Unwrap() == nil {
		t.Fatal("wrapped sender has no Unwrap")
	}
}
