package checkout_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/client"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestCheckoutCreateStatements holds an API checkout's creation (PrepareCheckout, then
// SaveCheckout with its Idempotency-Key's answer, as the Admin API does) to the number of
// statements it sends to the database, counted by the store (store.CountStatements: every
// statement, BEGIN and COMMIT too), with the client capability wired as the app wires it.
// On PostgreSQL a buyer's checkout that tells their client nothing new costs three: the site,
// the screen (clients, holds and the organisation's setting in one read) and the checkout
// (with its items, event and answer, one statement), with no transaction and no lock on the
// client; a new buyer, or new details, add the client upsert (one statement) and the
// transaction around it. A slower create path fails here before it shows in the benchmark.
func TestCheckoutCreateStatements(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clients := client.New(client.Deps{Store: store.PortOf[client.Store](s), Log: logging.Discard()})
		svc := checkout.New(checkout.Deps{Store: store.PortOf[checkout.Store](s), Log: logging.Discard(), Clients: clients,
			ClientsIn: func(tx checkout.Store) checkout.Clients {
				return clients.WithStore(store.Rebind[client.Store, checkout.Store](tx))
			}})
		org, _ := newOrg(t, s)
		site := storetest.Site(t, s, org.ID, storetest.Provider(t, s, org.ID, domain.ModeTest))
		key := domain.Actor{Type: domain.ActorAPIKey, ID: "key_test", Label: "sk_test_x", OrganizationID: org.ID, Role: domain.RoleAdmin, Mode: domain.ModeTest,
			Scopes: []string{"checkout:create", "checkout:read"}}
		email := "Buyer-" + domain.RandomString(6) + "@example.com"
		ada := &domain.Address{FirstName: "Ada", LastName: "Lovelace", Address1: "1 Main St", City: "Berlin", Postcode: "10115", Country: "DE"}

		// create counts the statements of one creation, which must succeed.
		create := func(in checkout.CheckoutInput) (*domain.Checkout, int64) {
			t.Helper()
			in.Amount, in.Currency, in.ExternalReference = 1500, "EUR", "order-"+domain.RandomString(4)
			in.Items = []checkout.ItemInput{{Name: "Thing", Quantity: 1, UnitPrice: 1500, ItemType: "goods"}}
			cctx, count := store.CountStatements(ctx)
			c, err := svc.PrepareCheckout(cctx, key, org.ID, site.ID, in)
			require.NoError(t, err)
			claim := &domain.IdempotencyClaim{OrganizationID: org.ID, Key: "key_test:idem-" + domain.RandomString(8), Hash: "h",
				TTL: time.Hour, Status: http.StatusOK, Body: []byte(`{}`), ContentType: "application/json"}
			require.NoError(t, svc.SaveCheckout(cctx, key, c, claim))
			require.NotNil(t, c.LinkedClientID)
			return c, count()
		}
		// On SQLite the checkout is four statements in a transaction (answer, checkout, items,
		// event) in a transaction (two more: BEGIN, COMMIT) instead of one: five more, the client
		// upsert (one) joining that transaction.
		want := func(pg, sqlite int64) int64 {
			if s.Dialect() == store.Postgres {
				return pg
			}
			return sqlite
		}

		first, n := create(checkout.CheckoutInput{Email: email})
		require.Equal(t, want(6, 9), n, "a new buyer: site, screen, BEGIN, client upsert, checkout, COMMIT")
		cl, err := s.GetClient(ctx, org.ID, *first.LinkedClientID)
		require.NoError(t, err)
		require.Equal(t, email, cl.Email)

		again, n := create(checkout.CheckoutInput{Email: email})
		require.Equal(t, want(3, 8), n, "a known buyer with nothing new: site, screen, checkout")
		require.Equal(t, cl.ID, *again.LinkedClientID)

		_, n = create(checkout.CheckoutInput{Email: email, BillingAddress: ada})
		require.Equal(t, want(6, 9), n, "new details: the client is updated in the checkout's transaction")
		cl, err = s.GetClient(ctx, org.ID, cl.ID)
		require.NoError(t, err)
		require.Equal(t, "Ada Lovelace", cl.Name)
		require.Equal(t, ada, cl.BillingAddress)
		updated := cl.UpdatedAt

		_, n = create(checkout.CheckoutInput{Email: email, BillingAddress: ada})
		require.Equal(t, want(3, 8), n, "the same details again write nothing to the client")
		named, n := create(checkout.CheckoutInput{ClientID: cl.ID})
		require.Equal(t, want(3, 8), n, "a checkout naming the client by its clientId")
		require.Equal(t, cl.ID, *named.LinkedClientID)
		cl, err = s.GetClient(ctx, org.ID, cl.ID)
		require.NoError(t, err)
		require.True(t, updated.Equal(cl.UpdatedAt), "the client was not written again")
	})
}
