package filter_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/sendguard/sendguard/filter"
)

func Example() {
	f := filter.New(1000, 0.001)
	f.Add([]byte("e:ann@example.com"))

	fmt.Println(f.MayContain([]byte("e:ann@example.com"))) // true: confirm in the store
	fmt.Println(f.MayContain([]byte("e:bob@example.com"))) // false: certainly never added
	// Output:
	// true
	// false
}

func ExampleFilter_Rebuild() {
	f := filter.New(2, 0.001)
	blocked := []string{"e:ann@example.com", "p:+442071838750", "d:example.org"}
	for _, k := range blocked {
		f.Add([]byte(k))
	}
	if f.NeedsRebuild() { // 3 keys in a filter sized for 2
		err := f.Rebuild(context.Background(), 100, func(ctx context.Context, add func([]byte)) error {
			for _, k := range blocked { // in sendguard: a key-only scan of the store
				add([]byte(k))
			}
			return nil
		})
		if err != nil {
			fmt.Println(err)
			return
		}
	}
	st := f.Stats()
	fmt.Println(st.Capacity, st.Count, st.Rebuilds, f.MayContain([]byte("p:+442071838750")))
	// Output: 100 3 1 true
}

func ExampleReadSnapshot() {
	f := filter.New(1000, 0.001)
	f.Add([]byte("e:ann@example.com"))
	var buf bytes.Buffer
	if _, err := f.WriteSnapshot(&buf, []byte("log-seq=42")); err != nil {
		fmt.Println(err)
		return
	}

	g, stamp, err := filter.ReadSnapshot(&buf)
	if err != nil { // errors.Is(err, filter.ErrSnapshot): rebuild from the store instead
		fmt.Println(err)
		return
	}
	fmt.Println(string(stamp), g.MayContain([]byte("e:ann@example.com")))
	// Output: log-seq=42 true
}
