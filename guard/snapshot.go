package guard

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/sendguard/sendguard/filter"
)

// A snapshot is trusted only when three things agree: the file's stamp, the
// stamp Close recorded in the store's metadata, and the store's last
// change-log sequence number. The stamp in the metadata is deleted as soon
// as a guard opens the store, before any write can happen, so a snapshot
// left behind by a crash, or by a run that wrote without closing cleanly,
// never matches again. A read-only guard neither consumes the stamp nor
// writes a snapshot: nothing writes through it.

// readSnapshot returns the snapshot's filter if it matches the store, or
// nil (after logging why) if the store must be scanned instead.
func (g *Guard) readSnapshot(ctx context.Context) *filter.Filter {
	path := g.opts.snapshotPath
	want, haveMeta, err := g.store.GetMeta(ctx, snapshotMeta)
	if err != nil {
		g.opts.log.Warn("guard: snapshot stamp unreadable; rebuilding", slog.Any("err", err))
		return nil
	}
	if haveMeta && !g.store.ReadOnly() {
		// Consume the stamp before anything can write. (A read-only
		// store writes nothing, so the stamp stays true.)
		if err := g.store.DeleteMeta(ctx, snapshotMeta); err != nil {
			g.opts.log.Warn("guard: snapshot stamp not cleared; rebuilding", slog.Any("err", err))
			return nil
		}
	}
	fh, err := os.Open(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			g.opts.log.Warn("guard: snapshot unreadable; rebuilding", slog.String("path", path), slog.Any("err", err))
		}
		return nil
	}
	defer func() { _ = fh.Close() }()
	f, stamp, err := filter.ReadSnapshot(bufio.NewReader(fh))
	if err != nil {
		g.opts.log.Warn("guard: snapshot invalid; rebuilding", slog.String("path", path), slog.Any("err", err))
		return nil
	}
	if !haveMeta || !bytes.Equal(stamp, want) {
		g.opts.log.Warn("guard: snapshot does not match the store; rebuilding", slog.String("path", path))
		return nil
	}
	seq, err := g.store.LastSeq(ctx)
	if err != nil || len(stamp) != 24 || binary.BigEndian.Uint64(stamp[16:]) != seq {
		g.opts.log.Warn("guard: snapshot is older than the store; rebuilding", slog.String("path", path))
		return nil
	}
	return f
}

// writeSnapshot writes the filter to the snapshot path (through a temporary
// file, synced and renamed) and then records its stamp in the store. Caller
// holds wmu, so no write races with it.
func (g *Guard) writeSnapshot(ctx context.Context) error {
	path := g.opts.snapshotPath
	seq, err := g.store.LastSeq(ctx)
	if err != nil {
		return err
	}
	stamp := binary.BigEndian.AppendUint64(randomStamp(), seq)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".snap-*")
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	w := bufio.NewWriter(tmp)
	if _, err := g.filter.WriteSnapshot(w, stamp); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := w.Flush(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return g.store.PutMeta(ctx, snapshotMeta, stamp)
}
