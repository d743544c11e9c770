package checkout_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// A prepared checkout whose short code another checkout already has (odds about 2^-71, forced
// here) is refused with ErrCheckoutCodesTaken: neither the checkout nor its Idempotency-Key's
// answer is written, and the checkout comes back with fresh codes, so the caller renders its
// answer again and saves; then both exist, the answer being the one rendered last.
func TestTakenCheckoutCodesWriteNothingAndComeBackFresh(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc := newService(t, s)
		org, _ := newOrg(t, s)
		site := storetest.Site(t, s, org.ID, storetest.Provider(t, s, org.ID, domain.ModeTest))
		key := domain.Actor{Type: domain.ActorAPIKey, ID: "key_test", Label: "sk_test_x", OrganizationID: org.ID, Role: domain.RoleAdmin, Mode: domain.ModeTest,
			Scopes: []string{"checkout:create", "checkout:read"}}
		in := checkout.CheckoutInput{Amount: 1500, Currency: "EUR", Email: "buyer@example.com", ExternalReference: "order-1",
			Items: []checkout.ItemInput{{Name: "Thing", Quantity: 1, UnitPrice: 1500, ItemType: "goods"}}}

		first, err := svc.CreateCheckout(ctx, key, org.ID, site.ID, in)
		require.NoError(t, err)
		c, err := svc.PrepareCheckout(ctx, key, org.ID, site.ID, in)
		require.NoError(t, err)
		c.ShortCode = first.ShortCode // taken
		claim := &domain.IdempotencyClaim{OrganizationID: org.ID, Key: "key_test:idem-" + domain.RandomString(6), Hash: "h",
			TTL: time.Hour, Status: http.StatusOK, Body: []byte(`{"shortCode":"` + c.ShortCode + `"}`), ContentType: "application/json"}

		err = svc.SaveCheckout(ctx, key, c, claim)
		require.ErrorIs(t, err, checkout.ErrCheckoutCodesTaken)
		require.NotEqual(t, first.ShortCode, c.ShortCode, "fresh codes")
		_, err = s.GetCheckout(ctx, org.ID, c.ID)
		require.True(t, domain.IsNotFound(err), "no checkout written: %v", err)
		rec, err := s.GetIdempotency(ctx, org.ID, claim.Key)
		require.NoError(t, err)
		require.Nil(t, rec, "no answer written")

		claim.Body = []byte(`{"shortCode":"` + c.ShortCode + `"}`)
		require.NoError(t, svc.SaveCheckout(ctx, key, c, claim))
		got, err := s.GetCheckout(ctx, org.ID, c.ID)
		require.NoError(t, err)
		require.Equal(t, c.ShortCode, got.ShortCode)
		rec, err = s.GetIdempotency(ctx, org.ID, claim.Key)
		require.NoError(t, err)
		require.NotNil(t, rec)
		require.NotNil(t, rec.ResponseBody)
		require.JSONEq(t, string(claim.Body), *rec.ResponseBody, "the answer rendered with the codes written")
	})
}
