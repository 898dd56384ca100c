package sync_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/sendguard/sendguard/guard"
	blocksync "github.com/sendguard/sendguard/sync"
	"github.com/sendguard/sendguard/sync/ocamba"
	"github.com/sendguard/sendguard/sync/opencx"
)

// Example wires a guard to both vendors and keeps them in agreement until
// interrupted. It needs the network and real tokens, so it only compiles.
func Example() {
	g, err := guard.Open("sendguard-data")
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close() // after Run has returned

	cx, err := opencx.New(opencx.Config{Token: os.Getenv("SENDGUARD_OPENCX_TOKEN")})
	if err != nil {
		log.Fatal(err)
	}
	oc, err := ocamba.New(ocamba.Config{Token: os.Getenv("SENDGUARD_OCAMBA_TOKEN")})
	if err != nil {
		log.Fatal(err)
	}
	e, err := blocksync.New(g.Replication(), []blocksync.Remote{
		blocksync.NewOpenCX(cx, blocksync.OpenCXOptions{}),
		blocksync.NewOcamba(oc, blocksync.OcambaOptions{}),
	}, blocksync.WithLogger(slog.Default()))
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := e.Run(ctx); err != nil { // returns nil once ctx is done
		log.Fatal(err)
	}
}

// ExampleEngine_SyncOnce makes one pass, bounded in time, and reports what
// is left, as a cron job would.
func ExampleEngine_SyncOnce() {
	g, err := guard.Open("sendguard-data")
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()
	cx, err := opencx.New(opencx.Config{Token: os.Getenv("SENDGUARD_OPENCX_TOKEN")})
	if err != nil {
		log.Fatal(err)
	}
	e, err := blocksync.New(g.Replication(), []blocksync.Remote{blocksync.NewOpenCX(cx, blocksync.OpenCXOptions{})})
	if err != nil {
		log.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := e.SyncOnce(ctx)
	for _, r := range rep.Remotes {
		fmt.Printf("%s: pushed %d, pulled %d, dead-lettered %d, pending %d\n",
			r.Remote, r.Pushed, r.Pulled, r.DeadLettered, r.Pending)
	}
	if errors.Is(err, blocksync.ErrUnauthorized) {
		fmt.Println("check the token")
	}
	if rep.Pending() > 0 {
		os.Exit(1)
	}
}
