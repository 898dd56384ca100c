package optout_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/optout"
)

func ExampleNewUnsubscriber() {
	g, _ := guard.Open("", guard.WithInMemory())
	defer g.Close()
	key := []byte("an example secret of 32 bytes!!!") // use 32 random bytes
	u, err := optout.NewUnsubscriber(g, optout.UnsubscribeConfig{Secret: key, URL: "https://mail.example.com/unsubscribe"})
	if err != nil {
		fmt.Println(err)
		return
	}
	hdr, _ := u.Headers("Ann <ann@example.com>")
	fmt.Println(hdr["List-Unsubscribe-Post"])

	// The mail client POSTs to the link (here through a test server).
	mux := http.NewServeMux()
	mux.Handle("/unsubscribe/", u)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	link := strings.Trim(hdr["List-Unsubscribe"], "<>")
	link = srv.URL + strings.TrimPrefix(link, "https://mail.example.com")
	resp, err := http.Post(link, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	v, _ := g.Check(context.Background(), "ann@example.com")
	fmt.Println(resp.StatusCode, v.Blocked, v.Source)
	// Output:
	// List-Unsubscribe=One-Click
	// 200 true unsubscribe
}

func ExampleClassifySMS() {
	for _, body := range []string{"STOP", "Arrêt", "please unsubscribe me", "stopwatch", "Yes", "help"} {
		fmt.Printf("%q: %v\n", body, optout.ClassifySMS(body))
	}
	// Output:
	// "STOP": opt-out
	// "Arrêt": opt-out
	// "please unsubscribe me": opt-out
	// "stopwatch": none
	// "Yes": opt-in
	// "help": help
}

func ExampleParseFeedback() {
	report := "From: MAILER-DAEMON@mail.example.com\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n" +
		"\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n" +
		"--b\r\nContent-Type: message/delivery-status\r\n\r\n" +
		"Reporting-MTA: dns; mail.example.com\r\n\r\n" +
		"Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n" +
		"--b--\r\n"
	fb, err := optout.ParseFeedback(strings.NewReader(report))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(fb.Type, fb.Recipients)
	// Output: hard-bounce [gone@example.org]
}

func ExampleRecorder_Record() {
	g, _ := guard.Open("", guard.WithInMemory())
	defer g.Close()
	rec, _ := optout.NewRecorder(g, optout.RecorderConfig{})
	fb := &optout.Feedback{Type: optout.Complaint, Recipients: []string{"ann@example.com"}}
	n, err := rec.Record(context.Background(), fb)
	v, _ := g.Check(context.Background(), "ann@example.com")
	fmt.Println(n, err, v.Blocked, v.Source)
	// Output: 1 <nil> true complaint
}

func ExampleNewSMSHandler() {
	g, _ := guard.Open("", guard.WithInMemory())
	defer g.Close()
	h, err := optout.NewSMSHandler(g, optout.SMSConfig{
		AuthToken: "your-auth-token",
		URL:       "https://sms.example.com/sms/incoming", // as configured at the provider
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	http.Handle("/sms/incoming", h)
}
