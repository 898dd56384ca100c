package optout_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sendguard/sendguard/optout"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFeedback(t *testing.T) {
	tests := []struct {
		file     string
		typ      optout.FeedbackType
		rcpts    []string
		statuses int
		msgID    string
		fbType   string
	}{
		{"postfix-hard.eml", optout.HardBounce, []string{"gone@example.org"}, 1, "week-2@example.com", ""},
		{"postfix-delayed.eml", optout.SoftBounce, []string{"full@example.net"}, 1, "delayed-1@example.com", ""},
		{"exchange-hard.eml", optout.HardBounce, []string{"Left.Company@corp.example.com"}, 1, "exch-1@example.com", ""},
		{"gmail-hard.eml", optout.HardBounce, []string{"nobody.here@gmail.com"}, 1, "gm-1@example.com", ""},
		// RFC 3464's own example: failed 4.0.0 (soft), failed 5.0.0 (hard),
		// delayed (soft), delivered (other).
		{"rfc3464-mixed.eml", optout.HardBounce, []string{"arathib@vnet.ibm.com"}, 4, "", ""},
		{"arf-rfc5965.eml", optout.Complaint, []string{"user@example.com"}, 0, "8787KJKJ3K4J3K4J3K4J3.mail@example.net", "abuse"},
		{"arf-redacted.eml", optout.Complaint, []string{"complainer@hotmail.com"}, 0, "weekly-9@example.com", "abuse"},
		{"arf-forwarded.eml", optout.Complaint, []string{"angry@isp.example"}, 0, "", "abuse"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw := readFixture(t, tt.file)
			for _, variant := range []struct {
				name string
				b    []byte
			}{
				{"as-is", raw},
				{"LF", bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))},
				{"CRLF", bytes.ReplaceAll(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))},
			} {
				fb, err := optout.ParseFeedback(bytes.NewReader(variant.b))
				if err != nil {
					t.Fatalf("%s: %v", variant.name, err)
				}
				if fb.Type != tt.typ || !slices.Equal(fb.Recipients, tt.rcpts) {
					t.Errorf("%s: Type %v Recipients %q; want %v %q", variant.name, fb.Type, fb.Recipients, tt.typ, tt.rcpts)
				}
				if len(fb.Statuses) != tt.statuses {
					t.Errorf("%s: %d statuses, want %d", variant.name, len(fb.Statuses), tt.statuses)
				}
				if fb.MessageID != tt.msgID || fb.FeedbackType != tt.fbType {
					t.Errorf("%s: MessageID %q FeedbackType %q; want %q %q", variant.name, fb.MessageID, fb.FeedbackType, tt.msgID, tt.fbType)
				}
			}
		})
	}
}

func TestParseFeedback_Details(t *testing.T) {
	fb, err := optout.ParseFeedback(bytes.NewReader(readFixture(t, "rfc3464-mixed.eml")))
	if err != nil {
		t.Fatal(err)
	}
	want := []optout.RecipientStatus{
		{Recipient: "louisl@larry.slip.umd.edu", Action: "failed", Status: "4.0.0", Type: optout.SoftBounce},
		{Recipient: "arathib@vnet.ibm.com", Action: "failed", Status: "5.0.0", Type: optout.HardBounce},
		{Recipient: "johnh@hpnjld.njd.hp.com", Action: "delayed", Status: "4.0.0", Type: optout.SoftBounce},
		{Recipient: "wsnell@sdcc13.ucsd.edu", Action: "delivered", Status: "2.0.0", Type: optout.Other},
	}
	for i, w := range want {
		got := fb.Statuses[i]
		got.Diagnostic = ""
		if got != w {
			t.Errorf("status %d = %+v, want %+v", i, got, w)
		}
	}
	if fb.Reporter != "cs.utk.edu" {
		t.Errorf("Reporter %q", fb.Reporter)
	}
	// The folded Diagnostic-Code is unfolded.
	if d := fb.Statuses[1].Diagnostic; !strings.Contains(d, "is not a registered gateway user") {
		t.Errorf("Diagnostic %q", d)
	}

	// A forwarded report keeps its own Date, not the forward's.
	fb, err = optout.ParseFeedback(bytes.NewReader(readFixture(t, "arf-forwarded.eml")))
	if err != nil {
		t.Fatal(err)
	}
	if fb.Date.UTC().Format("15:04") != "07:59" {
		t.Errorf("forwarded report's Date %v, want 07:59", fb.Date)
	}

	fb, err = optout.ParseFeedback(bytes.NewReader(readFixture(t, "postfix-hard.eml")))
	if err != nil {
		t.Fatal(err)
	}
	if fb.ArrivalDate.IsZero() || fb.ArrivalDate.UTC().Format("2006-01-02T15:04:05") != "2026-01-12T10:15:01" {
		t.Errorf("ArrivalDate %v", fb.ArrivalDate)
	}
	if fb.Date.UTC().Format("15:04:05") != "10:15:02" {
		t.Errorf("Date %v", fb.Date)
	}
}

