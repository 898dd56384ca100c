package main

import "github.com/sendguard/sendguard/guard"

// sync runs the sync engine; it waits for package sync to land.
func (a *app) sync(args []string) int {
	fs, _ := a.flags("sync")
	fs.Bool("once", false, "one pass per vendor, then exit")
	fs.Duration("interval", 0, "time between passes")
	fs.Duration("timeout", 0, "with --once, how long to try")
	if _, code, done := a.parse(fs, args); done {
		return code
	}
	return a.failf("sync: not available in this build")
}

// syncStats returns the sync engine's figures for the stats command.
func (a *app) syncStats(*guard.Guard) ([]stat, error) { return nil, nil }
