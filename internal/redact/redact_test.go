package redact

import (
	"log/slog"
	"testing"
)

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "",
		"ann@example.com":   "a***@example.com",
		"@example.com":      "***@example.com",
		"+44 20 7946 0123":  "***0123",
		"example.com":       "example.com",
		"Ann <ann@x.com>":   "A***@x.com>",
		"josé":              "j***",
		"* * * * * * * * *": "****",
	} {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
	if got := slog.AnyValue(Text("bob@example.com")).Resolve().String(); got != "b***@example.com" {
		t.Errorf("Text logs as %q", got)
	}
}
