package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// sqlitePool is the connection pool of an SQLite store. SQLite lets one connection write at a
// time, so every write goes through one writer connection, in turn: transactions (InTx) and
// statements that are not a SELECT. SELECTs outside a transaction go to a pool of read-only
// connections, which WAL lets run beside the writer.
//
// With a pool of writers instead, each waits for SQLite's write lock in the busy handler, which
// sleeps (1, 2, 5 ... 100 ms) and lets a newcomer take the lock ahead of a writer that has
// waited long: under 16 concurrent creates from two processes p99 was 569 ms and the slowest
// waited 3.2 s. Within a process the turn below queues writers in arrival order and wakes the
// next one as soon as the writer is free; the busy handler remains only for another process
// writing to the same file (`make run` runs two).
//
// Transactions that queue up while the writer is busy are committed together (group commit):
// the writer that gets the turn runs every waiting transaction's function in one SQLite
// transaction, each under a savepoint of its own (one that fails is rolled back alone and gets
// its error), commits once, and wakes them all. A commit writes each changed page to the WAL
// once however many transactions changed it, so a group of 16 checkout creates writes about
// as many pages as two did, and the turn changes hands once per group instead of per request.
type sqlitePool struct {
	write, read *sql.DB
	// turn holds the write token when no writer has it; receivers queue in arrival order.
	turn chan struct{}
	// wait bounds the wait for the turn, as busy_timeout bounds the wait for the file's lock.
	wait time.Duration

	mu      sync.Mutex
	pending []*writeTx // transactions waiting for the writer, oldest first

	commits atomic.Int64 // group transactions begun (tests)
}

var (
	_ gorm.ConnPool         = (*sqlitePool)(nil)
	_ gorm.ConnPoolBeginner = (*sqlitePool)(nil)
	_ gorm.GetDBConnector   = (*sqlitePool)(nil)
)

// maxGroup caps how many transactions one commit carries, so that the first of a long queue
// does not wait for all of it.
const maxGroup = 32

func newSQLitePool(write, read *sql.DB, wait time.Duration) *sqlitePool {
	p := &sqlitePool{write: write, read: read, turn: make(chan struct{}, 1), wait: wait}
	p.turn <- struct{}{}
	return p
}

// errWriterBusy is what a writer gets when the turn did not come within the busy timeout
// (worded like SQLITE_BUSY, which it stands for; translate makes it 503 UNAVAILABLE).
var errWriterBusy = errors.New("database is locked: waited too long for the write connection")

// acquire takes the write turn; release gives it to the next writer.
func (p *sqlitePool) acquire(ctx context.Context) error {
	select {
	case <-p.turn:
		return nil
	default:
	}
	t := time.NewTimer(p.wait)
	defer t.Stop()
	select {
	case <-p.turn:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("%w (%s)", errWriterBusy, p.wait)
	}
}

func (p *sqlitePool) release() { p.turn <- struct{}{} }

// writeTx is a transaction's function waiting for the writer, and then its outcome.
type writeTx struct {
	ctx      context.Context
	fn       func(*sql.Tx) error
	err      error
	panicked any
	done     chan struct{}
}

// runTx runs fn in a write transaction: alone, or together with the transactions that queued
// up meanwhile, whichever writer gets the turn running them all. fn may run on another
// goroutine than the caller's (the caller waits), must not start another write of the store
// (it would wait for itself), and its statements should not be cancelled by ctx: SQLite rolls a
// whole transaction back when a write in it is interrupted, the other members' work with it
// (Store.InTx runs them on a context without cancellation). A panic in fn is raised again in
// the caller.
func (p *sqlitePool) runTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &writeTx{ctx: ctx, fn: fn, done: make(chan struct{})}
	p.mu.Lock()
	p.pending = append(p.pending, w)
	p.mu.Unlock()
	timer := time.NewTimer(p.wait)
	defer timer.Stop()
	for {
		select {
		case <-w.done:
			return w.outcome()
		case <-p.turn:
			p.lead(w)
			p.release()
		case <-ctx.Done():
			if p.withdraw(w) {
				return ctx.Err()
			}
			<-w.done // a writer is running it: its outcome stands
			return w.outcome()
		case <-timer.C:
			if p.withdraw(w) {
				return fmt.Errorf("%w (%s)", errWriterBusy, p.wait)
			}
			<-w.done
			return w.outcome()
		}
	}
}

func (w *writeTx) outcome() error {
	if w.panicked != nil {
		panic(w.panicked)
	}
	return w.err
}

