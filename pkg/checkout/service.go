// Package checkout holds the checkout use cases: create (prepare, then save with the
// Idempotency-Key's answer), get, list, update, expire, and a checkout's timeline. Each use case
// authorises its actor, validates before writing, writes in one database transaction (with its
// audit entry and outbox event), and returns domain structs and *domain.Error values. It reaches
// storage only through its Store port.
package checkout

import (
	"context"
	"log/slog"
	"time"

	"paygate.dev/pkg/metrics"
	"paygate.dev/pkg/netguard"
)

// Deps are what the service needs.
type Deps struct {
	Store   Store
	Log     *slog.Logger
	Metrics *metrics.Registry
	// Dev relaxes URL rules for local development (http://localhost return URLs in test mode).
	Dev bool
	Now func() time.Time
	// IPNAllowPrivate accepts ipnUrls on loopback, private and other internal addresses
	// (IPN_ALLOW_PRIVATE_TARGETS, the same setting the main backend's notifier obeys). Each
	// checkout records it (Checkout.IPNAllowPrivate): its deliveries may reach an internal
	// address only if it was on when the checkout was created and still is when sending.
	IPNAllowPrivate bool
	// IPNResolver resolves ipnUrl host names for that check (default: the system resolver).
	IPNResolver netguard.Resolver
	// Clients screens new checkouts for their client (holds, disputes); ClientsIn is the same
	// acting in a checkout's transaction, where the buyer's client is recorded. Nil: checkouts
	// have no clients (tests of the checkout alone).
	Clients   Clients
	ClientsIn func(tx Store) Clients
}

// Service carries out the checkout use cases.
type Service struct {
	store   Store
	log     *slog.Logger
	metrics *metrics.Registry
	dev     bool
	now     func() time.Time
	// ipnTargets is the SSRF policy applied to every ipnUrl a merchant gives.
	ipnTargets netguard.Policy
	clients    Clients
	clientsIn  func(tx Store) Clients
}

// New builds the service.
func New(d Deps) *Service {
	s := &Service{store: d.Store, log: d.Log, metrics: d.Metrics, dev: d.Dev, now: d.Now,
		ipnTargets: netguard.Policy{AllowPrivate: d.IPNAllowPrivate, Resolver: d.IPNResolver},
		clients:    d.Clients, clientsIn: d.ClientsIn}
	if s.now == nil {
		s.now = time.Now
	}
	if s.metrics == nil {
		s.metrics = metrics.New()
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// WithStore returns the service acting on st (a transaction's store): what it writes commits
// with that transaction.
func (s *Service) WithStore(st Store) *Service {
	c := *s
	c.store = st
	return &c
}

// InTx runs fn with the service bound to one database transaction.
func (s *Service) InTx(ctx context.Context, fn func(*Service) error) error {
	return s.store.InTx(ctx, func(tx Store) error { return fn(s.WithStore(tx)) })
}
