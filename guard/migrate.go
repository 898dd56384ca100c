package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// legacySyncSpace is where the sync engine kept each remote's state before
// the replication view: meta keys "sync/<remote>/<key>". The state now
// belongs to the remote's consumer, "remote/<remote>" (see
// sync.Consumer).
const legacySyncSpace = "sync/"

var errStopScan = errors.New("stop")

// migrateSyncState moves each remote's state from the legacy layout into
// its consumer's state, once: the moved keys are gone, so the next Open
// finds nothing to do. A move cut short by a crash is finished by the next
// Open (see storage.Store.MoveMeta). Without it, a database written before
// the replication view would lose its pull watermarks, remote ids and
// "still listed" marks, and the engine would pull every list in full and
// push what the vendors hold already.
func (g *Guard) migrateSyncState(ctx context.Context) error {
	for {
		var name string
		err := g.store.ScanMeta(ctx, legacySyncSpace, func(k string, _ []byte) error {
			rest := k[len(legacySyncSpace):]
			if i := strings.IndexByte(rest, '/'); i > 0 {
				name = rest[:i]
				return errStopScan
			}
			return nil // not a remote's key: left as it is
		})
		if err != nil && !errors.Is(err, errStopScan) {
			return fmt.Errorf("guard: migrate sync state: %w", err)
		}
		if name == "" {
			return nil
		}
		consumer := "remote/" + name
		n, err := g.store.MoveMeta(ctx, legacySyncSpace+name+"/", stateKey(consumer, ""))
		if err != nil {
			return fmt.Errorf("guard: migrate sync state of %q: %w", name, err)
		}
		g.opts.log.Info("guard: moved a remote's sync state to its consumer",
			slog.String("remote", name), slog.Int("keys", n))
	}
}
