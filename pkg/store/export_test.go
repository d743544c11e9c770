package store

import "context"

// SleepRead holds a connection of the read pool (on PostgreSQL, of the pool) with an open
// SELECT until release is closed: tests of the pool settings.
func (s *Store) SleepRead(ctx context.Context, release <-chan struct{}) error {
	rows, err := s.q(ctx).Raw(`SELECT 1`).Rows()
	if err != nil {
		return err
	}
	<-release
	return rows.Close()
}

// WriterGroups is how many group transactions the SQLite writer has begun, and how many
// transactions wait for it now.
func (s *Store) WriterGroups() (begun int64, waiting int) {
	s.writer.mu.Lock()
	defer s.writer.mu.Unlock()
	return s.writer.commits.Load(), len(s.writer.pending)
}
