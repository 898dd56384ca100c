package guard_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/sendguard/sendguard/guard"
)

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "sendguard-example")
	defer os.RemoveAll(dir)

	g, err := guard.Open(dir, guard.WithRegion("GB"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer g.Close()
	ctx := context.Background()

	_, _ = g.Block(ctx, "Ann Lee <Ann.Lee@Example.com>", "unsubscribed")
	_, _ = g.Block(ctx, "020 7183 8750", "STOP reply")
	_, _ = g.Block(ctx, "*.spam.test", "spam domain")

	for _, r := range []string{"ann.lee@example.com", "+44 20 7183 8750", "bob@mail.spam.test", "bob@example.com"} {
		v, _ := g.Check(ctx, r)
		fmt.Printf("%-20s blocked=%-5v %s %s\n", r, v.Blocked, v.Scope, v.Reason)
	}
	// Output:
	// ann.lee@example.com  blocked=true  address unsubscribed
	// +44 20 7183 8750     blocked=true  address STOP reply
	// bob@mail.spam.test   blocked=true  domain spam domain
	// bob@example.com      blocked=false none
}

func ExampleWrap() {
	g, err := guard.Open("", guard.WithInMemory())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer g.Close()
	ctx := context.Background()
	_, _ = g.Block(ctx, "+1 202 555 0147", "replied STOP")

	type sms struct{ To, Body string }
	provider := guard.SenderFunc[sms](func(_ context.Context, m sms) error {
		fmt.Println("provider sends to", m.To)
		return nil
	})
	send := guard.Wrap(g, provider, guard.SingleRecipient(func(m sms) string { return m.To }))

	for _, to := range []string{"(202) 555-0100", "(202) 555-0147"} {
		err := send.Send(ctx, sms{To: to, Body: "hello"})
		var be *guard.BlockedError
		if errors.As(err, &be) {
			fmt.Println("suppressed", be.Suppressed[0].Verdict.Contact.Value, "because", be.Suppressed[0].Verdict.Reason)
		}
	}
	// Output:
	// provider sends to (202) 555-0100
	// suppressed +12025550147 because replied STOP
}

// ExampleGuard_ImportEntries restores blocks exported elsewhere, each with
// its own reason, source and times.
func ExampleGuard_ImportEntries() {
	g, err := guard.Open("", guard.WithInMemory())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer g.Close()
	ctx := context.Background()

	created := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	res, err := g.ImportEntries(ctx, []guard.ImportEntry{
		{Recipient: "ann@example.com", Reason: "hard bounce", Source: "opencx", CreatedAt: created},
		{Recipient: "+44 20 7183 8750", Reason: "STOP", ExpiresAt: time.Now().Add(30 * 24 * time.Hour)},
		{Recipient: "old@example.com", Reason: "lapsed", ExpiresAt: created.Add(time.Hour)},
		{Recipient: "not a recipient"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("added %d, expired %d, invalid %d\n", res.Added, res.Expired, len(res.Invalid))
	v, _ := g.Check(ctx, "Ann@Example.com")
	fmt.Println(v.Blocked, v.Reason, v.Source, v.CreatedAt.Format(time.RFC3339))
	// Output:
	// added 2, expired 1, invalid 1
	// true hard bounce opencx 2025-03-04T05:06:07Z
}
