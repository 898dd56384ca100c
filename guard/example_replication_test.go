package guard_test

import (
	"context"
	"fmt"

	"github.com/sendguard/sendguard/guard"
)

// Two guards kept in step through their replication views: each reads
// the other's change log after its offset and applies the records with
// its own consumer name as origin, so nothing is echoed back.
func ExampleReplication() {
	ctx := context.Background()
	a, _ := guard.Open("", guard.WithInMemory())
	defer a.Close()
	b, _ := guard.Open("", guard.WithInMemory())
	defer b.Close()

	// copyLog applies from's changes after its offset to to, skipping the
	// changes to itself applied (origin "peer"), and moves the offset.
	copyLog := func(from, to *guard.Guard) {
		src, dst := from.Replication(), to.Replication()
		off, _ := src.Offset(ctx, "peer")
		recs, _ := src.ReadLog(ctx, off, 0)
		for _, rec := range recs {
			if rec.Origin != "peer" {
				rec.Origin = "peer"
				changed, _ := dst.Apply(ctx, rec)
				fmt.Printf("%s %s: applied %v\n", rec.Op, rec.Contact.Value, changed)
			}
			off = rec.Seq
		}
		_ = src.SetOffset(ctx, "peer", off)
	}

	_, _ = a.Block(ctx, "Ann@Example.com", "unsubscribed")
	copyLog(a, b)
	copyLog(b, a) // b's record came from a: not sent back
	v, _ := b.Check(ctx, "ann@example.com")
	fmt.Println("b blocks ann:", v.Blocked, v.Reason)

	_, _ = b.Unblock(ctx, "ann@example.com")
	copyLog(b, a)
	v, _ = a.Check(ctx, "ann@example.com")
	fmt.Println("a blocks ann:", v.Blocked)
	// Output:
	// block ann@example.com: applied true
	// b blocks ann: true unsubscribed
	// unblock ann@example.com: applied true
	// a blocks ann: false
}
