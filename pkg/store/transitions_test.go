package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestProviderReportsAreOrderedByProviderTime: a report applies through the transition table,
// the transaction keeps the provider time of the newest report, and a report older than it is
// refused as stale with no event written.
func TestProviderReportsAreOrderedByProviderTime(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		org := storetest.Org(t, s)
		p := storetest.Provider(t, s, org.ID, domain.ModeTest)
		site := storetest.Site(t, s, org.ID, p)
		txn := storetest.Transaction(t, s, storetest.Checkout(t, s, site, 1000), p)
		t0 := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
		report := func(k domain.OutcomeKind, at time.Time) error {
			_, err := s.TransitionTransaction(ctx, domain.Transition{OrganizationID: org.ID, TransactionID: txn.ID, Kind: k, At: at})
			return err
		}

		require.NoError(t, report(domain.OutcomeSucceeded, t0))
		got, err := s.GetTransaction(ctx, org.ID, txn.ID)
		require.NoError(t, err)
		require.Equal(t, domain.TxnSucceeded, got.Status)
		require.True(t, got.ProviderEventAt.Equal(t0))

		// The same state reported later: nothing moves, the later time is kept.
		require.Equal(t, domain.CodeAlreadyInState, domain.ErrorCode(report(domain.OutcomeSucceeded, t0.Add(time.Minute))))
		got, err = s.GetTransaction(ctx, org.ID, txn.ID)
		require.NoError(t, err)
		require.True(t, got.ProviderEventAt.Equal(t0.Add(time.Minute)))
		version := got.EventVersion

		require.Equal(t, domain.CodeStaleReport, domain.ErrorCode(report(domain.OutcomeFailed, t0.Add(30*time.Second))), "created before the last report")
		require.Equal(t, domain.CodeInvalidState, domain.ErrorCode(report(domain.OutcomeCancelled, t0.Add(time.Hour))), "not a move from succeeded")
		got, err = s.GetTransaction(ctx, org.ID, txn.ID)
		require.NoError(t, err)
		require.Equal(t, domain.TxnSucceeded, got.Status)
		require.Equal(t, version, got.EventVersion, "no event for a report not applied")

		// Only narrows the table.
		_, err = s.TransitionTransaction(ctx, domain.Transition{OrganizationID: org.ID, TransactionID: txn.ID, Kind: domain.OutcomeFailed,
			At: t0.Add(time.Hour), Only: []domain.TransactionStatus{domain.TxnInitiated, domain.TxnPendingProvider}})
		require.Equal(t, domain.CodeInvalidState, domain.ErrorCode(err))

		require.NoError(t, report(domain.OutcomeDisputeOpened, t0.Add(2*time.Hour)))
		require.Equal(t, domain.CodeInvalidState, domain.ErrorCode(report(domain.OutcomeSucceeded, t0.Add(3*time.Hour))), "a payment report never ends a dispute")
		require.NoError(t, report(domain.OutcomeDisputeWon, t0.Add(time.Second)), "the dispute's own outcome, whatever its time")
		got, err = s.GetTransaction(ctx, org.ID, txn.ID)
		require.NoError(t, err)
		require.Equal(t, domain.TxnSucceeded, got.Status)
		require.True(t, got.ProviderEventAt.Equal(t0.Add(2*time.Hour)), "the newest time stays")
	})
}

// TestLateFailureReopensTheCheckout: the checkout's only payment failing after it succeeded
// reopens the checkout (expired once its time is up).
func TestLateFailureReopensTheCheckout(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		org := storetest.Org(t, s)
		p := storetest.Provider(t, s, org.ID, domain.ModeTest)
		site := storetest.Site(t, s, org.ID, p)
		t0 := time.Now().UTC().Add(-time.Hour)
		pay := func(c *domain.Checkout) *domain.Transaction {
			txn := storetest.Transaction(t, s, c, p)
			_, err := s.TransitionTransaction(ctx, domain.Transition{OrganizationID: org.ID, TransactionID: txn.ID, Kind: domain.OutcomeSucceeded, At: t0})
			require.NoError(t, err)
			return txn
		}
		fail := func(txn *domain.Transaction) {
			_, err := s.TransitionTransaction(ctx, domain.Transition{OrganizationID: org.ID, TransactionID: txn.ID, Kind: domain.OutcomeFailed, At: t0.Add(time.Minute)})
			require.NoError(t, err)
		}
		status := func(c *domain.Checkout) domain.CheckoutStatus {
			got, err := s.GetCheckout(ctx, org.ID, c.ID)
			require.NoError(t, err)
			return got.Status
		}

		open := storetest.Checkout(t, s, site, 1000)
		fail(pay(open))
		require.Equal(t, domain.CheckoutOpen, status(open))
		evs, err := s.ListCheckoutEvents(ctx, org.ID, open.ID)
		require.NoError(t, err)
		require.Equal(t, domain.EventCheckoutReopened, evs[len(evs)-1].Type)
		require.Equal(t, string(domain.CheckoutOpen), evs[len(evs)-1].Status)

		expired := storetest.Checkout(t, s, site, 1000)
		txn := pay(expired)
		require.NoError(t, s.ExecAdmin(ctx, "UPDATE checkouts SET expires_at = '2020-01-01 00:00:00' WHERE id = '"+expired.ID+"'"))
		fail(txn)
		require.Equal(t, domain.CheckoutExpired, status(expired))
	})
}
