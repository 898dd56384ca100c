package optout_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sendguard/sendguard/optout"
)

func TestClassifySMS(t *testing.T) {
	tests := []struct {
		in   string
		want optout.Intent
	}{
		// Single keywords, any case, width, accents, punctuation, space.
		{"STOP", optout.OptOut}, {"stop", optout.OptOut}, {"  Stop  ", optout.OptOut},
		{"STOP!", optout.OptOut}, {"stop.", optout.OptOut}, {"\"Stop\"", optout.OptOut},
		{"ＳＴＯＰ", optout.OptOut}, // full width
		{"StopAll", optout.OptOut}, {"UNSUBSCRIBE", optout.OptOut}, {"cancel\n", optout.OptOut},
		{"End", optout.OptOut}, {"QUIT ", optout.OptOut}, {"revoke", optout.OptOut},
		{"\tOptOut", optout.OptOut}, {"opt out", optout.OptOut}, {"OPT-OUT", optout.OptOut},
		{"Arrêt", optout.OptOut}, {"ARRET", optout.OptOut}, {"arrêt!", optout.OptOut},
		{"START", optout.OptIn}, {"unstop", optout.OptIn}, {"Yes", optout.OptIn}, {"yes!", optout.OptIn},
		{"HELP", optout.Help}, {"info?", optout.Help}, {"Ｈｅｌｐ", optout.Help},
		// Reasonable means: an opt-out word as a whole word in a short message.
		{"Stop texting me", optout.OptOut},
		{"please unsubscribe me", optout.OptOut},
		{"pls STOP!!", optout.OptOut},
		{"I want to opt out", optout.OptOut},
		{"STOP HELP", optout.OptOut},
		{"don't stop", optout.OptOut}, // the safe side
		{"Cancel my subscription please", optout.OptOut},
		{"STOP " + strings.Repeat("word ", 40), optout.OptOut}, // long, but begins with it
		// Never inside another word.
		{"stopwatch", optout.None}, {"nonstop", optout.None}, {"my friend", optout.None},
		{"the weekend is near", optout.None}, {"S T O P", optout.None},
		{"unsubscribed", optout.None},
		// A long message that only mentions an opt-out word is not one.
		{strings.Repeat("word ", 12) + "stop", optout.None},
		// Opt-in and help only as the whole message.
		{"yes please stop", optout.OptOut},
		{"yes I will be there", optout.None},
		{"help me with my order", optout.None},
		{"start time?", optout.None},
		{"", optout.None}, {"   ", optout.None}, {"!!!", optout.None},
		{"Thanks, see you then", optout.None},
		{"\xff\xfestop", optout.OptOut}, // invalid UTF-8 separates
	}
	for _, tt := range tests {
		if got := optout.ClassifySMS(tt.in); got != tt.want {
			t.Errorf("ClassifySMS(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestIntent_String(t *testing.T) {
	for i, want := range []string{"none", "opt-out", "opt-in", "help"} {
		if got := optout.Intent(i).String(); got != want {
			t.Errorf("Intent(%d) = %q, want %q", i, got, want)
		}
	}
}

func FuzzClassifySMS(f *testing.F) {
	for _, s := range []string{"STOP", "stop texting me", "Arrêt", "ＳＴＯＰ", "stopwatch", "opt out", "yes", "HELP", "", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := optout.ClassifySMS(s)
		if got > optout.Help {
			t.Fatalf("intent %d out of range", got)
		}
		// Folding is idempotent: upper-casing valid input changes nothing.
		if utf8.ValidString(s) && !strings.ContainsRune(s, 'ı') && !strings.ContainsRune(s, 'ſ') {
			if up := optout.ClassifySMS(strings.ToUpper(s)); up != got {
				t.Fatalf("ClassifySMS(%q) = %v but of its upper case %v", s, got, up)
			}
		}
		// Surrounding punctuation and space never matter.
		if p := optout.ClassifySMS(" ." + s + "! "); p != got {
			t.Fatalf("ClassifySMS(%q) = %v but with punctuation around %v", s, got, p)
		}
	})
}
