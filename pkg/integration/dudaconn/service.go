// Package dudaconn holds the Duda connections' use cases: an organisation's Duda gateway apps
// (their sealed credentials and settings, the URLs to paste into Duda's developer portal), the
// sealed tokens of the Duda sites they were installed on, and a Duda payment session's checkout
// made with its record in one transaction. The Duda flows themselves (pkg/integration/duda)
// reach these through their Platform port; the HTTP stays in pkg/dudaapp and pkg/panel.
package dudaconn

import (
	"context"

	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/netguard"
)

// Tenancy is what the Duda connections need of the tenancy capability (tenancy.Service): the
// organisation's data key seals their secrets.
type Tenancy interface {
	SealJSON(ctx context.Context, orgID, purpose string, v any) (string, error)
	OpenJSON(ctx context.Context, orgID, purpose, sealed string, v any) error
	Hosts() config.Hosts
}

// Deps are what the service needs.
type Deps struct {
	Store     Store
	Tenancy   Tenancy
	Checkouts *checkout.Service
	// CheckoutStore is a transaction's Store as the checkout use cases' port, in that
	// transaction (store.Rebind[checkout.Store, dudaconn.Store]): a session's checkout is made
	// in the transaction that records the session.
	CheckoutStore func(tx Store) checkout.Store
	// IPNAllowPrivate and IPNResolver are the checkouts' ipnUrl rules (checkout.Deps), which a
	// connection's ipnUrl obeys too.
	IPNAllowPrivate bool
	IPNResolver     netguard.Resolver
}

// Service carries out the Duda connections' use cases.
type Service struct {
	store         Store
	tenancy       Tenancy
	checkouts     *checkout.Service
	checkoutStore func(tx Store) checkout.Store
	// ipnTargets is the SSRF policy applied to every ipnUrl a merchant gives.
	ipnTargets netguard.Policy
}

// New builds the service.
func New(d Deps) *Service {
	return &Service{store: d.Store, tenancy: d.Tenancy, checkouts: d.Checkouts, checkoutStore: d.CheckoutStore,
		ipnTargets: netguard.Policy{AllowPrivate: d.IPNAllowPrivate, Resolver: d.IPNResolver}}
}

// WithStore returns the service acting on st (a transaction's store).
func (s *Service) WithStore(st Store) *Service {
	c := *s
	c.store = st
	return &c
}

// Hosts are the public host names.
func (s *Service) Hosts() config.Hosts { return s.tenancy.Hosts() }
