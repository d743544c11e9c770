package duda

import (
	"context"
	"net/url"
	"strings"

	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/domain"
	dudaapi "paygate.dev/pkg/duda"
	"paygate.dev/pkg/money"
)

// Offer works out the buttons Duda shows at the payment step (its payment-methods call, in
// mode as the URL says): one per provider of the connected site in that mode that takes the
// currency, none (with why) when the payment cannot be taken (unknown connection or site,
// disabled connection, currency no provider takes, total not a positive exact amount).
//
// The call carries no documented signature; it reveals only which payment methods exist, and
// site_name must be one of the connection's installed sites.
func (uc *Service) Offer(ctx context.Context, connectionID string, mode domain.Mode, req dudaapi.PaymentMethodsRequest) ([]dudaapi.PaymentMethod, string) {
	conn, err := uc.store.GetDudaConnectionByID(ctx, connectionID)
	if err != nil {
		return nil, "unknown connection"
	}
	if !conn.Enabled {
		return nil, "connection disabled"
	}
	site, err := uc.store.GetDudaSite(ctx, conn.ID, req.SiteName)
	if err != nil || !site.Installed() {
		return nil, "site_name is not an installed site of the connection"
	}
	cur, ok := money.Lookup(strings.ToUpper(strings.TrimSpace(req.Invoice.Currency)))
	if !ok {
		return nil, "unknown currency"
	}
	total, err := req.Invoice.Total.Minor(cur.Code)
	if err != nil || total <= 0 || total > checkout.MaxAmount {
		return nil, "total is not a positive amount in " + cur.Code
	}
	ps, err := uc.store.ListSiteProviders(ctx, conn.OrganizationID, conn.SiteID)
	if err != nil {
		return nil, "providers: " + err.Error()
	}
	offered := checkout.OfferedProviders(ps, domain.Offer{Mode: mode, Currency: cur.Code, Amount: total})
	if len(offered) == 0 {
		return nil, "no " + string(mode) + "-mode provider takes " + cur.Code
	}
	base := uc.BaseURL(conn.ID) + "/checkout?provider="
	out := make([]dudaapi.PaymentMethod, 0, len(offered))
	for _, p := range offered {
		out = append(out, dudaapi.PaymentMethod{ID: p.ID, Name: p.Name, CheckoutURL: base + url.QueryEscape(p.ID), Icon: uc.iconURL(string(p.Type))})
	}
	return out, ""
}
