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
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"paygate.dev/pkg/domain"
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
	URL        string
	SQLitePath string
	// Pool sizes the connection pool; the zero Pool is DefaultPool of the dialect.
	Pool   Pool
	Logger *slog.Logger
	// SlowQuery logs statements slower than this (0: 500ms).
	SlowQuery time.Duration
}

// Pool sizes and recycles a store's connections (DB_MAX_CONNS, DB_MAX_IDLE_CONNS,
// DB_CONN_MAX_LIFETIME, DB_CONN_MAX_IDLE_TIME).
//
// On PostgreSQL it is this process's pool: every process holds up to MaxConns of the server's
// max_connections. On SQLite it is the pool of read connections; writes go through one more
// connection of their own (SQLite lets one connection write at a time; see sqlitePool).
type Pool struct {
	// MaxConns is the most connections open at once (0: the dialect's default).
	MaxConns int
	// MaxIdleConns is how many stay open while idle (0: MaxConns).
	MaxIdleConns int
	// ConnMaxLifetime closes a connection this long after it was opened (0: never).
	ConnMaxLifetime time.Duration
	// ConnMaxIdleTime closes a connection that has been idle this long (0: never).
	ConnMaxIdleTime time.Duration
}

// DefaultPool is the pool a dialect gets when none is configured. PostgreSQL: 20 connections,
// recycled after 30 minutes (so that a fail-over or a pooler's rebalancing reaches every
// process) or 5 idle minutes. SQLite: 8 read connections and the writer, kept open.
func DefaultPool(d Dialect) Pool {
	if d == SQLite {
		return Pool{MaxConns: 8, MaxIdleConns: 8}
	}
	return Pool{MaxConns: 20, MaxIdleConns: 20, ConnMaxLifetime: 30 * time.Minute, ConnMaxIdleTime: 5 * time.Minute}
}

func (p Pool) resolve(d Dialect) Pool {
	if p == (Pool{}) {
		return DefaultPool(d)
	}
	if p.MaxConns <= 0 {
		p.MaxConns = DefaultPool(d).MaxConns
	}
	if p.MaxIdleConns <= 0 || p.MaxIdleConns > p.MaxConns {
		p.MaxIdleConns = p.MaxConns
	}
	return p
}

func (p Pool) apply(db *sql.DB) {
	db.SetMaxOpenConns(p.MaxConns)
	db.SetMaxIdleConns(p.MaxIdleConns)
	db.SetConnMaxLifetime(p.ConnMaxLifetime)
	db.SetConnMaxIdleTime(p.ConnMaxIdleTime)
}

// sqliteBusyTimeout is how long an SQLite writer waits for the write lock (busy_timeout, held
// by another process) or for its turn on the writer (held by this one) before failing.
const sqliteBusyTimeout = 15 * time.Second

// Store is the database. Its methods are safe for concurrent use; InTx gives a Store bound to
// one database transaction.
type Store struct {
	db      *gorm.DB
	dialect Dialect
	dsn     string
	inTx    bool
	log     *slog.Logger
	// pools are the connection pools: PostgreSQL's, or SQLite's writer, checkpointer and
	// read pool (in that order; the last one answers Ping).
	pools []namedPool
	// checkpoints copies SQLite's WAL into the database file in the background.
	checkpoints *checkpointer
	// statistics keeps SQLite's planner statistics current (nil on PostgreSQL, whose
	// autovacuum does).
	statistics *optimizer
	// writer runs SQLite's write transactions (nil on PostgreSQL).
	writer *sqlitePool
	// detached: the statements of this SQLite transaction ignore cancellation (see InTx).
	detached bool
	// trigrams knows which trigrams of the search texts are common (PostgreSQL; search.go).
	trigrams *trigramStats
}

type namedPool struct {
	name string
	db   *sql.DB
}

// Now is the store's clock: UTC, microsecond precision (what PostgreSQL keeps).
func Now() time.Time { return domain.Now() }

// UTC normalises a time for writing or comparing: UTC, microsecond precision.
func UTC(t time.Time) time.Time { return domain.UTC(t) }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := UTC(*t)
	return &u
}

// Open connects to the database named by cfg. It does not migrate; see Migrate and CheckSchema.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	return open(ctx, cfg, sqliteCheckpointEvery, sqliteRestartFrames)
}

// open is Open with the SQLite checkpointer's period and WAL length (tests shorten them).
func open(ctx context.Context, cfg Config, checkpointEvery time.Duration, restartFrames int) (*Store, error) {
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
	pool := cfg.Pool.resolve(dialect)
	var dial gorm.Dialector
	var pools []namedPool
	var writer *sqlitePool
	closeAll := func() {
		for _, p := range pools {
			_ = p.db.Close()
		}
	}
	if dialect == Postgres {
		dial = postgres.New(postgres.Config{DSN: dsn})
	} else {
		if pools, writer, err = openSQLite(dsn, pool); err != nil {
			return nil, err
		}
		dial = &sqlite.Dialector{DSN: dsn, Conn: writer}
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ping := func() error {
		for _, p := range pools { // the SQLite writer first: it puts a new file in WAL mode
			if err := p.db.PingContext(pingCtx); err != nil {
				closeAll()
				return fmt.Errorf("connect to %s database: %w", dialect, redactErr(err, dsn))
			}
		}
		return nil
	}
	if err := ping(); err != nil {
		return nil, err
	}
	db, err := gorm.Open(dial, gcfg)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("open %s database: %w", dialect, redactErr(err, dsn))
	}
	if dialect == Postgres {
		pg, err := db.DB()
		if err != nil {
			return nil, fmt.Errorf("open %s database: %w", dialect, err)
		}
		pool.apply(pg)
		pools = []namedPool{{"postgres", pg}}
		if err := ping(); err != nil {
			return nil, err
		}
	}
	st := &Store{db: db, dialect: dialect, dsn: dsn, log: log, pools: pools, writer: writer, trigrams: &trigramStats{}}
	if dialect == SQLite {
		st.checkpoints = startCheckpointer(pools[1].db, writer, checkpointEvery, restartFrames, log)
		st.statistics = startOptimizer(st, sqliteOptimizeEvery, log)
	}
	return st, nil
}

