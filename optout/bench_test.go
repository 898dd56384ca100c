package optout_test

import (
	"bytes"
	"testing"

	"github.com/sendguard/sendguard/optout"
)

func BenchmarkClassifySMS(b *testing.B) {
	for _, body := range []string{"STOP", "Thanks, see you at 7pm tomorrow then!", "please stop texting me"} {
		b.Run(body, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				optout.ClassifySMS(body)
			}
		})
	}
}

func BenchmarkUnsubscriber_Headers(b *testing.B) {
	g := memGuard(b)
	u, err := optout.NewUnsubscriber(g, optout.UnsubscribeConfig{Secret: testSecret, URL: "https://mail.example.com/unsubscribe"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := u.Headers("ann@example.com"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseFeedback(b *testing.B) {
	for _, name := range []string{"postfix-hard.eml", "gmail-hard.eml", "arf-rfc5965.eml"} {
		raw := readFixture(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := optout.ParseFeedback(bytes.NewReader(raw)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
