// Package redact hides the personal part of recipients in log lines. It
// has no dependencies beyond the standard library, so that the vendor
// clients can redact without importing normalize (and its phone tables);
// normalize.Redact and normalize.Redacted are the public face of it.
package redact

import (
	"log/slog"
	"strings"
)

// String returns s with most of its personal part hidden: an email keeps
// the first character of its local part and its domain
// ("a***@example.com"); anything that looks like a phone number keeps its
// last four digits ("***0123"); anything else keeps its first character.
// Text with no '@' and a dot but no digits (a domain) is returned as is.
func String(s string) string {
	if s == "" {
		return ""
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		first := ""
		if i > 0 {
			first = firstRune(s[:i])
		}
		return first + "***@" + s[i+1:]
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits++
		}
	}
	if digits >= 5 {
		var last []byte
		for i := len(s) - 1; i >= 0 && len(last) < 4; i-- {
			if s[i] >= '0' && s[i] <= '9' {
				last = append([]byte{s[i]}, last...)
			}
		}
		return "***" + string(last)
	}
	if digits == 0 && strings.IndexByte(s, '.') > 0 && !strings.ContainsAny(s, " \t<>") {
		return s
	}
	return firstRune(s) + "***"
}

func firstRune(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}

// Text is a recipient string that logs redacted through slog (see
// [String]).
type Text string

// LogValue implements [slog.LogValuer].
func (t Text) LogValue() slog.Value { return slog.StringValue(String(string(t))) }
