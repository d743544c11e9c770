package store_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// fullCheckout sets every field a checkout can carry at creation.
func fullCheckout(site *domain.Site) *domain.Checkout {
	ref, rate := "duda-"+domain.RandomString(6), int64(1900)
	return &domain.Checkout{
		ID: domain.NewID(domain.PrefixCheckout), OrganizationID: site.OrganizationID, SiteID: site.ID, Mode: domain.ModeTest,
		ShortCode: domain.NewShortCode(), SessionPublicID: domain.NewSessionPublicID(), Status: domain.CheckoutOpen,
		Amount: 2380, Currency: "EUR", Email: "buyer@example.com", ExternalReference: "order-1", InvoiceNumber: "INV-1",
		ClientID: "client-7", ReturnURL: "https://shop.example.com/thanks", CancelURL: "https://shop.example.com/cart",
		IPNURL: "https://shop.example.com/ipn", Language: "de", Origin: domain.OriginDuda, OriginRef: &ref, CreatedBy: "key sk_test_x",
		BillingAddress:  &domain.Address{FirstName: "Ada", LastName: "Lovelace", Address1: "1 Main St", City: "Berlin", Postcode: "10115", Country: "DE"},
		ShippingAddress: &domain.Address{FirstName: "Ada", Address1: "2 Side St", City: "Köln", Postcode: "50667", Country: "DE", Phone: "+49 221 1"},
		Metadata:        map[string]any{"orderId": "42", "nested": map[string]any{"a": "b"}},
		ExpiresAt:       time.Now().Add(24 * time.Hour),
		Items: []domain.Item{
			{Name: "Book \"Ü\"", Description: "hard\ncover", Quantity: 2, UnitPrice: 1000, VATRate: &rate, ItemType: domain.ItemGoods},
			{Name: "Shipping", Quantity: 1, UnitPrice: 500, ItemType: domain.ItemShipping},
			{Name: "Coupon", Quantity: 1, UnitPrice: -120, ItemType: domain.ItemDiscount},
		},
	}
}

