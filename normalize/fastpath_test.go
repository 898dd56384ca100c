package normalize_test

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"github.com/sendguard/sendguard/normalize"
)

// phoneBase is a real number from libphonenumber's metadata: a calling
// code, a national significant number, and the region it belongs to.
type phoneBase struct {
	region string
	cc     string
	nsn    string
	ndd    string // the region's national (trunk) prefix, "" if none
}

// exampleBases returns libphonenumber's example numbers of every type for
// every supported region, and for the non-geographic calling codes.
func exampleBases(t *testing.T) []phoneBase {
	t.Helper()
	types := []phonenumbers.PhoneNumberType{
		phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.VOIP,
		phonenumbers.PERSONAL_NUMBER, phonenumbers.PAGER, phonenumbers.UAN,
		phonenumbers.VOICEMAIL,
	}
	var regions []string
	for r := range phonenumbers.GetSupportedRegions() {
		regions = append(regions, r)
	}
	slices.Sort(regions) // deterministic order for a seeded generator
	var bases []phoneBase
	add := func(region string, num *phonenumbers.PhoneNumber) {
		if num == nil {
			return
		}
		bases = append(bases, phoneBase{
			region: region,
			cc:     strconv.Itoa(int(num.GetCountryCode())),
			nsn:    phonenumbers.GetNationalSignificantNumber(num),
			ndd:    phonenumbers.GetNddPrefixForRegion(region, true),
		})
	}
	for _, r := range regions {
		for _, typ := range types {
			add(r, phonenumbers.GetExampleNumberForType(r, typ))
		}
	}
	var codes []int
	for cc := range phonenumbers.GetSupportedGlobalNetworkCallingCodes() {
		codes = append(codes, cc)
	}
	slices.Sort(codes)
	for _, cc := range codes {
		add("001", phonenumbers.GetExampleNumberForNonGeoEntity(cc))
	}
	return bases
}

// variant writes one test input from b: mostly strict-E.164-shaped
// strings (the only ones the fast path may take), with the mutations that
// trip libphonenumber's rewriting: trunk prefixes after the calling code,
// carrier codes, mobile tokens, wrong lengths, random digits.
func variant(rng *rand.Rand, b phoneBase) string {
	digits := func(n int) string {
		var sb strings.Builder
		for range n {
			sb.WriteByte(byte('0' + rng.IntN(10)))
		}
		return sb.String()
	}
	nsn := []byte(b.nsn)
	switch rng.IntN(12) {
	case 0, 1: // the number itself
	case 2, 3: // same shape, other digits: mutate up to three places
		for range 1 + rng.IntN(3) {
			nsn[rng.IntN(len(nsn))] = byte('0' + rng.IntN(10))
		}
	case 4: // another first digit
		nsn[0] = byte('0' + rng.IntN(10))
	case 5: // the trunk prefix written after the calling code: +44 0 20…
		ndd := b.ndd
		if ndd == "" {
			ndd = "0"
		}
		nsn = append([]byte(ndd), nsn...)
	case 6: // carrier codes, mobile tokens, doubled prefixes
		prefixes := []string{"0", "00", "1", "8", "9", "15", "90", "01", "021", "0xx", "1001", "180020", "19", "06"}
		nsn = append([]byte(prefixes[rng.IntN(len(prefixes))]), nsn...)
	case 7: // Argentina-style "15" after the area code
		i := 2 + rng.IntN(3)
		if i < len(nsn) {
			nsn = slices.Concat(nsn[:i], []byte("15"), nsn[i:])
		}
	case 8: // one digit too many or too few
		if rng.IntN(2) == 0 && len(nsn) > 1 {
			i := rng.IntN(len(nsn))
			nsn = slices.Delete(nsn, i, i+1)
		} else {
			nsn = append(nsn, byte('0'+rng.IntN(10)))
		}
	case 9: // random digits of a random length
		nsn = []byte(digits(1 + rng.IntN(15)))
	case 10: // a random calling-code-like start
		return "+" + digits(1+rng.IntN(3)) + string(nsn)
	case 11: // human formatting of the trunk form: full path only
		return "+" + b.cc + " (0)" + string(nsn[:1]) + " " + string(nsn[1:])
	}
	return "+" + b.cc + string(nsn)
}

