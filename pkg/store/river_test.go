package store_test

import (
	"database/sql"
	"strconv"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// legacyJob inserts a row into the jobs table as the previous version did.
func legacyJob(t *testing.T, s *store.Store, id, kind, payload, state string, attempt, maxAttempts int, runAt time.Time) {
	t.Helper()
	now := store.Now()
	require.NoError(t, s.InTx(ctx, func(tx *store.Store) error {
		return tx.ExecAdmin(ctx, `INSERT INTO jobs (id, kind, payload, state, attempt, max_attempts, run_at, created_at, updated_at) VALUES ('`+
			id+`', '`+kind+`', '`+payload+`', '`+state+`', `+itoa(attempt)+`, `+itoa(maxAttempts)+`, '`+runAt.UTC().Format("2006-01-02 15:04:05.999999")+
			`', '`+now.Format("2006-01-02 15:04:05.999999")+`', '`+now.Format("2006-01-02 15:04:05.999999")+`')`)
	}))
}

func itoa(n int) string { return strconv.Itoa(n) }

// Upgrading from a version with the jobs table: the work it holds queued moves to River, with
// the same kind and payload, when it was due and with the attempts it had left; a queued
// manual resend becomes the delivery's resend request; notifications (owed by ipn_deliveries)
// and periodic runs need no job; the table goes — all in migration 0011's transaction.
func TestUpgradeAdoptsQueuedJobs(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			s := storetest.Fresh(t, d)
			t.Cleanup(func() { _ = s.Close() })
			_, err := s.Migrate(ctx, 10)
			require.NoError(t, err)
			later := store.Now().Add(time.Hour)
			past := store.Now().Add(-time.Minute)
			legacyJob(t, s, "job_event", "provider.event", `{"eventId":"pev_1"}`, "available", 2, 20, past)
			legacyJob(t, s, "job_confirm", "duda.confirm", `{"checkoutId":"chk_1"}`, "running", 1, 200, past)
			legacyJob(t, s, "job_cancel", "gocardless.cancel_billing_request", `{"organizationId":"org_1","transactionId":"txn_1"}`, "available", 0, 10, later)
			legacyJob(t, s, "job_done", "provider.event", `{"eventId":"pev_0"}`, "completed", 1, 20, past)
			legacyJob(t, s, "job_ipn", "ipn.deliver", `{"deliveryId":"dlv_1"}`, "available", 0, 1048576, past)
			legacyJob(t, s, "job_every", "every:checkouts.expire", `{}`, "available", 0, 1, past)
			legacyJob(t, s, "job_resend", "ipn.resend", `{"deliveryId":"dlv_1","requestedBy":"usr_1"}`, "available", 0, 25, past)
			// A delivery as version 10 wrote it.
			require.NoError(t, s.ExecAdmin(ctx, `INSERT INTO ipn_deliveries (id, organization_id, site_id, checkout_id, transaction_id,
 event_id, event_version, url, ipn_version, body, status, created_at, updated_at) VALUES ('dlv_1', 'org_1', 'site_1', 'chk_1', 'txn_1',
 'evt_1', 1, 'https://shop.example.com/ipn', 2, '{}', 'delivered', '2026-01-01 00:00:00', '2026-01-01 00:00:00')`))

			t.Run("AnUnknownKindStopsTheUpgradeAndNothingMoves", func(t *testing.T) {
				legacyJob(t, s, "job_odd", "something.else", `{}`, "available", 0, 3, past)
				_, err := s.Migrate(ctx, -1)
				require.ErrorContains(t, err, `"something.else"`)
				v, err := s.SchemaVersion(ctx)
				require.NoError(t, err)
				require.Equal(t, 10, v)
				tables, err := s.Tables(ctx)
				require.NoError(t, err)
				require.Contains(t, tables, "jobs")
				jobs, err := s.ListRiverJobs(ctx, "provider.event", 10)
				require.NoError(t, err)
				require.Empty(t, jobs, "adopted in the same transaction, or not at all")
				require.NoError(t, s.ExecAdmin(ctx, `DELETE FROM jobs WHERE id = 'job_odd'`))
			})

			applied, err := s.Migrate(ctx, -1)
			require.NoError(t, err)
			require.Contains(t, applied, "adopted 4 queued jobs of the jobs table as River jobs")
			tables, err := s.Tables(ctx)
			require.NoError(t, err)
			require.NotContains(t, tables, "jobs")

			events, err := s.ListRiverJobs(ctx, "provider.event", 10)
			require.NoError(t, err)
			require.Len(t, events, 1, "the completed one stays behind")
			require.Equal(t, "events", events[0].Queue)
			require.Equal(t, "available", events[0].State)
			require.Equal(t, 18, events[0].MaxAttempts, "the attempts it had left")
			require.JSONEq(t, `{"eventId":"pev_1"}`, events[0].Args)
			confirms, err := s.ListRiverJobs(ctx, "duda.confirm", 10)
			require.NoError(t, err)
			require.Len(t, confirms, 1, "a job running in the old version runs again (at least once)")
			require.Equal(t, "duda", confirms[0].Queue)
			require.JSONEq(t, `{"checkoutId":"chk_1"}`, confirms[0].Args)
			cancels, err := s.ListRiverJobs(ctx, "gocardless.cancel_billing_request", 10)
			require.NoError(t, err)
			require.Len(t, cancels, 1)
			require.Equal(t, "scheduled", cancels[0].State, "due when it was due")
			require.Equal(t, "providers", cancels[0].Queue)
			for _, kind := range []string{"ipn.deliver", "ipn.resend", "every:checkouts.expire", "every"} {
				jobs, err := s.ListRiverJobs(ctx, kind, 10)
				require.NoError(t, err)
				require.Empty(t, jobs, kind)
			}
			dv, err := s.GetIPNDelivery(ctx, "dlv_1")
			require.NoError(t, err)
			require.NotNil(t, dv.ResendRequestedAt, "the queued resend is the delivery's request now")
			require.Equal(t, "usr_1", *dv.ResendRequestedBy)
			require.NoError(t, s.CheckSchema(ctx))
		})
	}
}

// /ready says 503 while River's schema is behind this build, as it does for ours.
func TestCheckSchemaSeesRiverBehind(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			s := storetest.Fresh(t, d)
			t.Cleanup(func() { _ = s.Close() })
			_, err := s.Migrate(ctx, -1)
			require.NoError(t, err)
			require.NoError(t, s.CheckSchema(ctx))
			db, err := s.SQLDB()
			require.NoError(t, err)
			var driver riverdriver.Driver[*sql.Tx] = riversqlite.New(db)
			if d == store.Postgres {
				driver = riverdatabasesql.New(db)
			}
			m, err := rivermigrate.New(driver, nil)
			require.NoError(t, err)
			_, err = m.Migrate(ctx, rivermigrate.DirectionDown, &rivermigrate.MigrateOpts{MaxSteps: 1})
			require.NoError(t, err)
			err = s.CheckSchema(ctx)
			require.ErrorContains(t, err, "River's schema")
			applied, err := s.Migrate(ctx, -1)
			require.NoError(t, err)
			require.Len(t, applied, 1, "migrate brings River's schema up too")
			require.NoError(t, s.CheckSchema(ctx))
		})
	}
}
