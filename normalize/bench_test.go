package normalize_test

import (
	"testing"

	"github.com/sendguard/sendguard/normalize"
)

var sink normalize.Contact

// benchRead measures read on raws, taken in turn.
func benchRead(b *testing.B, read func(string) (normalize.Contact, error), raws ...string) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c, err := read(raws[i%len(raws)])
		if err != nil {
			b.Fatal(err)
		}
		sink = c
		i++
	}
}

func benchEmail(b *testing.B, n *normalize.Normalizer, raw string) { benchRead(b, n.Email, raw) }

func BenchmarkNormalizer_Email(b *testing.B) {
	n := newNormalizer(b)
	b.Run("canonical", func(b *testing.B) { benchEmail(b, n, "ann.lee@example.com") })
	b.Run("mixed-case", func(b *testing.B) { benchEmail(b, n, "Ann.Lee@Example.com") })
	b.Run("display-name", func(b *testing.B) { benchEmail(b, n, `"Lee, Ann" <Ann.Lee@example.com>`) })
	b.Run("idn", func(b *testing.B) { benchEmail(b, n, "jürgen@bücher.de") })
	folding := newNormalizer(b, normalize.WithProviderFolding(true))
	b.Run("canonical-folding", func(b *testing.B) { benchEmail(b, folding, "annlee@gmail.com") })
}

func benchPhone(b *testing.B, n *normalize.Normalizer, raws ...string) {
	benchRead(b, n.Phone, raws...)
}

func BenchmarkNormalizer_Phone(b *testing.B) {
	n := newNormalizer(b, normalize.WithRegion("GB"))
	b.Run("e164", func(b *testing.B) { benchPhone(b, n, "+442071838750") })
	b.Run("national-memo-hit", func(b *testing.B) { benchPhone(b, n, "020 7183 8750") })
	// A memo of one entry and two inputs taken in turn: every call misses.
	miss := newNormalizer(b, normalize.WithRegion("GB"), normalize.WithMemoSize(1))
	b.Run("national-memo-miss", func(b *testing.B) { benchPhone(b, miss, "020 7183 8750", "07400 123456") })
	b.Run("e164-trunk-memo-hit", func(b *testing.B) { benchPhone(b, n, "+4402071838750") })
}

// BenchmarkNormalizer_Parse is what a guard pays per recipient: kind
// detection plus the fast paths.
func BenchmarkNormalizer_Parse(b *testing.B) {
	n := newNormalizer(b)
	for _, raw := range []string{"ann.lee@example.com", "+442071838750", "example.com"} {
		b.Run(raw, func(b *testing.B) { benchRead(b, n.Parse, raw) })
	}
}

// TestNormalizer_fastPathsDoNotAllocate holds the hot path to its promise
// in every test run, not only when someone reads benchmark output.
func TestNormalizer_fastPathsDoNotAllocate(t *testing.T) {
	n := newNormalizer(t, normalize.WithRegion("GB"), normalize.WithProviderFolding(true))
	n.Phone("020 7183 8750") // fill the memo
	for _, tt := range []struct {
		name string
		f    func() (normalize.Contact, error)
	}{
		{"Email canonical", func() (normalize.Contact, error) { return n.Email("ann.lee@example.com") }},
		{"Email canonical gmail folded", func() (normalize.Contact, error) { return n.Email("annlee@gmail.com") }},
		{"Phone E.164", func() (normalize.Contact, error) { return n.Phone("+442071838750") }},
		{"Phone memo hit", func() (normalize.Contact, error) { return n.Phone("020 7183 8750") }},
		{"Parse email", func() (normalize.Contact, error) { return n.Parse(" ann.lee@example.com ") }},
		{"Parse phone", func() (normalize.Contact, error) { return n.Parse("+442071838750") }},
		{"Domain canonical", func() (normalize.Contact, error) { return n.Domain("example.com") }},
	} {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := tt.f(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per call, want 0", tt.name, allocs)
		}
	}
}
