package dudaapp

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/duda"
	"paygate.dev/pkg/money"
	"paygate.dev/pkg/platform"
)

// paymentMethods answers Duda's POST at the payment step with the buttons the connected site can
// offer for the mode, currency and total: one per provider of that mode, or [] when the payment
// cannot be taken (unknown connection or site, disabled connection, mode mismatch, currency no
// provider takes, total not a positive exact amount). It always answers 200 with a JSON array:
// Duda has nothing to do with an error but show no button.
//
// The call carries no documented signature; it reveals only which payment methods exist, and
// site_name must be one of the connection's installed sites.
func (a *App) paymentMethods(c echo.Context) error {
	ctx := c.Request().Context()
	methods, why := a.offer(ctx, c)
	if why != "" {
		a.log.InfoContext(ctx, "Duda payment methods: none offered", "connection_id", c.Param("connectionId"), "reason", why)
	}
	if methods == nil {
		methods = []duda.PaymentMethod{}
	}
	return answer(c, http.StatusOK, methods)
}

// offer works out the buttons, or says why there are none.
func (a *App) offer(ctx context.Context, c echo.Context) ([]duda.PaymentMethod, string) {
	var mode domain.Mode
	switch strings.ToLower(c.Param("mode")) {
	case "live":
		mode = domain.ModeLive
	case "test":
		mode = domain.ModeTest
	default:
		return nil, "unknown mode in the URL"
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		return nil, "unreadable body"
	}
	var req duda.PaymentMethodsRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, "body is not a payment-methods request: " + err.Error()
	}
	// The URL says the mode; a body that names the other one is refused, one that names none follows the URL.
	if m := strings.TrimSpace(string(req.Mode)); m != "" && req.Mode.IsTest() != (mode == domain.ModeTest) {
		return nil, "mode " + m + " sent to the " + string(mode) + " URL"
	}
	conn, err := a.store.GetDudaConnectionByID(ctx, c.Param("connectionId"))
	if err != nil {
		return nil, "unknown connection"
	}
	if !conn.Enabled {
		return nil, "connection disabled"
	}
	site, err := a.store.GetDudaSite(ctx, conn.ID, req.SiteName)
	if err != nil || !site.Installed() {
		return nil, "site_name is not an installed site of the connection"
	}
	cur, ok := money.Lookup(strings.ToUpper(strings.TrimSpace(req.Invoice.Currency)))
	if !ok {
		return nil, "unknown currency"
	}
	total, err := req.Invoice.Total.Minor(cur.Code)
	if err != nil || total <= 0 || total > platform.MaxAmount {
		return nil, "total is not a positive amount in " + cur.Code
	}
	ps, err := a.store.ListSiteProviders(ctx, conn.OrganizationID, conn.SiteID)
	if err != nil {
		return nil, "providers: " + err.Error()
	}
	offered := platform.OfferedProviders(ps, mode, cur.Code)
	if len(offered) == 0 {
		return nil, "no " + string(mode) + "-mode provider takes " + cur.Code
	}
	base := a.base(conn.ID) + "/checkout?provider="
	out := make([]duda.PaymentMethod, 0, len(offered))
	for _, p := range offered {
		out = append(out, duda.PaymentMethod{ID: p.ID, Name: p.Name, CheckoutURL: base + url.QueryEscape(p.ID), Icon: a.iconURL(string(p.Type))})
	}
	return out, ""
}
