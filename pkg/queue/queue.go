package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/metrics"
	"paygate.dev/pkg/store"
)

// Queue names. Each queue has its own workers, so a backlog in one never delays another.
const (
	IPN         = "ipn"         // merchant notifications (one job per transaction at a time)
	Events      = "events"      // provider webhook events being applied
	Duda        = "duda"        // calls to Duda (confirmations, gateway registration)
	Providers   = "providers"   // calls to payment providers (GoCardless cancellations)
	Maintenance = "maintenance" // checkout expiry, refund resumption, pruning
	Reconcile   = "reconcile"   // asking providers about attempts still open
	Email       = "email"       // e-mail the admin backend could not send at once
	Documents   = "documents"   // invoice and credit note PDFs rendered and stored after issue
)

// Concurrency is each queue's default number of workers in one process. The ipn queue's is
// WORKER_CONCURRENCY (config.MainBackend.WorkerCount).
var Concurrency = map[string]int{
	IPN:         4,
	Events:      4,
	Duda:        2,
	Providers:   2,
	Maintenance: 3,
	Reconcile:   2,
	Email:       2,
	Documents:   2,
}

// Config configures a Client.
type Config struct {
	Store   *store.Store
	Log     *slog.Logger
	Metrics *metrics.Registry
	// ID names the client in River's tables (default: host-pid-random). Two live clients must
	// never share an ID.
	ID string
	// Queues to work and their concurrency; none makes an insert-only client.
	Queues map[string]int
	// Workers holds every kind this process can work (river.AddWorker).
	Workers *river.Workers
	// Periodic tasks, inserted by the leader.
	Periodic *Periodic
	// NotLeader keeps the client out of leader election and fetches only the kinds it has
	// workers for: for processes that register only some kinds (the admin backend's e-mail).
	NotLeader bool
	// PollInterval is how often each queue looks for due jobs when no notification woke it
	// (default 1s; on SQLite and PostgreSQL alike an insert wakes the workers within ~50 ms).
	PollInterval time.Duration
	// PollOnly works without notifications (PollInterval alone).
	PollOnly bool
	// RescueAfter is when the leader gives a running job whose worker died back to the queue
	// (at the earliest; never before the kind's timeout; default 1 min).
	RescueAfter time.Duration
	// Test starts the client without River's production start-up jitter.
	Test bool
}

// Client is one process's River client.
type Client struct {
	river   *river.Client[*sql.Tx]
	store   *store.Store
	log     *slog.Logger
	id      string
	listen  *pgxpool.Pool
	working bool

	stopOnce sync.Once
}

// New builds a client on cfg.Store's database (River's schema must be current: Migrate).
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Store == nil {
		return nil, errors.New("queue: no store")
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	id := cfg.ID
	if id == "" {
		host, _ := os.Hostname()
		id = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), domain.RandomString(6))
	}
	c := &Client{store: cfg.Store, log: log, id: id, working: len(cfg.Queues) > 0}
	driver, err := c.driver(ctx, cfg)
	if err != nil {
		return nil, err
	}
	poll := cfg.PollInterval
	if poll <= 0 {
		poll = time.Second
	}
	rescue := cfg.RescueAfter
	if rescue <= 0 {
		rescue = time.Minute
	}
	rcfg := &river.Config{
		ID:                          id,
		Logger:                      riverLogger(log),
		FetchPollInterval:           poll,
		FetchCooldown:               min(poll, 50*time.Millisecond),
		PollOnly:                    cfg.PollOnly,
		JobTimeout:                  time.Minute,
		RescueStuckJobsAfter:        max(rescue, time.Minute),
		CompletedJobRetentionPeriod: 24 * time.Hour,
		DiscardedJobRetentionPeriod: 30 * 24 * time.Hour,
		CancelledJobRetentionPeriod: 30 * 24 * time.Hour,
		MaxAttempts:                 25,
		Workers:                     cfg.Workers,
		Middleware:                  []rivertype.Middleware{&middleware{metrics: cfg.Metrics}},
		ErrorHandler:                &errorHandler{log: log},
		LeaderElectionDisabled:      cfg.NotLeader,
		FetchOnlyKnownKinds:         cfg.NotLeader,
		TestOnly:                    cfg.Test,
	}
	if cfg.RescueAfter > 0 && cfg.RescueAfter < time.Minute {
		rcfg.RescueStuckJobsAfter, rcfg.JobTimeout = cfg.RescueAfter, cfg.RescueAfter
	}
	if c.working {
		rcfg.Queues = map[string]river.QueueConfig{}
		for q, n := range cfg.Queues {
			rcfg.Queues[q] = river.QueueConfig{MaxWorkers: max(n, 1)}
		}
	}
	if cfg.Periodic != nil && !cfg.NotLeader {
		if rcfg.Workers == nil {
			rcfg.Workers = river.NewWorkers()
		}
		if err := cfg.Periodic.register(rcfg.Workers); err != nil {
			return nil, err
		}
		rcfg.PeriodicJobs = cfg.Periodic.jobs()
	}
	rc, err := river.NewClient(driver, rcfg)
	if err != nil {
		c.closeListener()
		return nil, fmt.Errorf("queue: %w", err)
	}
	c.river = rc
	registerGauges(cfg.Metrics, c)
	return c, nil
}

