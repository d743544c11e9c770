package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// dudaSession makes a checkout from Duda with its session, and returns the checkout's id.
func dudaSession(t *testing.T, s *store.Store) string {
	t.Helper()
	org := storetest.Org(t, s)
	site := storetest.Site(t, s, org.ID, storetest.Provider(t, s, org.ID, domain.ModeTest))
	ref := "duda-" + domain.RandomString(6)
	c := &domain.Checkout{ID: domain.NewID(domain.PrefixCheckout), OrganizationID: org.ID, SiteID: site.ID, Mode: domain.ModeTest,
		ShortCode: domain.NewShortCode(), SessionPublicID: domain.NewSessionPublicID(), Status: domain.CheckoutOpen, Amount: 500, Currency: "EUR",
		Origin: domain.OriginDuda, OriginRef: &ref, ExpiresAt: time.Now().Add(time.Hour),
		Items: []domain.Item{{Name: "Order", Quantity: 1, UnitPrice: 500, ItemType: domain.ItemGoods}}}
	require.NoError(t, s.CreateCheckout(ctx, c))
	conn := &store.DudaConnection{ID: domain.NewID(domain.PrefixDudaConn), OrganizationID: org.ID, SiteID: site.ID, AppUUID: "app",
		AppUser: "user", Credentials: "sealed", Enabled: true}
	require.NoError(t, s.CreateDudaConnection(ctx, conn))
	ds := &store.DudaSite{OrganizationID: org.ID, ConnectionID: conn.ID, SiteName: "shop", APIEndpoint: "https://api.duda.co", Tokens: "sealed"}
	require.NoError(t, s.UpsertDudaSite(ctx, ds))
	require.NoError(t, s.CreateDudaSession(ctx, &store.DudaSession{CheckoutID: c.ID, OrganizationID: org.ID, ConnectionID: conn.ID,
		DudaSiteID: ds.ID, SiteName: ds.SiteName, SessionID: *c.OriginRef, Mode: string(c.Mode)}))
	return c.ID
}

// The confirmations of one Duda session never overlap, on either database: a second holder of
// the session's lock waits for the first, and then reads what the first wrote.
func TestDudaSessionLockSerialisesItsHolders(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		id := dudaSession(t, s)
		entered, release, first := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() {
			first <- s.WithDudaSessionLocked(ctx, id, func(tx *store.Store, sess *store.DudaSession) error {
				close(entered)
				<-release
				return tx.SetDudaSessionConfirmed(ctx, id, "PENDING", nil, "")
			})
		}()
		<-entered
		seen, second := make(chan string, 1), make(chan error, 1)
		go func() {
			second <- s.WithDudaSessionLocked(ctx, id, func(_ *store.Store, sess *store.DudaSession) error {
				seen <- sess.ConfirmedState
				return nil
			})
		}()
		select {
		case <-seen:
			t.Fatal("a second holder got the session while the first held it")
		case <-time.After(300 * time.Millisecond):
		}
		close(release)
		require.NoError(t, <-first)
		require.NoError(t, <-second)
		require.Equal(t, "PENDING", <-seen, "the second holder reads what the first wrote")

		err := s.WithDudaSessionLocked(ctx, "chk_missing", func(*store.Store, *store.DudaSession) error {
			return domain.Internal(nil, "called without a session")
		})
		require.True(t, domain.IsNotFound(err), "%v", err)
	})
}

// The shopper's cancel ends the checkout and notes who cancelled, together.
func TestCancelDudaCheckoutByShopper(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		id := dudaSession(t, s)
		sess, err := s.GetDudaSession(ctx, id)
		require.NoError(t, err)
		require.NoError(t, s.CancelDudaCheckoutByShopper(ctx, sess.OrganizationID, id))
		c, err := s.GetCheckout(ctx, sess.OrganizationID, id)
		require.NoError(t, err)
		require.Equal(t, domain.CheckoutCancelled, c.Status)
		sess, err = s.GetDudaSession(ctx, id)
		require.NoError(t, err)
		require.Equal(t, store.DudaCancelledByShopper, sess.CancelledBy)
		// A checkout already ended is not ended again, and the note is not kept alone.
		other := dudaSession(t, s)
		o, err := s.GetDudaSession(ctx, other)
		require.NoError(t, err)
		_, err = s.EndCheckout(ctx, o.OrganizationID, other, domain.CheckoutExpired)
		require.NoError(t, err)
		require.Error(t, s.CancelDudaCheckoutByShopper(ctx, o.OrganizationID, other))
		o, err = s.GetDudaSession(ctx, other)
		require.NoError(t, err)
		require.Empty(t, o.CancelledBy, "rolled back with the checkout's end")
	})
}
