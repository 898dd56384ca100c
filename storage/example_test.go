package storage_test

import (
	"context"
	"fmt"
	"log"

	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

func Example() {
	s, err := storage.Open("", storage.Options{InMemory: true}) // a directory in real use
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()

	ann := normalize.Contact{Kind: normalize.Email, Value: "ann@example.com"}
	added, seq, err := s.Put(ctx, storage.Entry{Contact: ann, Original: "Ann <Ann@Example.com>", Reason: "complaint", Source: "local"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("added:", added, "seq:", seq)

	e, ok, err := s.GetKey(ctx, ann.Key())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("blocked:", ok, "reason:", e.Reason)

	if _, err := s.Delete(ctx, ann, "operator"); err != nil {
		log.Fatal(err)
	}
	_, ok, _ = s.Get(ctx, ann)
	fmt.Println("blocked after Delete:", ok)
	// Output:
	// added: true seq: 1
	// blocked: true reason: complaint
	// blocked after Delete: false
}

// A consumer of the change log (a remote, say) reads past its offset,
// handles the records meant for it, and moves its offset on.
func ExampleStore_ReadLog() {
	s, err := storage.Open("", storage.Options{InMemory: true})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for _, v := range []string{"a@example.com", "b@example.com"} {
		c := normalize.Contact{Kind: normalize.Email, Value: v}
		if _, _, err := s.Put(ctx, storage.Entry{Contact: c, Reason: "bounce", Source: "local"}); err != nil {
			log.Fatal(err)
		}
	}

	const me = "opencx"
	off, err := s.Offset(ctx, me)
	if err != nil {
		log.Fatal(err)
	}
	recs, err := s.ReadLog(ctx, off, 100)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range recs {
		if !r.For(me) {
			continue // re-queued for another consumer
		}
		fmt.Println(r.Seq, r.Op, r.Contact.Value)
	}
	if len(recs) > 0 {
		if err := s.SetOffset(ctx, me, recs[len(recs)-1].Seq); err != nil {
			log.Fatal(err)
		}
	}
	off, _ = s.Offset(ctx, me)
	fmt.Println("offset:", off)
	// Output:
	// 1 block a@example.com
	// 2 block b@example.com
	// offset: 2
}
