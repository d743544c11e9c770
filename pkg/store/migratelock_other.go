//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package store

import "context"

// lockSQLiteMigrations has no file lock to take on this system: concurrent migrators of one
// SQLite file are not serialised here (run one `migrate` at a time).
func (s *Store) lockSQLiteMigrations(context.Context) (unlock func(), err error) {
	return func() {}, nil
}
