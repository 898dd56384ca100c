package optout

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Intent is what an incoming text message asks for.
type Intent uint8

// The intents [ClassifySMS] tells apart.
const (
	// None: an ordinary message, no keyword.
	None Intent = iota
	// OptOut: stop sending to this number.
	OptOut
	// OptIn: start sending again (lifts an SMS opt-out only).
	OptIn
	// Help: the sender asks for help (who is writing, how to stop).
	Help
)

// String returns "none", "opt-out", "opt-in" or "help".
func (i Intent) String() string {
	switch i {
	case OptOut:
		return "opt-out"
	case OptIn:
		return "opt-in"
	case Help:
		return "help"
	}
	return "none"
}

// ShortSMSWords is the length, in words, up to which a message that
// contains an opt-out word anywhere is an opt-out (see [ClassifySMS]).
const ShortSMSWords = 10

// maxClassify bounds the text ClassifySMS reads: a concatenated SMS is at
// most a few thousand characters, and the keyword rules need only the start.
const maxClassify = 4096

var (
	// optOutWords are the single words that opt out. CTIA's universal
	// opt-out keywords are STOP, END, CANCEL, UNSUBSCRIBE and QUIT; the FCC
	// (47 CFR 64.1200(a)(10), the 2024 revocation-of-consent
	// order in CG Docket No. 02-278) names stop, quit, end, revoke,
	// opt out, cancel and unsubscribe as reasonable means; carriers' and
	// Twilio's defaults add STOPALL and OPTOUT; ARRET is the French STOP
	// (Canada).
	optOutWords = map[string]bool{
		"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true,
		"END": true, "QUIT": true, "REVOKE": true, "OPTOUT": true, "ARRET": true,
	}
	// optInWords opt in again (Twilio's and carriers' defaults).
	optInWords = map[string]bool{"START": true, "UNSTOP": true, "YES": true}
	// helpWords ask for help (CTIA).
	helpWords = map[string]bool{"HELP": true, "INFO": true}
)

// ClassifySMS says what an incoming text message asks for. The rule:
//
//  1. The text is folded: NFKC width and compatibility forms, accents
//     stripped ("ARRÊT" is ARRET), upper case; then split into words (runs
//     of letters and digits; everything else separates).
//  2. A message that is exactly one keyword — STOP, STOPALL, UNSUBSCRIBE,
//     CANCEL, END, QUIT, REVOKE, OPTOUT, OPT OUT, OPT-OUT, ARRET (opt-out);
//     START, UNSTOP, YES (opt-in); HELP, INFO (help) — with any surrounding
//     white space and punctuation, is that intent.
//  3. The FCC's "any reasonable means": a short message (at most
//     [ShortSMSWords] words) with an opt-out word as a whole word anywhere
//     ("Stop texting me", "please unsubscribe me", "pls STOP!!"), or any
//     message that begins with one, is an opt-out — even with other
//     keywords in it ("STOP HELP") or a negation ("don't stop"): when in
//     doubt, opting out is the safe side, and a wrong opt-out is undone by
//     a START.
//  4. A word inside another word never matches: "stopwatch", "nonstop",
//     "friend", "S T O P".
//  5. Opt-in and help are only ever the whole message: "yes" in a
//     sentence does not opt anyone back in.
//
// ClassifySMS never fails: text it cannot read is None.
func ClassifySMS(body string) Intent {
	if len(body) > maxClassify {
		body = body[:maxClassify]
	}
	words := foldWords(body)
	if len(words) == 0 {
		return None
	}
	if len(words) == 1 || (len(words) == 2 && words[0] == "OPT" && words[1] == "OUT") {
		w := strings.Join(words, "")
		switch {
		case optOutWords[w]:
			return OptOut
		case optInWords[w]:
			return OptIn
		case helpWords[w]:
			return Help
		}
		return None
	}
	if isOptOutAt(words, 0) {
		return OptOut
	}
	if len(words) <= ShortSMSWords {
		for i := range words {
			if isOptOutAt(words, i) {
				return OptOut
			}
		}
	}
	return None
}

// isOptOutAt reports whether an opt-out word (or OPT OUT) starts at words[i].
func isOptOutAt(words []string, i int) bool {
	return optOutWords[words[i]] || (words[i] == "OPT" && i+1 < len(words) && words[i+1] == "OUT")
}

// foldWords returns the upper-case, accent-free words of s (at most
// ShortSMSWords+1 of them: the rules need no more).
func foldWords(s string) []string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, " ")
	}
	// NFKD then dropping the combining marks strips accents and folds
	// width; NFKC after it recomposes what is left.
	d := norm.NFKD.String(s)
	var b strings.Builder
	b.Grow(len(d))
	for _, r := range d {
		switch {
		case unicode.Is(unicode.Mn, r):
			// an accent: dropped
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToUpper(r))
		default:
			b.WriteByte(' ')
		}
	}
	words := strings.Fields(norm.NFKC.String(b.String()))
	if len(words) > ShortSMSWords+1 {
		words = words[:ShortSMSWords+1]
	}
	return words
}
