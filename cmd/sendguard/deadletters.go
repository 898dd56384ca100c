package main

import (
	"fmt"

	blocksync "github.com/sendguard/sendguard/sync"
)

// deadLetters lists the records vendors refused for good, or re-queues them.
func (a *app) deadLetters(args []string) int {
	fs, c := a.flags("dead-letters")
	retry := fs.Bool("retry", false, "put the dead letters back in their vendor's queue")
	vendor := fs.String("vendor", "", "only this vendor's (opencx or ocamba)")
	pos, code, done := a.parse(fs, args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return a.failf("dead-letters: unexpected argument %q (see 'sendguard help dead-letters')", pos[0])
	}
	switch *vendor {
	case "", "opencx", "ocamba":
	default:
		return a.failf("dead-letters: --vendor %q: want opencx or ocamba", *vendor)
	}
	c.readOnly = !*retry
	g, err := a.openGuard(c)
	if err != nil {
		return a.failf("%s", err)
	}
	e, err := blocksync.New(g.Replication(), nil)
	if err != nil {
		return a.closeGuard(g, c, a.failf("dead-letters: %s", why(err)))
	}
	if *retry {
		n, err := e.RetryDeadLetters(a.ctx, *vendor)
		if err != nil {
			return a.closeGuard(g, c, a.failf("dead-letters: %s: %s", c.db, why(err)))
		}
		fmt.Fprintf(a.stdout, "retried %d\n", n)
		return a.closeGuard(g, c, exitOK)
	}
	dead, err := e.DeadLetters(a.ctx, *vendor)
	if err != nil {
		return a.closeGuard(g, c, a.failf("dead-letters: %s: %s", c.db, why(err)))
	}
	for _, d := range dead {
		a.printDeadLetter(d)
	}
	return a.closeGuard(g, c, exitOK)
}