func (w *writeTx) finished() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// withdraw takes w out of the queue if no writer has taken it yet.
func (p *sqlitePool) withdraw(w *writeTx) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, q := range p.pending {
		if q == w {
			p.pending = append(p.pending[:i], p.pending[i+1:]...)
			return true
		}
	}
	return false
}

// lead runs the queued transactions, in groups, until self's has run (holding the turn).
func (p *sqlitePool) lead(self *writeTx) {
	for !self.finished() {
		p.mu.Lock()
		n := min(len(p.pending), maxGroup)
		group := append([]*writeTx(nil), p.pending[:n]...)
		p.pending = p.pending[n:]
		p.mu.Unlock()
		if n == 0 {
			return // another leader ran it; its done is about to close
		}
		p.commitGroup(group)
	}
}

// commitGroup runs each member's function in one transaction, each under a savepoint when
// there are several, and commits what succeeded. If the transaction itself fails (begin,
// a savepoint, the commit), every member that had succeeded gets that error: nothing of the
// group was written.
func (p *sqlitePool) commitGroup(group []*writeTx) {
	defer func() {
		for _, w := range group {
			close(w.done)
		}
	}()
	p.commits.Add(1)
	bg := context.Background()
	// The group keeps the writer's connection from before its BEGIN to after its end: River
	// runs its own transactions on the same *sql.DB, and one must never get the connection
	// while its busy_timeout is 0 for the BEGIN below (River's fetch or completion would fail
	// with SQLITE_BUSY at once when another process writes).
	conn, err := p.write.Conn(bg)
	if err != nil {
		for _, w := range group {
			w.err = err
		}
		return
	}
	defer conn.Close()
	tx, err := p.begin(bg, conn)
	if err != nil {
		for _, w := range group {
			w.err = err
		}
		return
	}
	succeeded, broken := runMembers(bg, tx, group)
	if broken != nil || succeeded == 0 {
		_ = tx.Rollback()
		if broken != nil {
			for _, w := range group {
				if w.err == nil && w.panicked == nil {
					w.err = fmt.Errorf("write transaction rolled back: %w", broken)
				}
			}
		}
		return
	}
	if err := tx.Commit(); err != nil {
		for _, w := range group {
			if w.err == nil && w.panicked == nil {
				w.err = err
			}
		}
	}
}

// runMembers runs each member's function on tx, under a savepoint of its own when there are
// several, and reports how many succeeded, and the error that broke the transaction itself (a
// savepoint that could not be taken, rolled back or released), after which no member runs.
func runMembers(bg context.Context, tx *sql.Tx, group []*writeTx) (succeeded int, broken error) {
	several := len(group) > 1
	for _, w := range group {
		if broken != nil {
			w.err = broken
			continue
		}
		if err := w.ctx.Err(); err != nil {
			w.err = err
			continue
		}
		if several {
			if _, err := tx.ExecContext(bg, `SAVEPOINT paygate_group`); err != nil {
				broken = err
				w.err = err
				continue
			}
		}
		w.panicked, w.err = call(w.fn, tx)
		ok := w.err == nil && w.panicked == nil
		if several {
			// A statement that failed badly enough (disk full, I/O error) makes SQLite roll the
			// whole transaction back: the savepoint is gone then, and so is everything before.
			if !ok {
				if _, err := tx.ExecContext(bg, `ROLLBACK TO paygate_group`); err != nil {
					broken = err
				}
			}
			if _, err := tx.ExecContext(bg, `RELEASE paygate_group`); err != nil && broken == nil {
				broken = err
			}
		}
		if ok {
			succeeded++
		}
	}
	return succeeded, broken
}

// begin starts the group's IMMEDIATE transaction, waiting for another process's writer by
// polling every millisecond or so rather than in SQLite's busy handler, whose sleeps grow to
// 5, 10, 15, 20, 25 ms and more: a 3 ms transaction of the other process cost a waiting group
// 8 ms, a 20 ms checkpoint 33 ms. The writer's busy_timeout is set to 0 for the BEGIN and back
// to sqliteBusyTimeout once the transaction holds the lock (nothing in it waits for locks).
func (p *sqlitePool) begin(ctx context.Context, conn *sql.Conn) (*sql.Tx, error) {
	restore := fmt.Sprintf(`PRAGMA busy_timeout = %d`, p.wait.Milliseconds())
	if _, err := conn.ExecContext(ctx, `PRAGMA busy_timeout = 0`); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(p.wait)
	start := time.Now()
	for {
		tx, err := conn.BeginTx(ctx, nil)
		if err == nil {
			if _, err := tx.ExecContext(ctx, restore); err != nil {
				_ = tx.Rollback()
				return nil, err
			}
			return tx, nil
		}
		if !isBusy(err) || time.Now().After(deadline) {
			_, _ = conn.ExecContext(ctx, restore)
			return nil, err
		}
		// The other process's writer usually commits within a few milliseconds and may begin
		// again at once: poll often at first so as not to miss the gap.
		pause := 50 * time.Microsecond
		if waited := time.Since(start); waited > 20*time.Millisecond {
			pause = time.Millisecond
		} else if waited > 5*time.Millisecond {
			pause = 200 * time.Microsecond
		}
		time.Sleep(pause)
	}
}

