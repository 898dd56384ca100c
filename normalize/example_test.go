package normalize_test

import (
	"errors"
	"fmt"

	"github.com/sendguard/sendguard/normalize"
)

func ExampleNew() {
	n, err := normalize.New(normalize.WithRegion("GB"))
	if err != nil {
		panic(err)
	}
	fmt.Println(n.Region(), n.ProviderFolding())

	_, err = normalize.New(normalize.WithRegion("XX"))
	fmt.Println(err)
	// Output:
	// GB false
	// normalize: unknown region "XX"
}

func ExampleNormalizer_Parse() {
	n, _ := normalize.New(normalize.WithRegion("GB"))
	for _, raw := range []string{
		"Ann Lee <Ann.Lee@Example.COM>",
		"mailto:ann.lee@example.com?subject=Hi",
		"+44 (0)20 7183 8750",
		"020 7183 8750",
		"tel:+44-20-7183-8750;ext=12",
		"*.example.com",
		"jürgen@bücher.de",
	} {
		c, err := n.Parse(raw)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%-6s %s\n", c.Kind, c.Value)
	}
	// Output:
	// email  ann.lee@example.com
	// email  ann.lee@example.com
	// phone  +442071838750
	// phone  +442071838750
	// phone  +442071838750
	// domain example.com
	// email  jürgen@xn--bcher-kva.de
}

func ExampleNormalizer_Email() {
	n, _ := normalize.New()
	c, _ := n.Email(`"Lee, Ann" <Ann.Lee@Example.com>`)
	fmt.Println(c.Value)

	_, err := n.Email("ann@example.com, bob@example.com")
	fmt.Println(err)
	// Output:
	// ann.lee@example.com
	// normalize: invalid email "ann@example.com, bob@example.com": several addresses
}

func ExampleNormalizer_Phone() {
	us, _ := normalize.New() // default region US
	it, _ := normalize.New(normalize.WithRegion("IT"))

	c, _ := us.Phone("(201) 555-0123")
	fmt.Println(c.Value)
	c, _ = us.Phone("011 44 20 7183 8750") // 011: the US international prefix
	fmt.Println(c.Value)
	c, _ = it.Phone("06 6982 1234") // Italy keeps its leading 0
	fmt.Println(c.Value)

	_, err := us.Phone("555-0123")
	fmt.Println(err)
	// Output:
	// +12015550123
	// +442071838750
	// +390669821234
	// normalize: invalid phone "555-0123": local number without its area code
}

func ExampleNormalizer_ParseDetail() {
	n, _ := normalize.New()
	d, _ := n.ParseDetail("+1 201 555 0123 ext. 45")
	fmt.Println(d.Contact.Value, d.Extension, d.Unverified)

	// Right length, but in no range libphonenumber knows: accepted, flagged.
	d, _ = n.ParseDetail("+1 999 555 0123")
	fmt.Println(d.Contact.Value, d.Unverified)
	// Output:
	// +12015550123 45 false
	// +19995550123 true
}

func ExampleNormalizer_Domain() {
	n, _ := normalize.New()
	for _, raw := range []string{"example.com", "@Example.com", "*.example.com.", "bücher.de", "localhost"} {
		c, err := n.Domain(raw)
		fmt.Println(c.Value, err)
	}
	// Output:
	// example.com <nil>
	// example.com <nil>
	// example.com <nil>
	// xn--bcher-kva.de <nil>
	//  normalize: invalid domain "localhost": domain has no dot
}

func ExampleWithProviderFolding() {
	n, _ := normalize.New(normalize.WithProviderFolding(true))
	for _, raw := range []string{
		"John.Smith+news@googlemail.com",
		"ann.lee+shop@outlook.com",
		"ann-shop@yahoo.com",
	} {
		c, _ := n.Email(raw)
		fmt.Println(c.Value)
	}
	// Output:
	// johnsmith@gmail.com
	// ann.lee@outlook.com
	// ann-shop@yahoo.com
}

func ExampleContact_Key() {
	n, _ := normalize.New()
	c, _ := n.Parse("Ann <ann@example.com>")
	key := c.Key()
	fmt.Printf("%s\n", key)

	back, _ := normalize.FromKey(key)
	fmt.Println(back == c, back.EmailDomain())
	// Output:
	// e:ann@example.com
	// true example.com
}

func ExampleInvalidError() {
	n, _ := normalize.New()
	_, err := n.Parse("ann@[192.0.2.1]")
	var ie *normalize.InvalidError
	if errors.As(err, &ie) {
		fmt.Println(errors.Is(err, normalize.ErrInvalid), ie.Kind, ie.Reason)
	}
	// Output:
	// true email IP-literal domains are not accepted
}

func ExampleRedact() {
	fmt.Println(normalize.Redact("ann@example.com"))
	fmt.Println(normalize.Redact("+442071838750"))
	// Output:
	// a***@example.com
	// ***8750
}