// openSQLite opens an SQLite file's three pools: the one writer (behind the store's turn and
// group commit), the checkpointer's connection, and the read pool that pool sizes.
func openSQLite(dsn string, pool Pool) ([]namedPool, *sqlitePool, error) {
	write, err := sql.Open(sqlite.DriverName, dsn+"&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit(67108864)&_pragma=temp_store(MEMORY)&_txlock=immediate")
	if err != nil {
		return nil, nil, fmt.Errorf("open %s database: %w", SQLite, err)
	}
	// One writer, kept open: it sets WAL mode on a new file before any reader opens. Its
	// savepoint and statement journals stay in memory (temp_store), it never checkpoints
	// in a commit (wal_autocheckpoint(0): the checkpointer does), and a WAL that grew past
	// 64 MiB is cut back when it starts over (journal_size_limit).
	Pool{MaxConns: 1, MaxIdleConns: 1}.apply(write)
	read, err := sql.Open(sqlite.DriverName, dsn+"&_pragma=query_only(1)&_txlock=deferred")
	if err != nil {
		_ = write.Close()
		return nil, nil, fmt.Errorf("open %s database: %w", SQLite, err)
	}
	pool.apply(read)
	ckpt, err := sql.Open(sqlite.DriverName, dsn+"&_pragma=busy_timeout(0)")
	if err != nil {
		_ = write.Close()
		_ = read.Close()
		return nil, nil, fmt.Errorf("open %s database: %w", SQLite, err)
	}
	Pool{MaxConns: 1, MaxIdleConns: 1}.apply(ckpt)
	pools := []namedPool{{"sqlite_write", write}, {"sqlite_checkpoint", ckpt}, {"sqlite_read", read}}
	return pools, newSQLitePool(write, read, sqliteBusyTimeout), nil
}

// PoolStats reports each connection pool by name: "postgres", or on SQLite "sqlite_read" (the
// read pool that Pool sizes) and "sqlite_write" (the one writer).
func (s *Store) PoolStats() map[string]sql.DBStats {
	out := make(map[string]sql.DBStats, len(s.pools))
	for _, p := range s.pools {
		out[p.name] = p.db.Stats()
	}
	return out
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
		// Open adds _txlock: immediate for the writer, deferred (and query_only) for readers.
		// No _time_format: the driver stops reading options after it (and its default is the
		// same format).
		dsn := "file:" + path + "?_pragma=journal_mode(WAL)" + fmt.Sprintf("&_pragma=busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()) +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
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

// Close closes the connection pools.
func (s *Store) Close() error {
	var errs []error
	if s.checkpoints != nil {
		s.checkpoints.halt()
	}
	if s.statistics != nil {
		s.statistics.halt()
	}
	for _, p := range s.pools {
		errs = append(errs, p.db.Close())
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers (on SQLite, a read connection: the writer may be busy
// with a transaction, which says nothing about the database's health).
func (s *Store) Ping(ctx context.Context) error {
	return s.pools[len(s.pools)-1].db.PingContext(ctx)
}

// InTx runs fn in one database transaction: everything fn writes commits together or not at all.
// A call inside a transaction joins it (no savepoint: a failure anywhere fails the whole).
//
// On SQLite, fn may run on another goroutine (see sqlitePool: transactions that wait for the
// writer together commit together), and the transaction's statements are not interrupted when
// ctx is cancelled (SQLite would roll back the whole group's transaction); a cancelled ctx
// stops fn from running if it has not started yet.
func (s *Store) InTx(ctx context.Context, fn func(tx *Store) error) error {
	if s.inTx {
		return fn(s)
	}
	countStatements(ctx, 2) // BEGIN, and COMMIT or ROLLBACK
	if s.writer != nil {
		return s.writer.runTx(ctx, func(tx *sql.Tx) error {
			gtx := s.db.Session(&gorm.Session{Context: context.WithoutCancel(ctx), NewDB: true})
			gtx.Statement.ConnPool = tx // as gorm's Begin does
			return fn(&Store{db: gtx, dialect: s.dialect, dsn: s.dsn, inTx: true, log: s.log, pools: s.pools, detached: true, trigrams: s.trigrams})
		})
	}
	return s.db.WithContext(ctx).Transaction(func(gtx *gorm.DB) error {
		return fn(&Store{db: gtx, dialect: s.dialect, dsn: s.dsn, inTx: true, log: s.log, pools: s.pools, trigrams: s.trigrams})
	})
}

func (s *Store) q(ctx context.Context) *gorm.DB {
	if s.detached {
		ctx = context.WithoutCancel(ctx)
	}
	return s.db.WithContext(ctx)
}

type statementCounterKey struct{}

// CountStatements returns a context under which the store counts the statements it sends to
// the database on that context (BEGIN and COMMIT of a transaction as two), and a function that
// reads the count: tests hold a use case to its number of round trips.
func CountStatements(ctx context.Context) (context.Context, func() int64) {
	n := new(atomic.Int64)
	return context.WithValue(ctx, statementCounterKey{}, n), n.Load
}

func countStatements(ctx context.Context, n int64) {
	if c, ok := ctx.Value(statementCounterKey{}).(*atomic.Int64); ok {
		c.Add(n)
	}
}

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
	countStatements(ctx, 1)
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
