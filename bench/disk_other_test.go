//go:build !unix

package bench

import "io/fs"

// allocated returns fi's length: the allocated size is not portable.
func allocated(fi fs.FileInfo) uint64 { return uint64(fi.Size()) }
