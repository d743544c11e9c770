package store

import (
	"context"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/logging"
)

// named records, for the log lines of the request looking it up, the organisation (and site)
// an object belongs to (logging.SetTenant): a request that names a checkout, transaction, site,
// provider or Duda connection — by id, short code, session id or the provider's reference —
// thereby concerns that organisation and site. Outside a request it does nothing.
func named[T any](ctx context.Context, v *T) *T {
	switch o := any(v).(type) {
	case *domain.Checkout:
		logging.SetTenant(ctx, o.OrganizationID, o.SiteID)
	case *domain.Transaction:
		logging.SetTenant(ctx, o.OrganizationID, o.SiteID)
	case *domain.Site:
		logging.SetTenant(ctx, o.OrganizationID, o.ID)
	case *domain.Provider:
		logging.SetTenant(ctx, o.OrganizationID, "") // shared by the organisation's sites
	case *DudaConnection:
		logging.SetTenant(ctx, o.OrganizationID, o.SiteID)
	}
	return v
}
