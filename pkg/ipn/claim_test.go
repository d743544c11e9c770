package ipn_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/metrics"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestAClaimWaitsForTheRecordingOfTheTransactionsPreviousAttempt: on PostgreSQL a claim runs
// under the transaction's lock, which the recording of an attempt holds too, so the claim sees
// that recording whole — not the delivery still pending and its attempt already finished, which
// made a delivered notification be sent again (the two-backend test caught it once in CI).
// (On SQLite the IMMEDIATE transactions' write lock does the same by itself.)
func TestAClaimWaitsForTheRecordingOfTheTransactionsPreviousAttempt(t *testing.T) {
	t.Parallel()
	// No River worker: the test makes the claims.
	e := newEnv(t, store.Postgres, envOptions{noBackend: true})
	n := ipn.New(ipn.Options{Store: store.PortOf[ipn.Store](e.s), Secrets: e.svc.Tenancy, Log: logging.Discard(), Metrics: metrics.New(), Now: e.clock.Now, AllowPrivate: true})
	disp := ipn.NewDispatcher(ipn.DispatcherOptions{Store: store.PortOf[ipn.Store](e.s), Log: logging.Discard(), Metrics: metrics.New(), Now: e.clock.Now})
	disp.Register("ipn", n.DispatchEvent)
	shop := newMerchant(t, e.secret, e.clock.Now, true)
	txn := storetest.Transaction(t, e.s, e.checkout(shop.URL()), e.provider)
	e.move(txn, domain.TxnPendingProvider)
	_, err := disp.DispatchOnce(ctx)
	require.NoError(t, err)

	now := e.clock.Now()
	a := &domain.IPNAttempt{StartedAt: now, SignatureTS: "1"}
	d, why, err := e.s.ClaimIPNAttempt(ctx, txn.ID, now, now.Add(-time.Hour), a)
	require.NoError(t, err)
	require.NotNil(t, d, why)

	recording, release := make(chan struct{}), make(chan struct{})
	recorded := make(chan error, 1)
	go func() {
		recorded <- e.s.InTx(ctx, func(tx *store.Store) error {
			if err := tx.LockIPNTransaction(ctx, txn.ID); err != nil {
				return err
			}
			if err := tx.FinishIPNAttempt(ctx, a, now); err != nil {
				return err
			}
			if _, err := tx.MarkIPNDelivered(ctx, d.ID, 200, now); err != nil {
				return err
			}
			close(recording)
			<-release
			return nil
		})
	}()
	<-recording
	type claim struct {
		d   *domain.IPNDelivery
		why string
		err error
	}
	claimed := make(chan claim, 1)
	go func() {
		b := &domain.IPNAttempt{StartedAt: now, SignatureTS: "1"}
		d, why, err := e.s.ClaimIPNAttempt(ctx, txn.ID, now, now.Add(-time.Hour), b)
		claimed <- claim{d, why, err}
	}()
	// The claim waits on the lock (PostgreSQL shows it as an advisory lock not granted).
	db, err := e.s.SQLDB()
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n))
		return n > 0
	}, 10*time.Second, 5*time.Millisecond)
	close(release)
	require.NoError(t, <-recorded)
	c := <-claimed
	require.NoError(t, c.err)
	require.NotNil(t, c.d, c.why)
	require.NotEqual(t, d.ID, c.d.ID, "the delivered notification is not claimed again: the next one is")
	require.Greater(t, c.d.EventVersion, d.EventVersion)
	require.Equal(t, 1, c.d.Attempts)
}
