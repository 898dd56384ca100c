package normalize_test

import (
	"sync"
	"testing"

	"github.com/sendguard/sendguard/normalize"
)

// TestNormalizer_concurrentUse shares one Normalizer, with a memo small
// enough to evict all the time, between goroutines that parse a mix of
// inputs, and checks every answer against one computed alone. Run with
// -race.
func TestNormalizer_concurrentUse(t *testing.T) {
	var inputs []string
	for _, c := range phoneClasses {
		if c.region == "GB" {
			inputs = append(inputs, c.forms...)
		}
	}
	for _, c := range emailClasses[:10] {
		inputs = append(inputs, c.forms...)
	}
	inputs = append(inputs, "example.com", "*.bücher.de", "ann@localhost", "555", "not a contact", "+999 123 456")

	type answer struct {
		d   normalize.Detail
		err string
	}
	ask := func(n *normalize.Normalizer, raw string) answer {
		d, err := n.ParseDetail(raw)
		if err != nil {
			return answer{err: err.Error()}
		}
		return answer{d: d}
	}
	alone := newNormalizer(t, normalize.WithRegion("GB"), normalize.WithMemoSize(0))
	want := make([]answer, len(inputs))
	for i, raw := range inputs {
		want[i] = ask(alone, raw)
	}

	shared := newNormalizer(t, normalize.WithRegion("GB"), normalize.WithMemoSize(4))
	const workers = 8
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for round := range 5 {
				for j := range inputs {
					i := (j + w*7 + round) % len(inputs)
					if got := ask(shared, inputs[i]); got != want[i] {
						t.Errorf("worker %d: ParseDetail(%q) = %+v, alone %+v", w, inputs[i], got, want[i])
						return
					}
					c, err := shared.Parse(inputs[i])
					if (err == nil) != (want[i].err == "") || c != want[i].d.Contact {
						t.Errorf("worker %d: Parse(%q) = %v, %v", w, inputs[i], c, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if n := shared.MemoLen(); n > 4 {
		t.Errorf("memo of size 4 holds %d entries", n)
	}
}
