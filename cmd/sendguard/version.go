package main

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// version prints the program's version on one line:
//
//	sendguard VERSION (REVISION[, modified], TIME, GOVERSION)
//
// from the build information the Go toolchain embeds.
func (a *app) version(args []string) int {
	fs, _ := a.flags("version")
	pos, code, done := a.parse(fs, args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return a.failf("version: unexpected argument %q", pos[0])
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintln(a.stdout, "sendguard (unknown version: built without module support)")
		return exitOK
	}
	fmt.Fprintln(a.stdout, versionLine(bi))
	return exitOK
}

// versionLine renders build information as version prints it.
func versionLine(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, when string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	var parts []string
	if rev != "" {
		if modified {
			rev += ", modified"
		}
		parts = append(parts, rev)
	}
	if when != "" {
		parts = append(parts, when)
	}
	parts = append(parts, bi.GoVersion)
	return fmt.Sprintf("sendguard %s (%s)", v, strings.Join(parts, ", "))
}
