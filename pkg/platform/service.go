// Package platform is the application layer: the domain functions the Admin API, the Admin
// Panel, the checkout runtime and the workers all call. Each function authorises its actor,
// validates its input before writing, writes in one database transaction (with its audit
// entry and outbox events), and returns domain structs and *domain.Error values.
package platform

import (
	"context"
	"log/slog"
	"paygate.dev/pkg/idempotency"
	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/receipt"
	"paygate.dev/pkg/receipt/receiptstore"
	"time"

	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/integration/dudaconn"
	"paygate.dev/pkg/metrics"
	"paygate.dev/pkg/netguard"
	"paygate.dev/pkg/payment"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/secrets"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/tax"
	"paygate.dev/pkg/tenancy"
)

// Deps are what the service needs.
type Deps struct {
	Store   *store.Store
	Keys    *secrets.Keyring
	Hosts   config.Hosts
	Log     *slog.Logger
	Metrics *metrics.Registry
	Mailer  tenancy.Mailer
	// Dev relaxes URL rules for local development (http://localhost return URLs in test mode).
	Dev bool
	Now func() time.Time
	// Providers are the payment providers this process can use, built for the service.
	Providers providers.Registry
	// VIES checks EU VAT ids for sites that ask for it (nil: format checks only).
	VIES tax.VATChecker
	// IPNAllowPrivate accepts ipnUrls on loopback, private and other internal addresses
	// (IPN_ALLOW_PRIVATE_TARGETS, the same setting the main backend's notifier obeys). Each
	// checkout records it (Checkout.IPNAllowPrivate): its deliveries may reach an internal
	// address only if it was on when the checkout was created and still is when sending.
	IPNAllowPrivate bool
	// IPNResolver resolves ipnUrl host names for that check (default: the system resolver).
	IPNResolver netguard.Resolver
}

// Tenancy, Checkouts and Payments name the capabilities' services embedded in Service while
// callers move to them.
type (
	Tenancy   = tenancy.Service
	Checkouts = checkout.Service
	Payments  = payment.Service
	// DudaConnections are the Duda connections' use cases.
	DudaConnections = dudaconn.Service
)

// Service is the capabilities' services together.
type Service struct {
	*Tenancy
	*Checkouts
	*Payments
	*DudaConnections
	store *store.Store
	log   *slog.Logger
	now   func() time.Time
}

// New builds the service.
func New(d Deps) *Service {
	s := &Service{store: d.Store, log: d.Log, now: d.Now}
	if s.now == nil {
		s.now = time.Now
	}
	m := d.Metrics
	if m == nil {
		m = metrics.New()
	}
	s.Tenancy = tenancy.New(tenancy.Deps{Store: store.PortOf[tenancy.Store](d.Store), Keys: d.Keys, Hosts: d.Hosts, Log: d.Log, Mailer: d.Mailer, Now: s.now})
	s.Checkouts = checkout.New(checkout.Deps{Store: store.PortOf[checkout.Store](d.Store), Log: d.Log, Metrics: m, Dev: d.Dev, Now: s.now,
		IPNAllowPrivate: d.IPNAllowPrivate, IPNResolver: d.IPNResolver})
	s.Payments = payment.New(payment.Deps{Store: store.PortOf[payment.Store](d.Store), Tenancy: s.Tenancy, Log: d.Log, Metrics: m, Now: s.now,
		Providers: d.Providers, VIES: d.VIES})
	s.Tenancy.UseProviders(s.Payments.Providers())
	s.DudaConnections = dudaconn.New(dudaconn.Deps{Store: store.PortOf[dudaconn.Store](d.Store), Tenancy: s.Tenancy, Checkouts: s.Checkouts,
		CheckoutStore: store.Rebind[checkout.Store, dudaconn.Store], IPNAllowPrivate: d.IPNAllowPrivate, IPNResolver: d.IPNResolver})
	return s
}

// InTx runs fn with a service bound to one database transaction: everything the service writes
// inside fn commits together (used to store an idempotent answer atomically with its effect).
func (s *Service) InTx(ctx context.Context, fn func(*Service) error) error {
	return s.store.InTx(ctx, func(tx *store.Store) error {
		c := *s
		c.store = tx
		c.Tenancy = s.Tenancy.WithStore(store.PortOf[tenancy.Store](tx))
		c.Checkouts = s.Checkouts.WithStore(store.PortOf[checkout.Store](tx))
		c.Payments = s.Payments.WithStore(store.PortOf[payment.Store](tx))
		c.DudaConnections = s.DudaConnections.WithStore(store.PortOf[dudaconn.Store](tx))
		return fn(&c)
	})
}

// IdempotencyKeys are the Admin API's stored answers (the idempotency layer's port), in the
// service's transaction when it is bound to one (InTx): an answer commits with the request's
// effect.
func (s *Service) IdempotencyKeys() idempotency.Store { return store.IdempotencyKeys{S: s.store} }

// ReceiptStore is the receipts' storage port on the service's store (its transaction, when
// bound to one by InTx): a site's receipt switch changes with the request's other writes.
func (s *Service) ReceiptStore() receipt.Store { return receiptstore.New(s.store) }

// InvoiceStore is the invoices' storage port on the service's store (its transaction, when
// bound to one by InTx): an invoice's change commits with the request's idempotent answer.
func (s *Service) InvoiceStore() invoice.Store { return store.PortOf[invoice.Store](s.store) }

var _ invoice.Store = store.Port[invoice.Store]{}

// Hosts are the public host names.
func (s *Service) Hosts() config.Hosts { return s.Tenancy.Hosts() }

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// Log is the service's logger (adapters log through it).
func (s *Service) Log() *slog.Logger { return s.log }

// The store implements each capability's port (checked here, where the ports are wired).
var (
	_ tenancy.Store  = store.Port[tenancy.Store]{}
	_ checkout.Store = store.Port[checkout.Store]{}
	_ payment.Store  = store.Port[payment.Store]{}
	_ dudaconn.Store = store.Port[dudaconn.Store]{}
)