func TestCreateCheckoutWithIdempotencyAnswer(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		org := storetest.Org(t, s)
		site := storetest.Site(t, s, org.ID, storetest.Provider(t, s, org.ID, domain.ModeTest))
		claim := func(key string) *store.IdempotencyClaim {
			return &store.IdempotencyClaim{OrganizationID: org.ID, Key: key, Hash: "h-" + key, TTL: time.Hour,
				Status: http.StatusOK, Body: []byte(`{"id":"` + key + `"}`), ContentType: "application/json"}
		}

		t.Run("EveryFieldRoundTrips", func(t *testing.T) {
			c := fullCheckout(site)
			require.NoError(t, s.CreateCheckoutAnswered(ctx, c, nil))
			got, err := s.GetCheckout(ctx, org.ID, c.ID)
			require.NoError(t, err)
			require.WithinDuration(t, time.Now(), c.CreatedAt, time.Minute)
			for _, p := range [][2]time.Time{{c.ExpiresAt, got.ExpiresAt}, {c.CreatedAt, got.CreatedAt}, {c.UpdatedAt, got.UpdatedAt}} {
				require.True(t, p[0].Equal(p[1]), "written %v, read %v", p[0], p[1])
			}
			got.ExpiresAt, got.CreatedAt, got.UpdatedAt = c.ExpiresAt, c.CreatedAt, c.UpdatedAt // same instants; locations may differ
			require.Equal(t, c, got)
			events, err := s.ListCheckoutEvents(ctx, org.ID, c.ID)
			require.NoError(t, err)
			require.Equal(t, []string{domain.EventCheckoutCreated}, eventTypes(events))
			e := events[0]
			require.Equal(t, string(domain.CheckoutOpen), e.Status)
			require.Equal(t, org.ID, e.OrganizationID)
			require.Nil(t, e.TransactionID)
			require.Nil(t, e.DispatchedAt, "the outbox has yet to send it")
			require.Zero(t, e.Version)
			require.Empty(t, e.Data)
			require.True(t, c.CreatedAt.Equal(e.OccurredAt) && c.CreatedAt.Equal(e.CreatedAt), "event at %v/%v, checkout at %v", e.OccurredAt, e.CreatedAt, c.CreatedAt)
		})

		t.Run("TheCheckoutAndItsAnswerAreWrittenTogether", func(t *testing.T) {
			key := "k-" + domain.RandomString(8)
			c := unsavedCheckout(site)
			require.NoError(t, s.CreateCheckoutAnswered(ctx, c, claim(key)))
			rec, err := s.GetIdempotency(ctx, org.ID, key)
			require.NoError(t, err)
			require.NotNil(t, rec)
			require.Equal(t, "completed", rec.State)
			require.Equal(t, "h-"+key, rec.RequestHash)
			require.Equal(t, http.StatusOK, *rec.StatusCode)
			require.Equal(t, `{"id":"`+key+`"}`, *rec.ResponseBody)
			require.WithinDuration(t, time.Now().Add(time.Hour), rec.ExpiresAt, time.Minute)
			got, err := s.GetCheckout(ctx, org.ID, c.ID)
			require.NoError(t, err)
			require.Len(t, got.Items, 1)
		})

		t.Run("AKeyThatHasARecordWritesNothing", func(t *testing.T) {
			key := "k-" + domain.RandomString(8)
			require.NoError(t, s.CreateCheckoutAnswered(ctx, unsavedCheckout(site), claim(key)))
			second := unsavedCheckout(site)
			err := s.CreateCheckoutAnswered(ctx, second, claim(key))
			require.True(t, errors.Is(err, store.ErrIdempotencyAnswered), "got %v", err)
			_, err = s.GetCheckout(ctx, org.ID, second.ID)
			require.True(t, domain.IsNotFound(err), "no checkout without its answer: %v", err)
			events, err := s.ListCheckoutEvents(ctx, org.ID, second.ID)
			require.NoError(t, err)
			require.Empty(t, events)
		})

		t.Run("WithoutAKeyNoAnswerIsWritten", func(t *testing.T) {
			c := unsavedCheckout(site)
			require.NoError(t, s.CreateCheckoutAnswered(ctx, c, nil))
			_, err := s.GetCheckout(ctx, org.ID, c.ID)
			require.NoError(t, err)
		})

		if s.Dialect() == store.Postgres { // SQLite runs one writer at a time: no request can hold a key there
			t.Run("AKeyHeldByARunningRequestWritesNothing", func(t *testing.T) {
				key := "k-" + domain.RandomString(8)
				release := storetest.HoldIdempotencyKey(t, s, org.ID, key)
				c := unsavedCheckout(site)
				err := s.CreateCheckoutAnswered(ctx, c, claim(key))
				release()
				require.True(t, errors.Is(err, store.ErrIdempotencyBusy), "got %v", err)
				_, err = s.GetCheckout(ctx, org.ID, c.ID)
				require.True(t, domain.IsNotFound(err))
				rec, err := s.GetIdempotency(ctx, org.ID, key)
				require.NoError(t, err)
				require.Nil(t, rec)
				// Once the holder is done, the same write goes through.
				require.NoError(t, s.CreateCheckoutAnswered(ctx, c, claim(key)))
			})
		}
	})
}

// unsavedCheckout is a small open checkout, not yet written.
func unsavedCheckout(site *domain.Site) *domain.Checkout {
	return &domain.Checkout{
		ID: domain.NewID(domain.PrefixCheckout), OrganizationID: site.OrganizationID, SiteID: site.ID, Mode: domain.ModeTest,
		ShortCode: domain.NewShortCode(), SessionPublicID: domain.NewSessionPublicID(), Status: domain.CheckoutOpen,
		Amount: 100, Currency: "EUR", ExternalReference: "o-" + domain.RandomString(5), Origin: domain.OriginAPI,
		ExpiresAt: time.Now().Add(time.Hour), Items: []domain.Item{{Name: "Thing", Quantity: 1, UnitPrice: 100, ItemType: domain.ItemGoods}},
	}
}
