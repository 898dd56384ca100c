package importer

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// zoneOffsets are the zone names read in a time cell, with their offsets
// in hours: RFC 2822's obsolete names (UT, GMT, the four North American
// zones) and a few common ones. time.Parse alone would read an unknown
// name as UTC, hours off; a name not listed here makes the cell
// unreadable instead.
var zoneOffsets = map[string]float64{
	"UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0,
	"EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
	"AKST": -9, "AKDT": -8, "HST": -10,
	"BST": 1, "CET": 1, "CEST": 2, "WEST": 1, "EET": 2, "EEST": 3, "MSK": 3,
	"IST": 5.5, "SGT": 8, "HKT": 8, "JST": 9, "KST": 9,
	"AEST": 10, "AEDT": 11, "ACST": 9.5, "AWST": 8, "NZST": 12, "NZDT": 13,
}

// layouts are the forms ParseTime tries after the numeric ones. A zone
// name has already been replaced by its numeric offset.
var layouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999 Z07:00",
	"2006-01-02 15:04:05.999999999 Z0700",
	"2006-01-02 15:04:05.999999999-07", // PostgreSQL's timestamptz text (listmonk)
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02 15:04",
	"2006-01-02",
	"2006/01/02 15:04:05",
	"2006/01/02",
	// RFC 2822 / RFC 1123 / RFC 850 / ANSI C, with numeric zones.
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04 -0700",
	"2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04 -0700",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"2 Jan 06 15:04:05 -0700",
	"Monday, 02-Jan-06 15:04:05 -0700",
	"Mon Jan _2 15:04:05 -0700 2006",
	"Mon Jan _2 15:04:05 2006",
	"Mon, 2 Jan 2006 15:04:05",
	"2 Jan 2006",
	"Jan 2, 2006 15:04:05",
	"Jan 2, 2006",
}

// ParseTime reads a time cell as peers write them: RFC 3339 (with or
// without fractions, "T" or a space), RFC 2822 and RFC 1123 ("Fri, 26 Apr
// 2024 10:06:40 UTC", with a numeric zone or a zone name such as GMT, EST
// or PDT), a date ("2024-04-26", midnight UTC), Unix seconds
// ("1714125600", "1714125600.5") or milliseconds ("1714125600000"). A
// time without a zone is UTC. The empty string is the zero time and no
// error. The result is in UTC.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, ok := parseEpoch(s); ok {
		return t, nil
	}
	if t, ok := parseEpochFraction(s); ok {
		return t, nil
	}
	v := zoneToOffset(s)
	for _, layout := range layouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s is not a time (want RFC 3339, RFC 2822, a date or Unix seconds)", quoteCell(s))
}

// Epoch bounds: a number below minEpoch is not read as a time (it is more
// likely an id or a code); seconds up to maxSeconds (year 5138), then
// milliseconds up to maxSeconds*1000.
const (
	minEpoch   = 100_000_000     // 1973-03-03
	maxSeconds = 100_000_000_000 // 5138-11-16
)

func parseEpoch(s string) (time.Time, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < minEpoch {
		return time.Time{}, false
	}
	switch {
	case n < maxSeconds:
		return time.Unix(n, 0).UTC(), true
	case n < maxSeconds*1000:
		return time.UnixMilli(n).UTC(), true
	}
	return time.Time{}, false
}

// parseEpochFraction reads Unix seconds with a fraction, as the AWS CLI v1
// prints times ("1714125600.123").
func parseEpochFraction(s string) (time.Time, bool) {
	whole, frac, ok := strings.Cut(s, ".")
	if !ok || frac == "" || len(frac) > 9 || strings.Trim(frac, "0123456789") != "" {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || sec < minEpoch || sec >= maxSeconds {
		return time.Time{}, false
	}
	ns, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	return time.Unix(sec, ns).UTC(), true
}

// zoneToOffset replaces a zone name ("UTC", "GMT", "EST") among the
// space-separated words of s by its numeric offset, and drops an RFC 2822
// comment after the zone ("+0000 (UTC)"), so that one set of layouts reads
// every form.
func zoneToOffset(s string) string {
	if i := strings.LastIndexByte(s, '('); i > 0 && strings.HasSuffix(s, ")") {
		s = strings.TrimSpace(s[:i])
	}
	if !strings.Contains(s, " ") {
		return s
	}
	words := strings.Split(s, " ")
	for i, w := range words {
		off, ok := zoneOffsets[strings.ToUpper(w)]
		if !ok || i == 0 {
			continue
		}
		mins := int(off * 60)
		sign := '+'
		if mins < 0 {
			sign, mins = '-', -mins
		}
		words[i] = fmt.Sprintf("%c%02d%02d", sign, mins/60, mins%60)
	}
	return strings.Join(words, " ")
}

// quoteCell quotes a cell for a message, cut to a readable length.
func quoteCell(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strconv.Quote(s)
}
