package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestGetCheckoutForPage: the hosted page's one-round-trip read gives the same checkout and items
// as GetCheckoutByShortCode (by short code and by session id), and its stamps change with every
// write to the site, the organisation, the site's providers and the checkout's attempts — on
// both databases.
func TestGetCheckoutForPage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		org := storetest.Org(t, s)
		p1, p2 := storetest.Provider(t, s, org.ID, domain.ModeTest), storetest.Provider(t, s, org.ID, domain.ModeTest)
		site := storetest.Site(t, s, org.ID, p1, p2)
		c := storetest.Checkout(t, s, site, 4497)
		rate := int64(700)
		c2 := &domain.Checkout{ID: domain.NewID(domain.PrefixCheckout), OrganizationID: org.ID, SiteID: site.ID, Mode: domain.ModeTest,
			ShortCode: domain.NewShortCode(), SessionPublicID: domain.NewSessionPublicID(), Status: domain.CheckoutOpen,
			Amount: 4497, Currency: "EUR", Origin: domain.OriginAPI, ExpiresAt: time.Now().Add(time.Hour),
			Items: []domain.Item{
				{Name: `Ünïcode "quoted" <b>`, Description: "two\nlines", Quantity: 1, UnitPrice: 1499, ItemType: domain.ItemGoods},
				{Name: "B", Quantity: 2, UnitPrice: 999, VATRate: &rate, ItemType: domain.ItemGoods},
				{Name: "Shipping", Quantity: 1, UnitPrice: 1000, ItemType: domain.ItemShipping},
			}}
		require.NoError(t, s.CreateCheckout(ctx, c2))
		for _, co := range []*domain.Checkout{c, c2} {
			want, err := s.GetCheckoutByShortCode(ctx, co.ShortCode)
			require.NoError(t, err)
			got, st, err := s.GetCheckoutForPage(ctx, co.ShortCode, false)
			require.NoError(t, err)
			require.Equal(t, want, got)
			require.Zero(t, st.Transactions)
			require.NotEmpty(t, st.Tenant)
			bySession, _, err := s.GetCheckoutForPage(ctx, co.SessionPublicID, true)
			require.NoError(t, err)
			require.Equal(t, want, bySession)
		}
		_, _, err := s.GetCheckoutForPage(ctx, "nosuchcode", false)
		require.True(t, domain.IsNotFound(err), "%v", err)

		stamp := func() domain.PageStamps {
			t.Helper()
			_, st, err := s.GetCheckoutForPage(ctx, c.ShortCode, false)
			require.NoError(t, err)
			return st
		}
		changes := []struct {
			name  string
			write func() error
		}{
			{"site", func() error { site.Name = "Renamed"; return s.UpdateSite(ctx, site) }},
			{"organisation", func() error { org.SellerCountry = "AT"; return s.UpdateOrganization(ctx, org) }},
			{"provider", func() error { p2.Name = "Renamed bank"; return s.UpdateProvider(ctx, p2) }},
			{"provider order", func() error { return s.SetSiteProviders(ctx, org.ID, site.ID, []string{p2.ID, p1.ID}, &p2.ID) }},
			{"provider removed", func() error { return s.SetSiteProviders(ctx, org.ID, site.ID, []string{p2.ID}, &p2.ID) }},
		}
		for _, ch := range changes {
			before := stamp()
			require.NoError(t, ch.write(), ch.name)
			require.NotEqual(t, before.Tenant, stamp().Tenant, ch.name)
		}
		storetest.Transaction(t, s, c, p1)
		require.EqualValues(t, 1, stamp().Transactions)
	})
}
