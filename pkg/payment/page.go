package payment

import (
	"context"
	"strings"
	"sync"

	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/domain"
)

// PageCheckout is RuntimeCheckout for what the hosted page only shows (the page itself and its
// tax preview): the same answer, in fewer round trips. The checkout, its items and the stamps
// of its site, organisation and site providers come in one read (store.GetCheckoutForPage);
// the site, organisation and providers are read again only when their stamp changed since this
// process last read them, so a merchant's change shows on the very next view; the attempts are
// read only when the checkout has any. Starting a payment reads everything afresh
// (RuntimeCheckout).
func (s *Service) PageCheckout(ctx context.Context, code string) (*RuntimeCheckout, error) {
	bySession := strings.HasPrefix(code, domain.PrefixSession+"_")
	c, st, err := s.store.GetCheckoutForPage(ctx, code, bySession)
	if err != nil {
		return nil, err
	}
	t, err := s.pageTenant(ctx, c.OrganizationID, c.SiteID, st.Tenant)
	if err != nil {
		return nil, err
	}
	site, org := t.site, t.org // copies: callers may change what they get
	ps := append([]domain.Provider(nil), t.providers...)
	rc := &RuntimeCheckout{Checkout: c, Site: &site, Organization: &org, Providers: offeredTo(c, checkout.OfferedProviders(ps, domain.Offer{Mode: c.Mode, Currency: c.Currency, Amount: c.Amount})), ByShortCode: !bySession}
	if st.Transactions == 0 {
		return rc, nil
	}
	return rc, s.loadAttempt(ctx, rc)
}

// pageTenant is what the page shows of a site and its organisation.
type pageTenant struct {
	stamp     string
	site      domain.Site
	org       domain.Organization
	providers []domain.Provider // the site's, in its order (not filtered)
}

// maxPageTenants bounds the cache; past it, it starts again empty.
const maxPageTenants = 10000

type pageTenantCache struct {
	mu sync.RWMutex
	m  map[string]*pageTenant // by organisation id + site id
}

// pageTenant returns the site's cached tenant data when its stamp is the current one, else reads
// it and keeps it under that stamp (read before the data: a write in between leaves an entry
// whose stamp is already old, read again next time).
func (s *Service) pageTenant(ctx context.Context, orgID, siteID, stamp string) (*pageTenant, error) {
	cache := s.pageTenants
	if cache == nil { // a Service not made by New: no cache
		cache = &pageTenantCache{}
	}
	key := orgID + "/" + siteID
	cache.mu.RLock()
	t := cache.m[key]
	cache.mu.RUnlock()
	if t != nil && stamp != "" && t.stamp == stamp {
		return t, nil
	}
	site, err := s.store.GetSite(ctx, orgID, siteID)
	if err != nil {
		return nil, err
	}
	org, err := s.store.GetOrganization(ctx, orgID)
	if err != nil {
		return nil, err
	}
	ps, err := s.store.ListSiteProviders(ctx, orgID, siteID)
	if err != nil {
		return nil, err
	}
	t = &pageTenant{stamp: stamp, site: *site, org: *org, providers: ps}
	cache.mu.Lock()
	if cache.m == nil || len(cache.m) >= maxPageTenants {
		cache.m = map[string]*pageTenant{}
	}
	cache.m[key] = t
	cache.mu.Unlock()
	return t, nil
}
