package app

import (
	"log/slog"
	"time"

	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/client"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/integration/dudaconn"
	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/mail"
	"paygate.dev/pkg/metrics"
	"paygate.dev/pkg/netguard"
	"paygate.dev/pkg/payment"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/secrets"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/tax"
	"paygate.dev/pkg/tenancy"
)

// ServiceDeps are what the capabilities' services need.
type ServiceDeps struct {
	Store   *store.Store
	Keys    *secrets.Keyring
	Hosts   config.Hosts
	Log     *slog.Logger
	Metrics *metrics.Registry
	Mailer  tenancy.Mailer
	// Dev relaxes URL rules for local development (http://localhost return URLs in test mode).
	Dev bool
	Now func() time.Time
	// Providers are the payment providers this process can use, built for the payment service.
	Providers providers.Registry
	// VIES checks EU VAT ids for sites that ask for it (nil: format checks only).
	VIES tax.VATChecker
	// IPNAllowPrivate accepts ipnUrls on loopback, private and other internal addresses
	// (IPN_ALLOW_PRIVATE_TARGETS, the same setting the main backend's notifier obeys). Each
	// checkout records it (Checkout.IPNAllowPrivate): its deliveries may reach an internal
	// address only if it was on when the checkout was created and still is when sending.
	IPNAllowPrivate bool
	// The same setting and resolver judge the sites' eventsUrls (tenancy.Deps.EventTargets).
	// IPNResolver resolves ipnUrl host names for that check (default: the system resolver).
	IPNResolver netguard.Resolver
}

// Services are the capabilities' use cases of one process, each over its own port of the store.
// Wiring hands each handler, worker and integration the ones it calls; nothing else holds them
// together.
type Services struct {
	Tenancy  *tenancy.Service
	Checkout *checkout.Service
	Payment  *payment.Service
	DudaConn *dudaconn.Service
	Client   *client.Service
	Invoice  *invoice.Service
}

// NewServices builds the services and what each needs of another: payment reads tenancy's
// provider credentials and hosts, tenancy tests provider connections through payment's
// providers, and the Duda connections drive checkout inside their own transactions.
func NewServices(d ServiceDeps) Services {
	now := d.Now
	if now == nil {
		now = time.Now
	}
	m := d.Metrics
	if m == nil {
		m = metrics.New()
	}
	var s Services
	s.Tenancy = tenancy.New(tenancy.Deps{Store: store.PortOf[tenancy.Store](d.Store), Keys: d.Keys, Hosts: d.Hosts, Log: d.Log, Mailer: d.Mailer, Now: now,
		EventTargets: netguard.Policy{AllowPrivate: d.IPNAllowPrivate, Resolver: d.IPNResolver}})
	s.Client = client.New(client.Deps{Store: store.PortOf[client.Store](d.Store), Log: d.Log, Now: now})
	clients := s.Client
	var invoiceMailer invoice.Mailer // nil: sending an invoice answers MAIL_DISABLED
	if d.Mailer != nil {
		invoiceMailer = mail.InvoiceMailer(d.Mailer)
	}
	s.Invoice = invoice.New(invoice.Options{Store: store.PortOf[invoice.Store](d.Store), Log: d.Log, Now: now, Mailer: invoiceMailer})
	s.Checkout = checkout.New(checkout.Deps{Store: store.PortOf[checkout.Store](d.Store), Log: d.Log, Metrics: m, Dev: d.Dev, Now: now,
		IPNAllowPrivate: d.IPNAllowPrivate, IPNResolver: d.IPNResolver, Clients: clients,
		ClientsIn: func(tx checkout.Store) checkout.Clients {
			return clients.WithStore(store.Rebind[client.Store, checkout.Store](tx))
		}})
	s.Payment = payment.New(payment.Deps{Store: store.PortOf[payment.Store](d.Store), Tenancy: s.Tenancy, Log: d.Log, Metrics: m, Now: now,
		Providers: d.Providers, VIES: d.VIES})
	s.Tenancy.UseProviders(s.Payment.Providers())
	s.DudaConn = dudaconn.New(dudaconn.Deps{Store: store.PortOf[dudaconn.Store](d.Store), Tenancy: s.Tenancy, Checkouts: s.Checkout,
		CheckoutStore: store.Rebind[checkout.Store, dudaconn.Store], IPNAllowPrivate: d.IPNAllowPrivate, IPNResolver: d.IPNResolver})
	return s
}

// WithStore returns the same services acting on st, a transaction's store: everything they
// write through it commits (or rolls back) together. This is the one place where several
// capabilities share a transaction (the Admin API's Local idempotency routes: a handler's
// writes and the stored answer); no use case needs another capability inside its own.
func (s Services) WithStore(st *store.Store) Services {
	return Services{
		Tenancy:  s.Tenancy.WithStore(store.PortOf[tenancy.Store](st)),
		Checkout: s.Checkout.WithStore(store.PortOf[checkout.Store](st)),
		Payment:  s.Payment.WithStore(store.PortOf[payment.Store](st)),
		DudaConn: s.DudaConn.WithStore(store.PortOf[dudaconn.Store](st)),
		Client:   s.Client.WithStore(store.PortOf[client.Store](st)),
		Invoice:  s.Invoice.With(store.PortOf[invoice.Store](st)),
	}
}

// The store implements each capability's port (checked here, where the ports are wired).
var (
	_ tenancy.Store  = store.Port[tenancy.Store]{}
	_ checkout.Store = store.Port[checkout.Store]{}
	_ payment.Store  = store.Port[payment.Store]{}
	_ dudaconn.Store = store.Port[dudaconn.Store]{}
	_ client.Store   = store.Port[client.Store]{}
	_ invoice.Store  = store.Port[invoice.Store]{}
	_ ipn.Store      = store.Port[ipn.Store]{}
)
