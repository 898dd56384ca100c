package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sendguard/sendguard/guard"
)

// BenchmarkServeCheck compares checks per second through serve's HTTP
// API (8 keep-alive clients on 2 cores, one recipient a request and 100
// a request; conns reports the connections opened over
// all of a case's runs)
// with the same checks in-process (guard.Check), on a real store with
// 10,000 blocks; a tenth of the recipients checked are blocked.
//
//	go test -run '^$' -bench BenchmarkServeCheck -benchtime 2s ./cmd/sendguard
func BenchmarkServeCheck(b *testing.B) {
	g, err := guard.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = g.Close() })
	ctx := context.Background()
	blocked := make([]string, 10000)
	for i := range blocked {
		blocked[i] = fmt.Sprintf("blocked-%d@example.com", i)
	}
	if _, err := g.Import(ctx, blocked, "bench"); err != nil {
		b.Fatal(err)
	}
	recipients := make([]string, 1000)
	for i := range recipients {
		if i%10 == 0 {
			recipients[i] = blocked[i]
		} else {
			recipients[i] = fmt.Sprintf("user-%d@example.org", i)
		}
	}
	a := &app{ctx: ctx, getenv: func(string) string { return "" }}
	s, err := newServer(a, g, serveConfig{token: "bench-token", interval: time.Minute}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	s.ready.Store(true)

	b.Run("in-process", func(b *testing.B) {
		b.ReportAllocs()
		var next atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r := recipients[next.Add(1)%uint64(len(recipients))]
				if _, err := g.Check(ctx, r); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
	})

	srv := httptest.NewUnstartedServer(s.handler())
	var conns atomic.Int64 // connections opened: keep-alive holds it to the clients'
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	b.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}}
	b.Cleanup(client.CloseIdleConnections)
	for _, batch := range []int{1, 100} {
		bodies := make([][]byte, len(recipients))
		for i := range bodies {
			list := make([]string, batch)
			for j := range list {
				list[j] = recipients[(i+j)%len(recipients)]
			}
			bodies[i], _ = json.Marshal(recipientsRequest{Recipients: list})
		}
		start := conns.Load()
		b.Run(fmt.Sprintf("http/batch=%d", batch), func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(4) // 4 keep-alive clients a core
			var next atomic.Uint64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("POST", srv.URL+"/v1/check", bytes.NewReader(bodies[next.Add(1)%uint64(len(bodies))]))
					req.Header.Set("Authorization", "Bearer bench-token")
					res, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					body, _ := io.ReadAll(res.Body)
					res.Body.Close() // drained: the connection is kept alive
					if res.StatusCode != 200 || !strings.HasPrefix(string(body), `{"results":[`) {
						b.Errorf("status %d: %s", res.StatusCode, body)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "checks/s")
			b.ReportMetric(float64(conns.Load()-start), "conns")
		})
	}
}