// TestNormalizer_Phone_fastPathMatchesFullPath is the proof the fast path
// owes: on more than 100,000 generated numbers from every region
// libphonenumber knows, each read by both paths, whenever the E.164 fast
// path accepts an input the full libphonenumber path returns exactly that
// input as the key. The inputs are generated first (deterministically),
// then checked on all cores.
func TestNormalizer_Phone_fastPathMatchesFullPath(t *testing.T) {
	const total = 110_000
	bases := exampleBases(t)
	var ns []*normalize.Normalizer
	for _, r := range []string{"US", "GB", "DE", "IT", "AR", "BR", "JP", "MG"} {
		ns = append(ns, newNormalizer(t, normalize.WithRegion(r), normalize.WithMemoSize(0)))
	}
	type result struct {
		base     phoneBase
		raw      string
		fast     bool
		value    string // full path
		reason   string // full path
		phoneErr error  // Phone, for fast inputs
		phone    string
	}
	rng := rand.New(rand.NewPCG(2024, 5))
	results := make([]result, total)
	for i := range results {
		b := bases[rng.IntN(len(bases))]
		results[i] = result{base: b, raw: variant(rng, b)}
	}
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < total; i += workers {
				r := &results[i]
				n := ns[i%len(ns)]
				r.fast = n.FastPhone(r.raw)
				r.value, r.reason = n.SlowPhone(r.raw)
				if r.fast {
					c, err := n.Phone(r.raw)
					r.phone, r.phoneErr = c.Value, err
				}
			}
		})
	}
	wg.Wait()

	var (
		fast, unchanged, rewritten, rejected int
		fastRegions                          = map[string]bool{}
		rewrittenRegions                     = map[string]bool{}
	)
	for i, r := range results {
		switch {
		case r.reason != "":
			rejected++
		case r.value == r.raw:
			unchanged++
		default:
			rewritten++
			rewrittenRegions[r.base.region] = true
		}
		if !r.fast {
			continue
		}
		fast++
		fastRegions[r.base.region] = true
		if r.reason != "" || r.value != r.raw {
			t.Fatalf("region %s, default %s: fast path keeps %q, full path gives %q (%s)",
				r.base.region, ns[i%len(ns)].Region(), r.raw, r.value, r.reason)
		}
		if r.phoneErr != nil || r.phone != r.raw {
			t.Fatalf("Phone(%q) = %q, %v", r.raw, r.phone, r.phoneErr)
		}
	}
	t.Logf("%d inputs from %d example numbers: %d fast (%d regions); full path: %d unchanged, %d rewritten (%d regions), %d rejected",
		total, len(bases), fast, len(fastRegions), unchanged, rewritten, len(rewrittenRegions), rejected)
	// The test must have exercised both sides broadly.
	if len(fastRegions) < 30 {
		t.Errorf("fast path taken for numbers of only %d regions", len(fastRegions))
	}
	if rewritten < 1000 || len(rewrittenRegions) < 30 {
		t.Errorf("only %d rewritten inputs (%d regions): trunk-prefix cases are not exercised", rewritten, len(rewrittenRegions))
	}
	// And the fast path must be worth having: it takes most of the inputs
	// that the full path returns unchanged.
	if fast*10 < unchanged*8 {
		t.Errorf("fast path took %d of %d canonical inputs", fast, unchanged)
	}
}

// TestNormalizer_Phone_trunkPrefixCases lists the cases the fast path must
// leave to the full path, and the ones it may take.
func TestNormalizer_Phone_trunkPrefixCases(t *testing.T) {
	n := newNormalizer(t)
	tests := []struct {
		raw, want string
		fast      bool
	}{
		{"+4402071838750", "+442071838750", false}, // +44 (0)20…
		{"+442071838750", "+442071838750", true},
		{"+390669821234", "+390669821234", true},     // Italy keeps its 0
		{"+3306 12345678", "", false},                // not strict E.164
		{"+33612345678", "+33612345678", true},       // France
		{"+330612345678", "+33612345678", false},     // France with trunk 0
		{"+491512345678", "+491512345678", true},     // Germany
		{"+4901512345678", "+491512345678", false},   // Germany with trunk 0
		{"+5491123456789", "+5491123456789", true},   // Argentina mobile
		{"+54111523456789", "+5491123456789", false}, // Argentina 11 15…
		{"+12015550123", "+12015550123", true},
		{"+112015550123", "+12015550123", false}, // NANP trunk 1
		{"+74951234567", "+74951234567", true},   // Russia, Moscow
		{"+784951234567", "+74951234567", false}, // Russia with trunk 8
		{"+78123456789", "+78123456789", false},  // St Petersburg: 812 starts like the trunk 8
		{"+378812345", "+3780549812345", false},  // San Marino 6-digit form
		{"+2612345678", "+261202345678", false},  // Madagascar 7-digit form
		{"+80012345678", "+80012345678", true},   // international freephone
	}
	for _, tt := range tests {
		if got := n.FastPhone(tt.raw); got != tt.fast {
			t.Errorf("FastPhone(%q) = %v, want %v", tt.raw, got, tt.fast)
		}
		if tt.want == "" {
			continue
		}
		c, err := n.Phone(tt.raw)
		if err != nil || c.Value != tt.want {
			t.Errorf("Phone(%q) = %q, %v; want %q", tt.raw, c.Value, err, tt.want)
		}
	}
}

