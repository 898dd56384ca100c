package opencx_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/sendguard/sendguard/sync/opencx"
	"github.com/sendguard/sendguard/sync/opencx/opencxtest"
)

func ExampleValidEmail() {
	for _, s := range []string{"ann@example.com", ".ann@example.com", "ann..lee@example.com", "ann@localhost"} {
		fmt.Println(s, opencx.ValidEmail(s))
	}
	// Output:
	// ann@example.com true
	// .ann@example.com false
	// ann..lee@example.com false
	// ann@localhost false
}

// Connecting to OpenCX itself (compile-only: it needs the network and a key).
func ExampleNew() {
	c, err := opencx.New(opencx.Config{Token: os.Getenv("SENDGUARD_OPENCX_TOKEN")})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = c.BlockContact(context.Background(), "ann@example.com", "opted out")
	var e *opencx.Error
	if errors.As(err, &e) && !e.Temporary() {
		fmt.Println("giving up:", e.Message)
	}
}

// A client against the fake, paging through the whole list.
func ExampleClient_ListContacts() {
	srv := opencxtest.NewInMemoryServer(opencxtest.Options{Order: opencxtest.OldestFirst})
	defer srv.Close()
	for _, e := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		srv.Seed(opencxtest.Contact{Email: e})
	}
	c, _ := opencx.New(opencx.Config{BaseURL: srv.URL(), Token: srv.Token(), HTTPClient: srv.Client(), PageSize: 2})
	ctx := context.Background()
	for page := 1; ; page++ {
		p, err := c.ListContacts(ctx, page)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, bc := range p.Data {
			fmt.Printf("page %d/%d: %s\n", p.Page, p.TotalPages, bc.Email)
		}
		if !p.More() {
			break
		}
	}
	// Output:
	// page 1/2: a@example.com
	// page 1/2: b@example.com
	// page 2/2: c@example.com
}

func ExampleError_Temporary() {
	srv := opencxtest.NewInMemoryServer(opencxtest.Options{})
	defer srv.Close()
	c, _ := opencx.New(opencx.Config{BaseURL: srv.URL(), Token: srv.Token(), HTTPClient: srv.Client()})
	srv.SetFaults(opencxtest.Faults{ServerError: opencxtest.Fault{Next: 1}})
	err := c.BlockContact(context.Background(), "ann@example.com", "")
	var e *opencx.Error
	errors.As(err, &e)
	fmt.Println(e.StatusCode, e.Temporary(), e.Message)
	err = c.BlockContact(context.Background(), "not an email", "")
	errors.As(err, &e)
	fmt.Println(errors.Is(err, opencx.ErrInvalidEmail), e.Temporary())
	// Output:
	// 500 true Internal server error
	// true false
}
