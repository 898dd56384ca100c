package importer_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/importer"
)

// ExampleImport loads Mailgun's bounces, whose times are RFC 2822: every
// contact is blocked with its reason and time, and a time that cannot be
// read leaves the block in place with a warning.
func ExampleImport() {
	ctx := context.Background()
	g, err := guard.Open("", guard.WithInMemory())
	if err != nil {
		panic(err)
	}
	defer g.Close()

	export := `address,code,error,created_at
alice@example.com,550,No such mailbox,"Fri, 26 Apr 2024 10:06:40 UTC"
bob@example.com,550,Mailbox full,last tuesday
`
	res, err := importer.Import(ctx, g, strings.NewReader(export),
		importer.OnDetect(func(d importer.Detected) {
			for _, c := range d.Columns {
				fmt.Printf("%s from %q\n", c.Field, c.Name)
			}
		}),
		importer.OnProblem(func(p importer.Problem) {
			fmt.Printf("line %d: %s: %s\n", p.Line, p.Input, p.Reason)
		}))
	if err != nil {
		panic(err)
	}
	fmt.Printf("added %d, warned %d\n", res.Added, res.Warned)
	v, _ := g.Check(ctx, "alice@example.com")
	fmt.Println(v.Blocked, v.Reason, v.CreatedAt.Format("2006-01-02T15:04:05Z07:00"))
	v, _ = g.Check(ctx, "bob@example.com")
	fmt.Println(v.Blocked, v.Reason)
	// Output:
	// contact from "address"
	// reason from "error"
	// created_at from "created_at"
	// line 3: bob@example.com: created_at: "last tuesday" is not a time (want RFC 3339, RFC 2822, a date or Unix seconds); blocked as of now
	// added 2, warned 1
	// true No such mailbox 2024-04-26T10:06:40Z
	// true Mailbox full
}
