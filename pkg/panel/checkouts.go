package panel

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
)

// checkoutFilters are the list's query parameters, echoed back into the filter form.
type checkoutFilters struct {
	Site, Status, Mode, From, To, Q string
}

type checkoutsData struct {
	Filters  checkoutFilters
	Sites    []domain.Site
	SiteName map[string]string
	Rows     []domain.Checkout
	Pager    pageNav
	Error    string
	// Export is the CSV export of the list with its filters ("" without exports).
	Export string
}

func (d *checkoutsData) alert() string { return d.Error }

// siteNames lists the organisation's sites and their names by id.
func (p *Panel) siteNames(c echo.Context, r *request) ([]domain.Site, map[string]string, error) {
	sites, err := p.d.Tenancy.ListSites(c.Request().Context(), r.Actor, r.OrgID())
	if err != nil {
		return nil, nil, err
	}
	names := make(map[string]string, len(sites))
	for _, s := range sites {
		names[s.ID] = s.Name
	}
	return sites, names, nil
}

// checkouts lists every checkout of the organisation's sites, newest first, with filters
// (site, status, mode, dates), search (reference, e-mail, id) and cursor pagination.
func (p *Panel) checkouts(c echo.Context, r *request) error {
	d := &checkoutsData{Filters: checkoutFilters{Site: c.QueryParam("site"), Status: c.QueryParam("status"), Mode: c.QueryParam("mode"),
		Q: strings.TrimSpace(c.QueryParam("q"))}}
	var err error
	if d.Sites, d.SiteName, err = p.siteNames(c, r); err != nil {
		return err
	}
	f := domain.CheckoutFilter{OrganizationID: r.OrgID(), SiteID: d.Filters.Site, Status: domain.CheckoutStatus(d.Filters.Status),
		Mode: domain.Mode(d.Filters.Mode), Search: d.Filters.Q, After: cursor(c, domain.PrefixCheckout),
		Before: cursorParam(c, "before", domain.PrefixCheckout), Limit: pageLimit}
	var ferr, terr error
	f.CreatedFrom, d.Filters.From, ferr = dateParam(c, "from", false)
	f.CreatedTo, d.Filters.To, terr = dateParam(c, "to", true)
	status := http.StatusOK
	for _, e := range []error{ferr, terr} {
		if e != nil {
			d.Error, status = capitalize(errMessage(e)), http.StatusBadRequest
			return p.render(c, r, status, "checkouts", "Checkouts", "checkouts", d)
		}
	}
	rows, more, err := p.d.Checkout.ListCheckouts(c.Request().Context(), r.Actor, f)
	if err != nil {
		if domain.ErrorKind(err) == domain.KindInvalid {
			d.Error = capitalize(errMessage(err))
			return p.render(c, r, http.StatusBadRequest, "checkouts", "Checkouts", "checkouts", d)
		}
		return err
	}
	d.Rows = rows
	d.Export = p.exportURL(c, "/checkouts/export.csv")
	d.Pager = keysetPagination(c, firstRow(rows, func(i int) string { return rows[i].ID }), lastRow(rows, func(i int) string { return rows[i].ID }), more)
	return p.render(c, r, status, "checkouts", "Checkouts", "checkouts", d)
}

type checkoutData struct {
	Checkout     *domain.Checkout
	Site         *domain.Site
	Transactions []domain.Transaction
	Events       []domain.Event
	PaymentURL   string
	Open         bool
	Status       domain.CheckoutStatus
	ItemsTotal   int64
	Metadata     string // the merchant's metadata as indented JSON, if any
}

// checkout shows one checkout: items, tax, payment link with QR code while it is open, its
// transactions and its timeline.
func (p *Panel) checkout(c echo.Context, r *request) error {
	ctx := c.Request().Context()
	det, err := p.d.Checkout.GetCheckout(ctx, r.Actor, r.OrgID(), c.Param("id"))
	if err != nil {
		return err
	}
	co := det.Checkout
	site, err := p.d.Tenancy.GetSite(ctx, r.Actor, r.OrgID(), co.SiteID)
	if err != nil {
		return err
	}
	events, err := p.d.Checkout.CheckoutTimeline(ctx, r.Actor, r.OrgID(), co.ID)
	if err != nil {
		return err
	}
	now := p.d.Now()
	d := &checkoutData{Checkout: co, Site: site, Transactions: det.Transactions, Events: events,
		PaymentURL: p.d.Hosts.PaymentURL(co.ShortCode), Open: co.OpenAt(now), Status: co.EffectiveStatus(now)}
	for _, it := range co.Items {
		d.ItemsTotal += it.Total()
	}
	if len(co.Metadata) > 0 {
		if b, err := json.MarshalIndent(co.Metadata, "", "  "); err == nil {
			d.Metadata = string(b)
		}
	}
	title := "Checkout " + co.Reference()
	return p.render(c, r, http.StatusOK, "checkout", title, "checkouts", d)
}

// checkoutExtend keeps an open checkout's link valid for longer: the new expiry is the time
// given from now, later than the current one (editor and up).
func (p *Panel) checkoutExtend(c echo.Context, r *request) error {
	id := c.Param("id")
	m, ok := expiryMinutes(strings.TrimSpace(c.FormValue("expiryValue")), c.FormValue("expiryUnit"))
	if !ok {
		return p.errorPage(c, http.StatusBadRequest, "Cannot extend this checkout", "Enter how long the link stays valid from now, like 7 days.")
	}
	if _, err := p.d.Checkout.UpdateCheckout(c.Request().Context(), r.Actor, r.OrgID(), id, nil, &m); err != nil {
		switch domain.ErrorKind(err) {
		case domain.KindConflict:
			return p.errorPage(c, http.StatusConflict, "Cannot extend this checkout", capitalize(errMessage(err))+".")
		case domain.KindInvalid:
			return p.errorPage(c, http.StatusBadRequest, "Cannot extend this checkout", capitalize(errMessage(err))+".")
		}
		return err
	}
	return seeOther(c, "/checkouts/"+id, "checkout-extended")
}

// checkoutExpire ends an open checkout now (editor and up).
func (p *Panel) checkoutExpire(c echo.Context, r *request) error {
	if asksConfirmation(c) {
		return p.confirmExpire(c, r)
	}
	id := c.Param("id")
	if _, err := p.d.Checkout.ExpireCheckout(c.Request().Context(), r.Actor, r.OrgID(), id); err != nil {
		if domain.ErrorKind(err) == domain.KindConflict {
			return p.errorPage(c, http.StatusConflict, "Cannot end this checkout", capitalize(errMessage(err))+".")
		}
		return err
	}
	return seeOther(c, "/checkouts/"+id, "checkout-expired")
}
