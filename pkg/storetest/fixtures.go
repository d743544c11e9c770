package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
)

// Org creates an organisation with a placeholder data key (store-level tests do no crypto).
func Org(t testing.TB, s *store.Store) *domain.Organization {
	t.Helper()
	o := &domain.Organization{ID: domain.NewID(domain.PrefixOrganization), Name: "Org " + domain.RandomString(6), DataKey: "test", SellerCountry: "DE", PricesIncludeTax: true}
	if err := s.CreateOrganization(context.Background(), o); err != nil {
		t.Fatalf("create organization: %v", err)
	}
	return o
}

// Provider creates an enabled wire-transfer provider in mode m.
func Provider(t testing.TB, s *store.Store, orgID string, m domain.Mode) *domain.Provider {
	t.Helper()
	p := &domain.Provider{
		ID: domain.NewID(domain.PrefixProvider), OrganizationID: orgID, Type: domain.ProviderWireTransfer, Mode: m,
		Name: "Bank", Enabled: true, Settings: map[string]string{"bankName": "Test Bank", "accountHolder": "Shop GmbH", "iban": "DE89370400440532013000"},
	}
	if err := s.CreateProvider(context.Background(), p); err != nil {
		t.Fatalf("create provider: %v", err)
	}
	return p
}

// Site creates a site allowing shop.example.com, with the given providers assigned.
func Site(t testing.TB, s *store.Store, orgID string, providers ...*domain.Provider) *domain.Site {
	t.Helper()
	site := &domain.Site{
		ID: domain.NewID(domain.PrefixSite), OrganizationID: orgID, Name: "Shop", AllowedHosts: []string{"shop.example.com"},
		WebhookSecret: "sealed", TaxDisplay: domain.TaxDisplayInclusive, VATIDValidation: domain.VATIDFormat, DefaultLanguage: "en", IPNVersion: 2,
	}
	if err := s.CreateSite(context.Background(), site); err != nil {
		t.Fatalf("create site: %v", err)
	}
	if len(providers) > 0 {
		ids := make([]string, len(providers))
		for i, p := range providers {
			ids[i] = p.ID
		}
		if err := s.SetSiteProviders(context.Background(), orgID, site.ID, ids, &ids[0]); err != nil {
			t.Fatalf("assign providers: %v", err)
		}
	}
	return site
}

// Checkout creates an open checkout of amount EUR cents with one item, expiring in a day.
func Checkout(t testing.TB, s *store.Store, site *domain.Site, amount int64) *domain.Checkout {
	t.Helper()
	c := &domain.Checkout{
		ID: domain.NewID(domain.PrefixCheckout), OrganizationID: site.OrganizationID, SiteID: site.ID, Mode: domain.ModeTest,
		ShortCode: domain.NewShortCode(), SessionPublicID: domain.NewSessionPublicID(), Status: domain.CheckoutOpen,
		Amount: amount, Currency: "EUR", Email: "buyer@example.com", ExternalReference: "order-" + domain.RandomString(5),
		Origin: domain.OriginAPI, ExpiresAt: time.Now().Add(24 * time.Hour),
		Items: []domain.Item{{Name: "Thing", Quantity: 1, UnitPrice: amount, ItemType: domain.ItemGoods}},
	}
	if err := s.CreateCheckout(context.Background(), c); err != nil {
		t.Fatalf("create checkout: %v", err)
	}
	return c
}

// Transaction creates an initiated transaction for the whole checkout amount.
func Transaction(t testing.TB, s *store.Store, c *domain.Checkout, p *domain.Provider) *domain.Transaction {
	t.Helper()
	txn := &domain.Transaction{
		ID: domain.NewID(domain.PrefixTransaction), OrganizationID: c.OrganizationID, CheckoutID: c.ID, SiteID: c.SiteID,
		ProviderID: p.ID, ProviderType: p.Type, Mode: c.Mode, Currency: c.Currency, NetAmount: c.Amount, GrossAmount: c.Amount,
	}
	if err := s.CreateTransaction(context.Background(), txn); err != nil {
		t.Fatalf("create transaction: %v", err)
	}
	return txn
}

// HoldIdempotencyKey makes the key look held by a request that is still running (on
// PostgreSQL: a transaction holds the key's lock) until release is called.
func HoldIdempotencyKey(t testing.TB, s *store.Store, orgID, key string) (release func()) {
	t.Helper()
	held, done, errc := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		errc <- s.InTx(context.Background(), func(tx *store.Store) error {
			locked, _, err := tx.LockIdempotency(context.Background(), orgID, key)
			if err == nil && !locked {
				err = fmt.Errorf("the idempotency key %q is already held", key)
			}
			close(held)
			<-done
			return err
		})
	}()
	select {
	case <-held:
	case err := <-errc:
		t.Fatalf("hold the idempotency key: %v", err)
	}
	return func() {
		close(done)
		if err := <-errc; err != nil {
			t.Errorf("hold the idempotency key: %v", err)
		}
	}
}
