package normalize

import (
	"regexp"
	"regexp/syntax"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// phoneTable is what the E.164 fast path knows about each country calling
// code, derived from libphonenumber's metadata. It is read-only once built.
//
// For input "+" followed by digits, libphonenumber (1) takes the shortest
// known calling code, (2) tries to strip a national prefix or carrier code
// from the rest with the country's national_prefix_for_parsing pattern
// (this is what turns "+44 0 20…" into "+44 20…", and what rewrites some
// Argentine, Brazilian, Japanese, Malagasy, Norfolk and Sammarinese forms),
// and (3) formats country code and national significant number back to
// E.164, keeping leading zeros (Italy's "+39 06…"). The fast path accepts the
// input unchanged only when step (2) provably does nothing (the first digit
// of the national number cannot start a non-empty match of the pattern, and
// an empty match rewrites nothing) and the national number's length is one
// libphonenumber calls possible (not merely possible locally). Then (3)
// gives back exactly the input. Everything else takes the full path.
type phoneTable struct {
	cc [1000]ccInfo // indexed by calling code; zero value: unknown code
}

type ccInfo struct {
	known     bool   // a calling code libphonenumber knows
	lens      uint32 // bit L: a national number of L digits is possible
	safeFirst uint16 // bit d: a national number starting with d is never rewritten
}

const maxE164Digits = 15

// sharedPhoneTable returns the table, building it on first use. It is
// derived only from libphonenumber's embedded metadata, which never
// changes, so every Normalizer shares one read-only copy.
var sharedPhoneTable = sync.OnceValue(buildPhoneTable)

func buildPhoneTable() *phoneTable {
	t := &phoneTable{}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return t // no fast path at all; the full path stays correct
	}
	byRegion := map[string]*phonenumbers.PhoneMetadata{}
	nonGeo := map[int32]*phonenumbers.PhoneMetadata{}
	for _, m := range coll.GetMetadata() {
		if m.GetId() == "001" {
			nonGeo[m.GetCountryCode()] = m
		} else {
			byRegion[m.GetId()] = m
		}
	}
	for cc := range phonenumbers.GetSupportedCallingCodes() {
		if cc <= 0 || cc >= len(t.cc) {
			continue
		}
		t.cc[cc].known = true
		// The same metadata libphonenumber picks for a "+cc…" number.
		region := phonenumbers.GetRegionCodeForCountryCode(cc)
		m := byRegion[region]
		if region == "001" {
			m = nonGeo[int32(cc)]
		}
		if m == nil {
			continue
		}
		t.cc[cc].lens = possibleLengths(cc)
		t.cc[cc].safeFirst = safeFirstDigits(m)
	}
	return t
}

// possibleLengths asks libphonenumber which national number lengths it
// calls IS_POSSIBLE for calling code cc (the check depends on length only).
func possibleLengths(cc int) uint32 {
	var bits uint32
	code := int32(cc)
	nsn := uint64(1)
	for l := 1; l <= 17; l++ {
		n := nsn
		num := &phonenumbers.PhoneNumber{CountryCode: &code, NationalNumber: &n}
		if phonenumbers.IsPossibleNumberWithReason(num) == phonenumbers.IS_POSSIBLE {
			bits |= 1 << l
		}
		nsn *= 10
	}
	return bits
}

// safeFirstDigits returns the digits d such that libphonenumber's national
// prefix stripping leaves every national number starting with d unchanged.
func safeFirstDigits(m *phonenumbers.PhoneMetadata) uint16 {
	const all = 1<<10 - 1
	p := m.GetNationalPrefixForParsing()
	if p == "" {
		return all // libphonenumber does not try to strip anything
	}
	pattern := "^(?:" + p + ")" // as libphonenumber anchors it
	re, err := regexp.Compile(pattern)
	if err != nil {
		return 0
	}
	first, ok := firstDigits(pattern)
	if !ok {
		return 0
	}
	transform := m.GetNationalPrefixTransformRule()
	var safe uint16
	for d := byte('0'); d <= '9'; d++ {
		if first&(1<<(d-'0')) != 0 {
			continue // a non-empty match may start here
		}
		// Only an empty match is possible; it depends on d alone (no
		// text is consumed). It rewrites nothing unless a transform rule
		// exists and the last group took part in the match.
		loc := re.FindStringSubmatchIndex(string(d))
		if loc == nil || (loc[1] == 0 && (transform == "" || loc[len(loc)-2] < 0)) {
			safe |= 1 << (d - '0')
		}
	}
	return safe
}

// firstDigits returns the set of ASCII digits that a non-empty match of
// pattern can begin with (a superset: empty-width assertions are assumed to
// hold). ok is false if the pattern cannot be analysed.
func firstDigits(pattern string) (set uint16, ok bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return 0, false
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return 0, false
	}
	seen := make([]bool, len(prog.Inst))
	stack := []uint32{uint32(prog.Start)}
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[pc] {
			continue
		}
		seen[pc] = true
		in := &prog.Inst[pc]
		switch in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			stack = append(stack, in.Out, in.Arg)
		case syntax.InstCapture, syntax.InstNop, syntax.InstEmptyWidth:
			stack = append(stack, in.Out)
		case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			for d := '0'; d <= '9'; d++ {
				if in.MatchRune(d) {
					set |= 1 << (d - '0')
				}
			}
		case syntax.InstMatch, syntax.InstFail:
		default:
			return 0, false
		}
	}
	return set, true
}

// canonical reports whether s is strict E.164 that the full path returns
// unchanged: '+', a calling code, and a national number whose length is
// possible and whose first digit is safe (see phoneTable), 15 digits at
// most. It does not allocate.
func (t *phoneTable) canonical(s string) bool {
	if len(s) < 3 || len(s) > 1+maxE164Digits || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i]-'0' > 9 {
			return false
		}
	}
	code := 0
	for k := 1; k <= 3 && k < len(s)-1; k++ {
		code = code*10 + int(s[k]-'0')
		info := &t.cc[code]
		if !info.known {
			continue // not a calling code; try one more digit
		}
		nsn := s[k+1:]
		return info.lens&(1<<len(nsn)) != 0 && info.safeFirst&(1<<(nsn[0]-'0')) != 0
	}
	return false
}
