package ocamba_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/sendguard/sendguard/sync/ocamba"
	"github.com/sendguard/sendguard/sync/ocamba/ocambatest"
)

func ExampleBlockedContact_Masked() {
	for _, b := range []ocamba.BlockedContact{{Contact: ocamba.MaskedContact}, {Contact: "+38112345678"}} {
		fmt.Println(b.Masked())
	}
	// Output:
	// true
	// false
}

// Connecting to Ocamba itself (compile-only: it needs the network and a token).
func ExampleNew() {
	c, err := ocamba.New(ocamba.Config{Token: os.Getenv("SENDGUARD_OCAMBA_TOKEN")})
	if err != nil {
		fmt.Println(err)
		return
	}
	created, err := c.CreateBlockedContact(context.Background(), "+38112345678", "opted out")
	var e *ocamba.Error
	switch {
	case errors.As(err, &e) && e.WaitInFlight:
		_ = c.AwaitInFlight(context.Background()) // then retry
	case err == nil:
		fmt.Println("blocked as", created.ID) // keep the id: the contact comes back masked
	}
}

// An incremental pull against the fake: entries created since a
// watermark, page by page, masked values skipped.
func ExampleClient_ListBlockedContacts() {
	srv := ocambatest.NewInMemoryServer(ocambatest.Options{})
	defer srv.Close()
	t0 := time.Date(2025, 2, 13, 8, 0, 0, 0, time.UTC)
	srv.Seed(
		ocambatest.Entry{Contact: "+12025550100", CreateTime: t0},
		ocambatest.Entry{Contact: "ann@example.com", CreateTime: t0.Add(time.Hour)},
		ocambatest.Entry{Contact: "+12025550101", CreateTime: t0.Add(2 * time.Hour), Masked: true},
		ocambatest.Entry{Contact: "+12025550102", CreateTime: t0.Add(3 * time.Hour)},
	)
	c, _ := ocamba.New(ocamba.Config{BaseURL: srv.URL(), Token: srv.Token(), HTTPClient: srv.Client(), PageSize: 2})
	q := ocamba.ListQuery{CreatedSince: t0.Add(30 * time.Minute)}
	for {
		p, err := c.ListBlockedContacts(context.Background(), q)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, b := range p.Items {
			if b.Masked() {
				fmt.Println(b.ID, "masked: skipped")
				continue
			}
			fmt.Println(b.ID, b.Contact, b.CreateTime.Format(time.DateTime))
		}
		next, more := p.Next()
		if !more {
			break
		}
		q = next
	}
	// Output:
	// 1001 ann@example.com 2025-02-13 09:00:00
	// 1002 masked: skipped
	// 1003 +12025550102 2025-02-13 11:00:00
}