func TestParseFeedback_NotReport(t *testing.T) {
	for _, in := range [][]byte{
		readFixture(t, "not-report.eml"),
		readFixture(t, "mdn.eml"),
		[]byte(""),
		[]byte("garbage without a header"),
		[]byte("Content-Type: multipart/report; report-type=delivery-status; boundary=x\n\n--x\nContent-Type: text/plain\n\nhi\n--x--\n"),
	} {
		_, err := optout.ParseFeedback(bytes.NewReader(in))
		if !errors.Is(err, optout.ErrNotReport) {
			t.Errorf("%.40q: err = %v, want ErrNotReport", in, err)
		}
	}
}

func TestParseFeedback_Success(t *testing.T) {
	in := "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; a.example\n\nFinal-Recipient: rfc822; ok@example.com\nAction: delivered\nStatus: 2.0.0\n\n--b--\n"
	fb, err := optout.ParseFeedback(strings.NewReader(in))
	if err != nil || fb.Type != optout.Other {
		t.Fatalf("success DSN: %v, %v; want Other", fb, err)
	}
}

// TestParseFeedback_QuotedRecipient: a Final-Recipient whose whole
// address is quoted, or in angle brackets, reads as the bare address.
func TestParseFeedback_QuotedRecipient(t *testing.T) {
	for _, field := range []string{`rfc822; "ann@example.com"`, `rfc822;<ann@example.com>`, `rfc822; ann@example.com (Ann)`} {
		in := "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; a.example\n\nFinal-Recipient: " +
			field + "\nAction: failed\nStatus: 5.1.1\n\n--b--\n"
		fb, err := optout.ParseFeedback(strings.NewReader(in))
		if err != nil || fb.Type != optout.HardBounce || !slices.Equal(fb.Recipients, []string{"ann@example.com"}) {
			t.Errorf("Final-Recipient: %s: %+v, %v; want a hard bounce for ann@example.com", field, fb, err)
		}
	}
}

func TestParseFeedback_TooLarge(t *testing.T) {
	// The status part comes after MaxFeedbackSize bytes of notification.
	var b strings.Builder
	b.WriteString("Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: text/plain\n\n")
	line := strings.Repeat("x", 99) + "\n"
	for b.Len() < optout.MaxFeedbackSize+1000 {
		b.WriteString(line)
	}
	b.WriteString("--b\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822; a@example.com\nAction: failed\nStatus: 5.1.1\n\n--b--\n")
	_, err := optout.ParseFeedback(strings.NewReader(b.String()))
	if !errors.Is(err, optout.ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}

	// A huge returned message after the status part is cut, not refused.
	raw := readFixture(t, "postfix-hard.eml")
	i := bytes.LastIndex(raw, []byte("Hello."))
	big := append(append(append([]byte(nil), raw[:i]...), bytes.Repeat([]byte(line), optout.MaxFeedbackSize/100+10)...), raw[i:]...)
	fb, err := optout.ParseFeedback(bytes.NewReader(big))
	if err != nil || fb.Type != optout.HardBounce {
		t.Fatalf("big returned message: %v, %v", fb, err)
	}
}

func FuzzParseFeedback(f *testing.F) {
	entries, _ := os.ReadDir("testdata")
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".eml") {
			f.Add(readFixture(f, e.Name()))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		fb, err := optout.ParseFeedback(bytes.NewReader(in))
		if err != nil {
			if fb != nil {
				t.Fatal("a Feedback with an error")
			}
			return
		}
		if fb.Type != optout.Other && fb.Type != optout.Complaint && len(fb.Recipients) == 0 {
			t.Fatalf("a %v without recipients", fb.Type)
		}
		for _, r := range fb.Recipients {
			if !strings.Contains(r, "@") {
				t.Fatalf("recipient %q is no address", r)
			}
		}
	})
}
