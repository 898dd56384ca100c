//go:build unix

package bench

import (
	"io/fs"
	"syscall"
)

// allocated returns the bytes fi's file occupies on disk.
func allocated(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Blocks) * 512
	}
	return uint64(fi.Size())
}