// dialFrom are the regions example numbers are dialled from abroad in
// TestNormalizer_Phone_exampleNumbers: international prefixes 00, 011,
// 0011, 010, 000 and 8~10 (the wait for a second dial tone). Regions whose
// prefix libphonenumber gives only as a pattern (BR, KR, SG, IL) cannot be
// formatted, so they are not here.
var dialFrom = []string{"GB", "US", "AU", "JP", "DE", "BY", "KE", "IN", "RU"}

// TestNormalizer_Phone_exampleNumbers reads every example number
// libphonenumber has (every region, every type, and the non-geographic
// codes) in E.164, international, RFC 3966 ("tel:") and national format,
// and as dialled from another country with that country's international
// prefix and normalizer. Each form that libphonenumber itself reads back
// as the example must give the example's E.164 key, and be rejected
// exactly when libphonenumber calls the number not possible (or possible
// only locally, as NANP's 7-digit service numbers).

func TestNormalizer_Phone_exampleNumbers(t *testing.T) {
	byRegion := map[string]*normalize.Normalizer{}
	checked, skipped, rejected := 0, 0, 0
	for i, b := range exampleBases(t) {
		e164 := "+" + b.cc + b.nsn
		num, err := phonenumbers.Parse(e164, "")
		if err != nil {
			t.Fatalf("libphonenumber cannot read its own example %s: %v", e164, err)
		}
		possible := phonenumbers.IsPossibleNumberWithReason(num) == phonenumbers.IS_POSSIBLE
		region := b.region
		if region == "001" {
			region = "US"
		}
		type form struct{ raw, region string }
		forms := []form{
			{e164, region},
			{phonenumbers.Format(num, phonenumbers.INTERNATIONAL), region},
			{phonenumbers.Format(num, phonenumbers.RFC3966), region},
		}
		if b.region != "001" {
			forms = append(forms, form{phonenumbers.Format(num, phonenumbers.NATIONAL), region})
		}
		// As dialled from another country, with that country's
		// international prefix ("011 44 20…" from the US, "0011 44 20…"
		// from Australia), read by a normalizer of that country.
		from := dialFrom[i%len(dialFrom)]
		if from == region {
			from = dialFrom[(i+1)%len(dialFrom)]
		}
		forms = append(forms, form{phonenumbers.FormatOutOfCountryCallingNumber(num, from), from})
		for _, f := range forms {
			raw, region := f.raw, f.region
			n := byRegion[region]
			if n == nil {
				n = newNormalizer(t, normalize.WithRegion(region))
				byRegion[region] = n
			}
			// libphonenumber's national format does not always read back
			// (Argentine mobiles: "09 15-2345-6789"); such forms prove nothing.
			if back, err := phonenumbers.Parse(raw, region); err != nil || phonenumbers.Format(back, phonenumbers.E164) != e164 {
				skipped++
				continue
			}
			checked++
			c, err := n.Phone(raw)
			switch {
			case !possible:
				rejected++
				if err == nil {
					t.Errorf("region %s: Phone(%q) = %q; libphonenumber calls it not possible", region, raw, c.Value)
				}
			case err != nil || c.Value != e164:
				t.Errorf("region %s: Phone(%q) = %q, %v; want %s", region, raw, c.Value, err, e164)
			}
		}
	}
	t.Logf("%d example forms checked (%d rejected as not possible), %d that libphonenumber does not read back skipped", checked, rejected, skipped)
	if checked < 3000 || skipped > checked/100 {
		t.Errorf("%d example forms checked, %d skipped", checked, skipped)
	}
}
