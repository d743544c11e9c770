// Package payment holds the payment use cases: the hosted page's runtime (a checkout as the
// page shows it, start or resume an attempt with a provider, the buyer's cancel and return),
// applying a provider's outcome (webhook events and their River jobs), marking paid, refunds,
// reconciliation, the expiry sweep and the payment statistics. Each use case authorises its
// actor, validates before writing, writes in one database transaction (with its outbox event),
// and returns domain structs and *domain.Error values. It reaches storage only through its
// Store port, and the payment providers (pkg/providers) through providers.Platform.
package payment

import (
	"context"
	"log/slog"
	"time"

	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/metrics"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/tax"
)

// Tenancy is what the payment use cases need of the tenancy capability (tenancy.Service).
type Tenancy interface {
	// ProviderCredentials decrypts a provider configuration's secret fields.
	ProviderCredentials(ctx context.Context, p *domain.Provider) (map[string]string, error)
	// Hosts are the public host names.
	Hosts() config.Hosts
}

// Deps are what the service needs.
type Deps struct {
	Store   Store
	Tenancy Tenancy
	Log     *slog.Logger
	Metrics *metrics.Registry
	Now     func() time.Time
	// Providers are the payment providers this process can use, built for the service.
	Providers providers.Registry
	// VIES checks EU VAT ids for sites that ask for it (nil: format checks only).
	VIES tax.VATChecker
}

// Service carries out the payment use cases.
type Service struct {
	store   Store
	tenancy Tenancy
	log     *slog.Logger
	metrics *metrics.Registry
	now     func() time.Time

	providers providers.Set
	vies      tax.VATChecker
	// returnURLs lets integrations decide where a buyer goes after paying (by checkout origin).
	returnURLs map[domain.CheckoutOrigin]ReturnURLFunc
	// cancelURLs lets integrations decide where the page's cancel link goes (by checkout origin).
	cancelURLs map[domain.CheckoutOrigin]CancelURLFunc
	// returnOnPending names the origins whose buyers go back once a payment is pending.
	returnOnPending map[domain.CheckoutOrigin]bool
	// refundLocks queues this process's refund calls per transaction (see lockRefunds).
	refundLocks *keyedLocks
	// pageTenants caches the sites, organisations and site providers the hosted page shows,
	// each checked against its stamp on every read (PageCheckout).
	pageTenants *pageTenantCache
}

// New builds the service (and the providers, on it).
func New(d Deps) *Service {
	s := &Service{store: d.Store, tenancy: d.Tenancy, log: d.Log, metrics: d.Metrics, now: d.Now, refundLocks: newKeyedLocks(), pageTenants: &pageTenantCache{},
		vies: d.VIES, returnURLs: map[domain.CheckoutOrigin]ReturnURLFunc{},
		cancelURLs: map[domain.CheckoutOrigin]CancelURLFunc{}, returnOnPending: map[domain.CheckoutOrigin]bool{}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.metrics == nil {
		s.metrics = metrics.New()
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.providers = d.Providers.Build(providerPort{s})
	return s
}

// WithStore returns the service acting on st (a transaction's store): what it writes commits
// with that transaction.
func (s *Service) WithStore(st Store) *Service {
	c := *s
	c.store = st
	c.pageTenants = &pageTenantCache{} // what a transaction reads is not shared before it commits
	return &c
}

// InTx runs fn with the service bound to one database transaction.
func (s *Service) InTx(ctx context.Context, fn func(*Service) error) error {
	return s.store.InTx(ctx, func(tx Store) error { return fn(s.WithStore(tx)) })
}

// Hosts are the public host names.
func (s *Service) Hosts() config.Hosts { return s.tenancy.Hosts() }

// ProviderCredentials decrypts a provider configuration's secret fields (the tenancy
// capability keeps them).
func (s *Service) ProviderCredentials(ctx context.Context, p *domain.Provider) (map[string]string, error) {
	return s.tenancy.ProviderCredentials(ctx, p)
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// Log is the service's logger (adapters log through it).
func (s *Service) Log() *slog.Logger { return s.log }

// WebhookProvider is the provider configuration a webhook URL names (by its id alone: the
// webhook receiver verifies the request with its secret before anything else is believed).
func (s *Service) WebhookProvider(ctx context.Context, providerID string) (*domain.Provider, error) {
	return s.store.GetProviderByID(ctx, providerID)
}