// isBusy reports whether err is SQLITE_BUSY (another connection holds the lock).
func isBusy(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

// call runs fn, turning a panic into a value to raise again in the caller.
func call(fn func(*sql.Tx) error, tx *sql.Tx) (panicked any, err error) {
	defer func() {
		if r := recover(); r != nil {
			panicked = r
		}
	}()
	return nil, fn(tx)
}

// isRead reports whether a statement only reads: a SELECT (anything else, including WITH,
// which may prefix a write, goes to the writer). The read connections are query_only, so a
// write sent there fails rather than running outside the writer's turn.
func isRead(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	return len(q) >= 6 && strings.EqualFold(q[:6], "select")
}

func (p *sqlitePool) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	if isRead(query) {
		return p.read.PrepareContext(ctx, query)
	}
	return p.write.PrepareContext(ctx, query)
}

func (p *sqlitePool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := p.acquire(ctx); err != nil {
		return nil, err
	}
	defer p.release()
	return p.write.ExecContext(ctx, query, args...)
}

// QueryContext runs a SELECT on a read connection, anything else (INSERT ... RETURNING) on the
// writer. The turn is given back when the statement has run; the rows keep the connection
// until they are closed, and the next writer waits for it in database/sql, alone.
func (p *sqlitePool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if isRead(query) {
		return p.read.QueryContext(ctx, query, args...) //nolint:sqlclosecheck // the caller (GORM) closes the rows
	}
	if err := p.acquire(ctx); err != nil {
		return nil, err
	}
	defer p.release()
	return p.write.QueryContext(ctx, query, args...) //nolint:sqlclosecheck // the caller (GORM) closes the rows
}

func (p *sqlitePool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if isRead(query) {
		return p.read.QueryRowContext(ctx, query, args...)
	}
	if err := p.acquire(ctx); err != nil {
		// A *sql.Row cannot be made with an error from outside database/sql: ask a cancelled
		// context for it, which fails at once with this error as its cause.
		cctx, cancel := context.WithCancelCause(ctx)
		cancel(err)
		return p.write.QueryRowContext(cctx, query, args...)
	}
	defer p.release()
	return p.write.QueryRowContext(ctx, query, args...)
}

// BeginTx serves transactions GORM starts itself (Store.InTx uses runTx): a read-only one is a
// DEFERRED transaction on a read connection; any other is an IMMEDIATE one on the writer,
// holding the turn until it commits or rolls back.
func (p *sqlitePool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	if opts != nil && opts.ReadOnly {
		tx, err := p.read.BeginTx(ctx, opts)
		if err != nil {
			return nil, err
		}
		return &sqliteTx{Tx: tx}, nil
	}
	if err := p.acquire(ctx); err != nil {
		return nil, err
	}
	tx, err := p.write.BeginTx(ctx, opts)
	if err != nil {
		p.release()
		return nil, err
	}
	return &sqliteTx{Tx: tx, release: p.release}, nil
}

// GetDBConn is the writer (GORM's DB() and callers that need a *sql.DB that writes); the store
// pings and closes its pools itself.
func (p *sqlitePool) GetDBConn() (*sql.DB, error) { return p.write, nil }

// sqliteTx is a transaction that gives the write turn back when it ends.
type sqliteTx struct {
	*sql.Tx
	release func()
	once    sync.Once
}

func (t *sqliteTx) done() {
	if t.release != nil {
		t.once.Do(t.release)
	}
}

func (t *sqliteTx) Commit() error {
	defer t.done()
	return t.Tx.Commit()
}

func (t *sqliteTx) Rollback() error {
	defer t.done()
	return t.Tx.Rollback()
}

// sqliteCheckpointEvery is how often a store copies the WAL back into the database file, and
// sqliteRestartFrames how long the WAL may grow (in pages of 4 KiB) before the store makes the
// next write start it over.
const (
	sqliteCheckpointEvery = time.Second
	sqliteRestartFrames   = 8192
)

