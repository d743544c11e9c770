package store

import (
	"context"
	"io/fs"
	"time"
)

// SleepRead holds a connection of the read pool (on PostgreSQL, of the pool) with an open
// SELECT until release is closed: tests of the pool settings.
func (s *Store) SleepRead(ctx context.Context, release <-chan struct{}) error {
	rows, err := s.q(ctx).Raw(`SELECT 1`).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	<-release
	return rows.Err()
}

// WriterGroups is how many group transactions the SQLite writer has begun, and how many
// transactions wait for it now.
func (s *Store) WriterGroups() (begun int64, waiting int) {
	s.writer.mu.Lock()
	defer s.writer.mu.Unlock()
	return s.writer.commits.Load(), len(s.writer.pending)
}

// OpenCheckpointingEvery opens a store whose SQLite checkpointer runs every period and starts
// the WAL over past restartFrames pages.
func OpenCheckpointingEvery(ctx context.Context, cfg Config, period time.Duration, restartFrames int) (*Store, error) {
	return open(ctx, cfg, period, restartFrames)
}

// WALFrames is how many pages the SQLite WAL holds now (a passive checkpoint's answer).
func (s *Store) WALFrames(ctx context.Context) (int, error) {
	var busy, frames, copied int
	err := s.pools[1].db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied)
	return frames, err
}

// WriterBusyTimeout is the SQLite writer connection's busy_timeout now, in milliseconds.
func (s *Store) WriterBusyTimeout(ctx context.Context) (int, error) {
	var ms int
	err := s.writer.write.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&ms)
	return ms, err
}

// MigrateFS runs Migrate's goose runner on other migration files (tests of the runner itself).
func (s *Store) MigrateFS(ctx context.Context, fsys fs.FS, target int) ([]string, error) {
	return s.migrateFS(ctx, fsys, target, migratorID(), nil, nil, nil)
}
