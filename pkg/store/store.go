// Package store keeps the platform's state in PostgreSQL (production) or an embedded SQLite file
// (development and `make run`), through GORM.
//
// GORM stays inside this package: callers get domain structs and *domain.Error values, never
// gorm.ErrRecordNotFound or driver errors. Unique-constraint violations become domain conflicts,
// named by constraint. Every tenant-owned query is scoped by organisation id. Times are written
// in UTC, truncated to microseconds, so both databases compare and round-trip them alike.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names the database behind a store.
type Dialect string

// Dialects.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Config says which database to open.
type Config struct {
	// URL is a postgres:// URL, or sqlite:<path>. Empty means SQLite at SQLitePath.
	URL          string
	SQLitePath   string
	MaxOpenConns int
	Logger       *slog.Logger
	// SlowQuery logs statements slower than this (0: 500ms).
	SlowQuery time.Duration
}

// Store is the database. Its methods are safe for concurrent use; InTx gives a Store bound to
// one database transaction.
type Store struct {
	db      *gorm.DB
	dialect Dialect
	dsn     string
	inTx    bool
}

// Now is the store's clock: UTC, microsecond precision (what PostgreSQL keeps).
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// UTC normalises a time for writing or comparing: UTC, microsecond precision.
func UTC(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := UTC(*t)
	return &u
}

// Open connects to the database named by cfg. It does not migrate; see Migrate and CheckSchema.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	dialect, dsn, err := resolve(cfg)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	slow := cfg.SlowQuery
	if slow == 0 {
		slow = 500 * time.Millisecond
	}
	gcfg := &gorm.Config{
		NowFunc:                Now,
		Logger:                 &gormLogger{log: log, slow: slow},
		SkipDefaultTransaction: true,  // we open transactions ourselves where they matter
		PrepareStmt:            false, // pgx caches prepared statements per connection already; GORM's layer re-prepares inside transactions
		TranslateError:         false,
	}
	var dial gorm.Dialector
	if dialect == Postgres {
		dial = postgres.New(postgres.Config{DSN: dsn})
	} else {
		dial = sqlite.Open(dsn)
	}
	db, err := gorm.Open(dial, gcfg)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, redactErr(err, dsn))
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	maxOpen := cfg.MaxOpenConns
	if maxOpen == 0 {
		maxOpen = 20
	}
	sqlDB.SetMaxOpenConns(maxOpen)
	sqlDB.SetMaxIdleConns(maxOpen)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("connect to %s database: %w", dialect, redactErr(err, dsn))
	}
	return &Store{db: db, dialect: dialect, dsn: dsn}, nil
}

// resolve turns the configuration into a dialect and a driver DSN.
func resolve(cfg Config) (Dialect, string, error) {
	u := strings.TrimSpace(cfg.URL)
	switch {
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		pu, err := url.Parse(u)
		if err != nil {
			return "", "", errors.New("DATABASE_URL is not a valid URL")
		}
		q := pu.Query()
		if q.Get("timezone") == "" {
			q.Set("timezone", "UTC")
		}
		pu.RawQuery = q.Encode()
		return Postgres, pu.String(), nil
	case u == "" || strings.HasPrefix(u, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "//")
		if path == "" {
			path = cfg.SQLitePath
		}
		if path == "" {
			return "", "", errors.New("no database: set DATABASE_URL or a SQLite path")
		}
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return "", "", fmt.Errorf("create database directory: %w", err)
			}
		}
		// WAL lets readers run beside the writer; IMMEDIATE transactions take the write lock
		// up front so two writers queue on busy_timeout instead of failing with SQLITE_BUSY.
		dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(15000)&_pragma=foreign_keys(1)" +
			"&_pragma=synchronous(NORMAL)&_txlock=immediate" // no _time_format: the driver stops reading options after it (and its default is the same format)
		return SQLite, dsn, nil
	}
	return "", "", errors.New("DATABASE_URL must start with postgres://, postgresql:// or sqlite:")
}

// redactErr keeps a password in the DSN out of error messages.
func redactErr(err error, dsn string) error {
	if pu, perr := url.Parse(dsn); perr == nil && pu.User != nil {
		if pw, ok := pu.User.Password(); ok && pw != "" {
			return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
		}
	}
	return err
}

// Dialect tells which database this is.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close closes the connection pool.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// InTx runs fn in one database transaction: everything fn writes commits together or not at all.
// A call inside a transaction joins it (no savepoint: a failure anywhere fails the whole).
func (s *Store) InTx(ctx context.Context, fn func(tx *Store) error) error {
	if s.inTx {
		return fn(s)
	}
	return s.db.WithContext(ctx).Transaction(func(gtx *gorm.DB) error {
		return fn(&Store{db: gtx, dialect: s.dialect, dsn: s.dsn, inTx: true})
	})
}

func (s *Store) q(ctx context.Context) *gorm.DB { return s.db.WithContext(ctx) }

// gormLogger sends slow statements and unexpected errors to slog, without arguments
// (they may carry personal data or secrets).
type gormLogger struct {
	log  *slog.Logger
	slow time.Duration
}

func (l *gormLogger) LogMode(logger.LogLevel) logger.Interface { return l }
func (l *gormLogger) Info(context.Context, string, ...any)     {}
func (l *gormLogger) Warn(ctx context.Context, msg string, args ...any) {
	l.log.WarnContext(ctx, "database warning", "detail", fmt.Sprintf(msg, args...))
}
func (l *gormLogger) Error(ctx context.Context, msg string, args ...any) {
	l.log.ErrorContext(ctx, "database error", "detail", fmt.Sprintf(msg, args...))
}
func (l *gormLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	if elapsed < l.slow {
		return
	}
	sql, rows := fc()
	if i := strings.IndexAny(sql, "\n"); i > 0 {
		sql = sql[:i]
	}
	if len(sql) > 300 {
		sql = sql[:300]
	}
	l.log.WarnContext(ctx, "slow query", "elapsed_ms", elapsed.Milliseconds(), "rows", rows, "sql", sql)
}

// ExecAdmin runs an administrative statement outside any transaction (CREATE DATABASE in tests
// and tooling). Never pass it user input.
func (s *Store) ExecAdmin(ctx context.Context, stmt string) error {
	return s.q(ctx).Exec(stmt).Error
}

// URL returns the PostgreSQL connection URL the store was opened with (tooling such as pgbench).
func (s *Store) URL() (string, error) {
	if s.dialect != Postgres {
		return "", errors.New("not a PostgreSQL store")
	}
	return s.dsn, nil
}
