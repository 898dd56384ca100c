package guard

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestDomainSet: the signature bits only skip map look-ups; has agrees
// with the map for every domain in it and for many that are not.
func TestDomainSet(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 5, 300, 5000} {
		set := make(map[string]struct{}, n)
		for len(set) < n {
			set[fmt.Sprintf("d%x.%c%c.test", r.Uint32(), 'a'+r.IntN(26), 'a'+r.IntN(26))] = struct{}{}
		}
		ds := newDomainSet(set)
		for d := range set {
			if !ds.has(d) {
				t.Fatalf("n=%d: %q missing", n, d)
			}
		}
		skipped := 0
		for i := range 10_000 {
			d := fmt.Sprintf("x%d.example", i)
			_, want := set[d]
			if ds.has(d) != want {
				t.Fatalf("n=%d: has(%q) = %v", n, d, !want)
			}
			if i := domainSig(d); ds.sig[i>>6]&(1<<(i&63)) == 0 {
				skipped++
			}
		}
		if n <= 5 && skipped < 9_000 {
			t.Errorf("n=%d: the signature skipped only %d of 10000 absent domains", n, skipped)
		}
		if ds.has("") {
			t.Errorf("n=%d: has(\"\")", n)
		}
	}
}
