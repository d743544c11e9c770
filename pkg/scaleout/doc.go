// Package scaleout holds the scale-out test: the real service binaries, two replicas of each
// backend on one PostgreSQL, one of them killed with SIGKILL mid-delivery (issue 15, item 7).
package scaleout
