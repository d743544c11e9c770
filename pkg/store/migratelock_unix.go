//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package store

import (
	"context"
	"os"
	"syscall"
)

// lockSQLiteMigrations serialises the migrators of one SQLite file, in this process or others:
// it takes an exclusive flock on <database>-migrate.lock (beside SQLite's own -wal and -shm
// files) and returns its release. goose reads which migrations are pending before it begins
// each one's transaction, so SQLite's write lock alone would let two migrators apply the same
// migration. The kernel drops the lock when its holder dies. (A separate file: opening and
// closing the database file itself would drop SQLite's own POSIX locks in this process.)
func (s *Store) lockSQLiteMigrations(ctx context.Context) (unlock func(), err error) {
	files, err := s.SQLiteFiles(ctx)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(files[0]+"-migrate.lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	locked := make(chan error, 1)
	go func() { locked <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
	select {
	case err := <-locked:
		if err != nil {
			_ = f.Close()
			return nil, err
		}
		return func() { _ = f.Close() }, nil // closing the file releases the lock
	case <-ctx.Done():
		go func() { <-locked; _ = f.Close() }() //nolint:errcheck // the lock was taken after all: closing releases it
		return nil, ctx.Err()
	}
}