// driver is River's driver on the store's pool: riversqlite on SQLite; on PostgreSQL
// riverdatabasesql, with a small pgx pool of its own for LISTEN when the client works queues
// and is woken by notifications.
func (c *Client) driver(ctx context.Context, cfg Config) (riverdriver.Driver[*sql.Tx], error) {
	db, err := cfg.Store.SQLDB()
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.Store.Dialect() == store.SQLite:
		return riversqlite.New(db), nil
	case c.working && !cfg.PollOnly:
		url, err := cfg.Store.URL()
		if err != nil {
			return nil, err
		}
		pcfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			return nil, fmt.Errorf("queue: listener pool: %w", err)
		}
		pcfg.MaxConns, pcfg.MinConns = 2, 0
		if c.listen, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
			return nil, fmt.Errorf("queue: listener pool: %w", err)
		}
		return riverdatabasesql.NewWithPgxListener(db, c.listen), nil
	default:
		return riverdatabasesql.New(db), nil
	}
}

// ID is the client's id in River's tables (river_leader names the leader by it).
func (c *Client) ID() string { return c.id }

// River is the underlying River client (tests, and operator tooling).
func (c *Client) River() *river.Client[*sql.Tx] { return c.river }

// Start begins working the configured queues (and, on the leader, periodic and maintenance work).
func (c *Client) Start(ctx context.Context) error {
	if !c.working {
		return nil
	}
	if err := c.river.Start(ctx); err != nil {
		return fmt.Errorf("queue: start: %w", err)
	}
	c.log.InfoContext(ctx, "job queue started", "client", c.id)
	return nil
}

// Stop stops fetching and lets running jobs finish until ctx ends; then it cancels them (they
// are put back to run again at once) and waits a little more for them to record that.
func (c *Client) Stop(ctx context.Context) error {
	var err error
	c.stopOnce.Do(func() {
		defer c.closeListener()
		if !c.working {
			return
		}
		err = c.river.Stop(ctx)
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			c.log.Warn("cancelling running jobs at shutdown", "client", c.id)
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err = c.river.StopAndCancel(cctx)
			cancel()
		}
		if err == nil {
			c.log.Info("job queue stopped", "client", c.id)
		}
	})
	return err
}

func (c *Client) closeListener() {
	if c.listen != nil {
		c.listen.Close()
		c.listen = nil
	}
}

// IsLeader reports whether this client is River's elected leader now (it reads river_leader).
func (c *Client) IsLeader(ctx context.Context) bool {
	id, err := c.store.RiverLeader(ctx)
	return err == nil && id == c.id
}

// Tx is where a job is inserted: the store, or a use case's port onto it (*store.Store
// implements it).
type Tx interface {
	Dialect() store.Dialect
	SQLTx(ctx context.Context, fn func(tx *sql.Tx) error) error
}

var _ Tx = (*store.Store)(nil)

// Insert queues a job on s's transaction when s comes from store.InTx (so it exists exactly
// when that transaction commits), or in a transaction of its own otherwise. A unique job that
// already exists is not inserted again (res.UniqueSkippedAsDuplicate).
func Insert(ctx context.Context, s Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	ins, err := inserter(s.Dialect())
	if err != nil {
		return nil, err
	}
	var res *rivertype.JobInsertResult
	err = s.SQLTx(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = ins.InsertTx(ctx, tx, args, opts)
		return err
	})
	if err != nil {
		return nil, domain.Internal(err, "queue %s job", args.Kind())
	}
	return res, nil
}

// InsertMany queues several jobs at once, as Insert does.
func InsertMany(ctx context.Context, s Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	if len(params) == 0 {
		return nil, nil
	}
	ins, err := inserter(s.Dialect())
	if err != nil {
		return nil, err
	}
	var res []*rivertype.JobInsertResult
	err = s.SQLTx(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = ins.InsertManyTx(ctx, tx, params)
		return err
	})
	if err != nil {
		return nil, domain.Internal(err, "queue %d jobs", len(params))
	}
	return res, nil
}

var inserters sync.Map // store.Dialect → *river.Client[*sql.Tx]

// inserter is an insert-only River client without a pool: it only ever runs on the *sql.Tx it
// is given.
func inserter(d store.Dialect) (*river.Client[*sql.Tx], error) {
	if c, ok := inserters.Load(d); ok {
		return c.(*river.Client[*sql.Tx]), nil
	}
	var driver riverdriver.Driver[*sql.Tx] = riversqlite.New(nil)
	if d == store.Postgres {
		driver = riverdatabasesql.New(nil)
	}
	c, err := river.NewClient(driver, &river.Config{Logger: riverLogger(nil)})
	if err != nil {
		return nil, err
	}
	actual, _ := inserters.LoadOrStore(d, c)
	return actual.(*river.Client[*sql.Tx]), nil
}

// Unfinished is the uniqueness of a job that must exist once while it waits or runs: a second
// insert is skipped until the first has finished (whatever its end).
var Unfinished = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled}

// DefaultBackoff waits about 5s after the first failure, doubling up to an hour, with jitter
// (a delay is drawn from the upper half of its step, so retries spread out).
func DefaultBackoff(attempt int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	return Jitter(min(d, time.Hour))
}

// Jitter returns a random duration in [d/2, d].
func Jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// Retry is the time of the next attempt after failed attempt n with backoff b (for a worker's
// NextRetry).
func Retry(b func(attempt int) time.Duration, attempt int) time.Time {
	if b == nil {
		b = DefaultBackoff
	}
	return time.Now().Add(b(attempt))
}
