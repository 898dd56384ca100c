package guard_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/storage"
)

func TestBlockRefusesProviderDomain(t *testing.T) {
	ctx := context.Background()
	g, err := guard.Open("", guard.WithInMemory())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = g.Close() }()
	for _, d := range []string{"gmail.com", "@Outlook.com", "*.yahoo.com"} {
		_, err := g.Block(ctx, d, "oops")
		var pe *guard.ProviderDomainError
		if !errors.Is(err, guard.ErrProviderDomain) || !errors.As(err, &pe) || !strings.Contains(err.Error(), "every address") {
			t.Fatalf("Block(%q) = %v, want a ProviderDomainError saying why", d, err)
		}
	}
	if v, _ := g.Check(ctx, "someone@gmail.com"); v.Blocked {
		t.Fatal("a refused block blocked gmail.com")
	}
	// Addresses there, and other domains, are fine; the option allows it.
	if _, err := g.Block(ctx, "someone@gmail.com", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Block(ctx, "mail.gmail.com", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Block(ctx, "gmail.com", "meant", guard.AllowProviderDomain()); err != nil {
		t.Fatal(err)
	}
	if v, _ := g.Check(ctx, "other@gmail.com"); !v.Blocked {
		t.Fatal("gmail.com not blocked with AllowProviderDomain")
	}
}

func TestStrings(t *testing.T) {
	for got, want := range map[string]string{
		guard.RejectBlocked.String(): "reject-blocked",
		guard.DropBlocked.String():   "drop-blocked",
		guard.FailClosed.String():    "fail-closed",
		guard.FailOpen.String():      "fail-open",
		guard.Policy(9).String():     "Policy(9)",
		guard.FailMode(9).String():   "FailMode(9)",
	} {
		if got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

func TestOpenEmptyDirNamesWithInMemory(t *testing.T) {
	_, err := guard.Open("")
	if err == nil || !strings.Contains(err.Error(), "guard.WithInMemory()") || !errors.Is(err, storage.ErrInvalid) {
		t.Fatalf("Open(\"\") = %v, want an error pointing at guard.WithInMemory", err)
	}
}

func TestBlockedErrorRedaction(t *testing.T) {
	ctx := context.Background()
	g, err := guard.Open("", guard.WithInMemory())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = g.Close() }()
	if _, err := g.Block(ctx, "bob@example.com", "bounce"); err != nil {
		t.Fatal(err)
	}
	v, _ := g.Check(ctx, "Bob <bob@example.com>")
	be := &guard.BlockedError{Suppressed: []guard.Suppressed{{Verdict: v}}}
	msg := be.Error()
	if strings.Contains(msg, ">") || strings.Contains(msg, "bob@") || !strings.Contains(msg, "b***@example.com blocked") {
		t.Fatalf("BlockedError = %q, want the redacted address without a stray '>'", msg)
	}
}
