package memnet_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sendguard/sendguard/internal/memnet"
)

func TestListener_DialAccept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := memnet.Listen("box")
		defer ln.Close()
		if got := ln.Addr().String(); got != "box:80" {
			t.Fatalf("Addr = %q, want box:80", got)
		}
		if got := ln.Addr().Network(); got != memnet.Network {
			t.Fatalf("Network = %q", got)
		}
		accepted := make(chan []byte, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				accepted <- nil
				return
			}
			defer c.Close()
			b, _ := io.ReadAll(c)
			accepted <- b
		}()
		c, err := ln.DialContext(t.Context(), "tcp", "anything:1")
		if err != nil {
			t.Fatal(err)
		}
		if c.RemoteAddr().String() != "box:80" || c.LocalAddr().Network() != memnet.Network {
			t.Fatalf("addresses = %v %v", c.LocalAddr(), c.RemoteAddr())
		}
		if _, err := c.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		c.Close()
		if got := string(<-accepted); got != "hello" {
			t.Fatalf("server read %q", got)
		}
	})
}

func TestListener_Close(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := memnet.Listen("")
		errc := make(chan error, 1)
		go func() {
			_, err := ln.Accept()
			errc <- err
		}()
		synctest.Wait()
		ln.Close()
		ln.Close() // idempotent
		if err := <-errc; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v", err)
		}
		if _, err := ln.DialContext(t.Context(), "tcp", "x:80"); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("dial after Close: %v", err)
		}
	})
}

func TestListener_DialContextCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := memnet.Listen("idle") // nobody accepts
		defer ln.Close()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := ln.DialContext(ctx, "tcp", "idle:80")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want deadline exceeded", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("dial gave up after %v, want 1s of fake time", d)
		}
	})
}

// TestHTTPInBubble is the reason memnet exists: an httptest server and a
// client exchanging requests while the fake clock advances.
func TestHTTPInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := memnet.Listen("api")
		srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(
			func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(3 * time.Second) // fake time
				io.WriteString(w, "ok "+r.URL.Path)
			})}}
		srv.Start()
		defer srv.Close()
		tr := &http.Transport{DialContext: ln.DialContext}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}

		start := time.Now()
		for i := range 3 {
			resp, err := client.Get(srv.URL + "/x")
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "ok /x" {
				t.Fatalf("body %q", b)
			}
		}
		if d := time.Since(start); d != 9*time.Second {
			t.Fatalf("elapsed %v, want exactly 9s of fake time", d)
		}
	})
}
