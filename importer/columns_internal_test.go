package importer

import (
	"slices"
	"strings"
	"testing"
)

func TestContactColumns(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   []int
	}{
		{"email", []int{0}},
		{"Email Address,First Name,Address", []int{0}},
		{"name,address", []int{1}},
		{"Phone,E_Mail", []int{1, 0}},
		{"to,contact", []int{1}},
		{"recipient,phone", []int{1}},
		{"MSISDN", []int{0}},
		{"number,mobile", []int{1}},
		{"EmailAddress,Reason,LastUpdateTime", []int{0}},
	} {
		if got := contactColumns(strings.Split(tc.header, ",")); !slices.Equal(got, tc.want) {
			t.Errorf("contactColumns(%q) = %v; want %v", tc.header, got, tc.want)
		}
	}
	if got := contactColumns([]string{"name", "domain"}); len(got) != 0 {
		t.Errorf("a header without a contact column gave %v", got)
	}
	for line, want := range map[string]bool{
		"email": true, "Email-Address": true, "a@example.com": false, "a,b": true,
		"Bob <bob@example.com>": false, `"Bob, Jr" <bob@example.com>`: false,
		"name;email": true, "a;b": false, "x\tphone": true, "a@example.com;b@example.com": false,
	} {
		if _, _, got := csvHeader(line, false); got != want {
			t.Errorf("csvHeader(%q) = %v, want %v", line, got, want)
		}
	}
}

func TestMetaColumns(t *testing.T) {
	for header, want := range map[string]string{
		"Email Address,OPTIN_TIME,UNSUB_TIME,UNSUB_REASON,UNSUB_REASON_OTHER": "contact=Email Address reason=UNSUB_REASON created_at=UNSUB_TIME",
		"email,created,reason,status":                                         "contact=email reason=reason created_at=created",
		"address,code,error,created_at":                                       "contact=address reason=error created_at=created_at",
		"EmailAddress,SuppressionReason,Origin,CreatedAt":                     "contact=EmailAddress reason=SuppressionReason source=Origin created_at=CreatedAt",
		"phone_number,date_created":                                           "contact=phone_number created_at=date_created",
		"contact,kind,reason,source,created_at,expires_at":                    "contact=contact reason=reason source=source created_at=created_at expires_at=expires_at",
	} {
		p, err := resolve(strings.Split(header, ","), nil)
		if err != nil {
			t.Fatalf("resolve(%q): %v", header, err)
		}
		var got []string
		for _, c := range p.columns {
			got = append(got, c.Field.String()+"="+c.Name)
		}
		if g := strings.Join(got, " "); g != want {
			t.Errorf("resolve(%q) = %s, want %s", header, g, want)
		}
	}
}
