// Command fleet shows three guards kept in agreement over NATS JetStream
// (package sync/fleet): an embedded JetStream server and three members
// in one program. It blocks a contact on one member, unblocks it on
// another, and restarts a member that missed a change, printing what each
// member answers and how long each change took to arrive.
//
//	go run ./examples/fleet
//
// In production each member is its own process with its own Badger
// directory, and the server is a separate nats-server -js (see the
// README's "Run several instances").
package main