// checkpointer copies committed pages from the WAL into the database file in the background,
// on a connection of its own.
//
// SQLite's automatic checkpoint (every 1000 WAL pages) runs inside the commit that crosses
// the threshold, while that connection holds the write lock, and everyone queued behind it
// waits. The writer connection turns it off (wal_autocheckpoint(0)); this runs
// wal_checkpoint(PASSIVE) once a second instead, which copies what it can and waits for no one.
//
// Passive checkpoints alone never let the WAL start over while writes keep coming (a write
// starts it over only if, when it begins, every page in the WAL has been copied): under a
// steady load it grew by 30 KiB per checkout, 240 MiB in 8000. So once the WAL is longer than
// sqliteRestartFrames, the checkpointer takes the writer's turn (this process's writes wait),
// runs wal_checkpoint(FULL), which waits for older readers and another process's writer and
// copies the rest, and gives the turn back: the next write starts the WAL over. The pause
// measured 10 to 60 ms, about once a second under 16 concurrent creates (the WAL stayed under
// 60 MiB over 20000 creates). Another process's checkpointer running at the same moment makes
// this one's return early (SQLITE_BUSY), which is fine: the work is done once either way. When
// the last connection to the file closes, SQLite checkpoints what is left and removes the WAL.
type checkpointer struct {
	db            *sql.DB
	writer        *sqlitePool
	restartFrames int
	stop          chan struct{}
	done          chan struct{}
	once          sync.Once
}

func startCheckpointer(db *sql.DB, writer *sqlitePool, every time.Duration, restartFrames int, log interface {
	Warn(msg string, args ...any)
}) *checkpointer {
	c := &checkpointer{db: db, writer: writer, restartFrames: restartFrames, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		t := time.NewTicker(every)
		defer t.Stop()
		failures := 0
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
			}
			if err := c.checkpoint(); err != nil {
				failures++
				if failures == 1 || failures%60 == 0 {
					log.Warn("SQLite WAL checkpoint failed", "error", err, "failures", failures)
				}
				continue
			}
			failures = 0
		}
	}()
	return c
}

// checkpoint runs a passive checkpoint and, when the WAL has grown long, a full one in the
// writer's turn.
func (c *checkpointer) checkpoint() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var busy, frames, copied int
	if err := c.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err != nil {
		return err
	}
	if frames < c.restartFrames {
		return nil
	}
	if err := c.writer.acquire(ctx); err != nil {
		return err
	}
	defer c.writer.release()
	// The checkpoint connection does not wait in SQLite's busy handler (busy_timeout 0): it
	// polls, for up to half a second, then leaves it to the next round.
	deadline := time.Now().Add(500 * time.Millisecond)
	for {
		err := c.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(FULL)`).Scan(&busy, &frames, &copied)
		if (err == nil && busy == 0) || (err != nil && !isBusy(err)) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(500 * time.Microsecond)
	}
}

// halt stops the checkpoints and waits for one that is running (the store closes the connection).
func (c *checkpointer) halt() {
	c.once.Do(func() { close(c.stop) })
	<-c.done
}

// sqliteOptimizeEvery is how often the store refreshes SQLite's planner statistics.
const sqliteOptimizeEvery = time.Hour

// sqliteOptimizeFirst is how long after the store opens the first refresh runs.
const sqliteOptimizeFirst = time.Minute

// optimizer keeps SQLite's planner statistics (sqlite_stat1) current: SQLite never gathers
// them by itself, and without them it ignored the external-reference index (a full scan, 1.2 s
// at 200,000 checkouts). Migration 0013 runs ANALYZE once; this runs `PRAGMA optimize` (which
// re-analyses the tables whose size changed enough to matter, with a bounded effort) a minute
// after the store opens and every period after, through the writer like any write. Not at
// once: a process opening its store beside another process's long write would hold its own
// writer waiting on that lock for the busy timeout, and its first requests behind it.
type optimizer struct {
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

func startOptimizer(s *Store, every time.Duration, log interface {
	Warn(msg string, args ...any)
}) *optimizer {
	o := &optimizer{stop: make(chan struct{}), done: make(chan struct{})}
	run := func(pragma string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.q(ctx).Exec(pragma).Error; err != nil {
			log.Warn("SQLite statistics not refreshed", "error", err)
		}
	}
	go func() {
		defer close(o.done)
		select {
		case <-o.stop:
			return
		case <-time.After(sqliteOptimizeFirst):
		}
		// 0x10002: also the tables never analysed, with the analysis limit SQLite advises for
		// a connection that stays open.
		run(`PRAGMA optimize=0x10002`)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-o.stop:
				return
			case <-t.C:
				run(`PRAGMA optimize`)
			}
		}
	}()
	return o
}

func (o *optimizer) halt() {
	o.once.Do(func() { close(o.stop) })
	<-o.done
}
