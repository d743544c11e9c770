package panel

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/client"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/invoice"
)

type clientsData struct {
	Q, Mode string
	Rows    []domain.Client
	Pager   pageNav
	Error   string
}

func (d *clientsData) alert() string { return d.Error }

// clients lists the organisation's clients, newest first, with a search (e-mail, name,
// company or id) and a mode filter.
func (p *Panel) clients(c echo.Context, r *request) error {
	d := &clientsData{Q: strings.TrimSpace(c.QueryParam("q")), Mode: c.QueryParam("mode")}
	f := domain.ClientFilter{OrganizationID: r.OrgID(), Mode: domain.Mode(d.Mode), Search: d.Q, After: cursor(c, domain.PrefixClient), Limit: pageLimit}
	rows, more, err := p.d.Client.ListClients(c.Request().Context(), r.Actor, f)
	if err != nil {
		if domain.ErrorKind(err) == domain.KindInvalid {
			d.Error = capitalize(errMessage(err))
			return p.render(c, r, http.StatusBadRequest, "clients", "Clients", "clients", d)
		}
		return err
	}
	d.Rows = rows
	d.Pager = keysetPagination(c, firstRow(rows, func(i int) string { return rows[i].ID }), lastRow(rows, func(i int) string { return rows[i].ID }), more)
	return p.render(c, r, http.StatusOK, "clients", "Clients", "clients", d)
}

type clientData struct {
	*client.Detail
	Active *domain.ClientHold
	// Providers are the organisation's providers of the client's mode (a hold may allow some).
	Providers []domain.Provider
	Kinds     []string
	// Invoices are the client's latest invoices (those who read invoices).
	Invoices []invoice.View
	// CreditNotes are the client's latest credit notes (those who read invoices).
	CreditNotes []domain.CreditNote
}

// clientPage shows a client: details, lifetime value per currency, payments, invoices and
// credit notes, and its customer risk holds with their history and forms.
func (p *Panel) clientPage(c echo.Context, r *request) error {
	ctx := c.Request().Context()
	det, err := p.d.Client.ClientDetail(ctx, r.Actor, r.OrgID(), c.Param("id"))
	if err != nil {
		return err
	}
	d := &clientData{Detail: det, Active: det.ActiveHold()}
	ps, err := p.d.Tenancy.ListProviders(ctx, r.Actor, r.OrgID())
	if err != nil && domain.ErrorKind(err) != domain.KindForbidden {
		return err
	}
	seen := map[string]bool{}
	for _, pr := range ps {
		if pr.Mode == det.Client.Mode {
			d.Providers = append(d.Providers, pr)
		}
		if !seen[string(pr.Type)] {
			seen[string(pr.Type)] = true
			d.Kinds = append(d.Kinds, string(pr.Type))
		}
	}
	if p.d.Invoice != nil && authorize(r, "invoice:read") == nil {
		f := domain.InvoiceFilter{ClientID: det.Client.ID, Mode: det.Client.Mode, Limit: 50}
		if d.Invoices, _, err = p.d.Invoice.ListPage(ctx, r.Actor, r.OrgID(), f); err != nil {
			return err
		}
		cf := domain.CreditNoteFilter{ClientID: det.Client.ID, Mode: det.Client.Mode, Limit: 50}
		if d.CreditNotes, _, err = p.d.Invoice.ListCreditNotesPage(ctx, r.Actor, r.OrgID(), cf); err != nil {
			return err
		}
	}
	title := "Client " + det.Client.Email
	return p.render(c, r, http.StatusOK, "client", title, "clients", d)
}

// holdForm reads a hold form: action, reason, note, provider types and provider ids.
func holdForm(c echo.Context) domain.HoldInput {
	v, _ := c.FormParams()
	var types []string
	for _, t := range strings.Split(v.Get("providerTypes"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			types = append(types, t)
		}
	}
	types = append(types, v["providerType"]...)
	return domain.HoldInput{Action: domain.HoldAction(v.Get("action")), Reason: v.Get("reason"), Note: v.Get("note"),
		AllowedProviderTypes: types, AllowedProviderIDs: v["providerId"]}
}

// holdError shows why a hold could not be placed, changed or released.
func (p *Panel) holdError(c echo.Context, heading string, err error) error {
	switch domain.ErrorKind(err) {
	case domain.KindInvalid:
		return p.errorPage(c, http.StatusBadRequest, heading, capitalize(errMessage(err))+".")
	case domain.KindConflict:
		return p.errorPage(c, http.StatusConflict, heading, capitalize(errMessage(err))+".")
	}
	return err
}

// holdPlace places a hold on the client (editor and up).
func (p *Panel) holdPlace(c echo.Context, r *request) error {
	id := c.Param("id")
	if _, err := p.d.Client.PlaceHold(c.Request().Context(), r.Actor, r.OrgID(), id, holdForm(c)); err != nil {
		return p.holdError(c, "Cannot place the hold", err)
	}
	return seeOther(c, "/clients/"+id, "hold-placed")
}

// holdChange changes the client's active hold (admin).
func (p *Panel) holdChange(c echo.Context, r *request) error {
	id := c.Param("id")
	if _, err := p.d.Client.ChangeHold(c.Request().Context(), r.Actor, r.OrgID(), id, c.Param("holdId"), holdForm(c)); err != nil {
		return p.holdError(c, "Cannot change the hold", err)
	}
	return seeOther(c, "/clients/"+id, "hold-changed")
}

// holdRelease releases the client's active hold (admin).
func (p *Panel) holdRelease(c echo.Context, r *request) error {
	id := c.Param("id")
	if _, err := p.d.Client.ReleaseHold(c.Request().Context(), r.Actor, r.OrgID(), id, c.Param("holdId"), c.FormValue("note")); err != nil {
		return p.holdError(c, "Cannot release the hold", err)
	}
	return seeOther(c, "/clients/"+id, "hold-released")
}
