package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// The checkout's client writes are one statement each and write nothing when the checkout says
// nothing new: the client's updated_at stays, and the upsert still answers the client's id.
func TestCheckoutClientWritesSkipWhatChangesNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		org := storetest.Org(t, s)
		email := "Buyer-" + domain.RandomString(6) + "@example.com"
		at := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
		from := func(id string, a *domain.Address) *domain.Client {
			c := domain.ClientFromCheckout(&domain.Checkout{OrganizationID: org.ID, Mode: domain.ModeTest, Email: email, BillingAddress: a}, id, at)
			at = at.Add(time.Minute)
			return c
		}
		read := func(id string) *domain.Client {
			c, err := s.GetClient(ctx, org.ID, id)
			require.NoError(t, err)
			return c
		}

		first := from(domain.NewID(domain.PrefixClient), nil)
		id, err := s.UpsertCheckoutClient(ctx, first)
		require.NoError(t, err)
		require.Equal(t, first.ID, id, "created")
		created := read(id)

		id, err = s.UpsertCheckoutClient(ctx, from(domain.NewID(domain.PrefixClient), nil))
		require.NoError(t, err)
		require.Equal(t, first.ID, id, "the existing client's id, though nothing was written")
		require.True(t, created.UpdatedAt.Equal(read(id).UpdatedAt), "not written")

		ada := &domain.Address{FirstName: "Ada", LastName: "Lovelace", Company: "Engines Ltd", Address1: "1 Main St", City: "Berlin",
			Postcode: "10115", Country: "DE", VATID: "DE123456789"}
		id, err = s.UpsertCheckoutClient(ctx, from(domain.NewID(domain.PrefixClient), ada))
		require.NoError(t, err)
		require.Equal(t, first.ID, id)
		got := read(id)
		require.Equal(t, "Ada Lovelace", got.Name)
		require.Equal(t, "Engines Ltd", got.Company)
		require.Equal(t, ada, got.BillingAddress)
		require.Equal(t, "DE123456789", got.VATID)
		require.Equal(t, domain.VATIDUnchecked, got.VATIDStatus)
		require.True(t, got.UpdatedAt.After(created.UpdatedAt), "written")

		id, err = s.UpsertCheckoutClient(ctx, from(domain.NewID(domain.PrefixClient), ada))
		require.NoError(t, err)
		require.Equal(t, first.ID, id)
		require.True(t, got.UpdatedAt.Equal(read(id).UpdatedAt), "the same details again: not written")

		require.NoError(t, s.MergeCheckoutClient(ctx, from(first.ID, ada)))
		require.True(t, got.UpdatedAt.Equal(read(id).UpdatedAt), "merge of nothing new: not written")
		moved := *ada
		moved.City = "Hamburg"
		require.NoError(t, s.MergeCheckoutClient(ctx, from(first.ID, &moved)))
		merged := read(id)
		require.Equal(t, &moved, merged.BillingAddress)
		require.Equal(t, "Ada Lovelace", merged.Name)
		require.True(t, merged.UpdatedAt.After(got.UpdatedAt), "merge of a new address: written")
	})
}
