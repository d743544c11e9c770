package panel

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/money"
)

// The invoice screens: the list, an invoice's page (its blocks, lines, tax, money, payment
// links and history, with the actions its state allows), the draft form (invoice_form.go) and
// the invoicing settings (invoice_settings.go). They call pkg/invoice's use cases, which check
// the role and mode again.

// invoicing returns the invoice service, or NOT_FOUND on a panel built without it.
func (p *Panel) invoicing() (*invoice.Service, error) {
	if p.d.Invoice == nil {
		return nil, domain.NotFound("page")
	}
	return p.d.Invoice, nil
}

type invoicesData struct {
	Status, Mode string
	Rows         []invoice.View
	Pager        pageNav
	Error        string
}

func (d *invoicesData) alert() string { return d.Error }

// invoices lists the organisation's invoices, newest first, by status and mode.
func (p *Panel) invoices(c echo.Context, r *request) error {
	svc, err := p.invoicing()
	if err != nil {
		return err
	}
	d := &invoicesData{Status: c.QueryParam("status"), Mode: c.QueryParam("mode")}
	f := domain.InvoiceFilter{Status: domain.InvoiceStatus(d.Status), Mode: domain.Mode(d.Mode), After: cursor(c, domain.PrefixInvoice),
		Before: cursorParam(c, "before", domain.PrefixInvoice), Limit: pageLimit}
	rows, more, err := svc.ListPage(c.Request().Context(), r.Actor, r.OrgID(), f)
	if err != nil {
		if domain.ErrorKind(err) == domain.KindInvalid {
			d.Error = capitalize(errMessage(err))
			return p.render(c, r, http.StatusBadRequest, "invoices", "Invoices", "invoices", d)
		}
		return err
	}
	d.Rows = rows
	id := func(i int) string { return rows[i].Invoice.ID }
	d.Pager = keysetPagination(c, firstRow(rows, id), lastRow(rows, id), more)
	return p.render(c, r, http.StatusOK, "invoices", "Invoices", "invoices", d)
}

// linkRow is one payment link of an invoice, with its checkout's state and URL.
type linkRow struct {
	domain.InvoicePaymentLink
	URL    string
	Status domain.CheckoutStatus
}

type paymentLinkForm struct {
	formState
	Amount, Site string
}

type invoiceData struct {
	*invoice.View
	// Events are the invoice's events as sent to its site's events URL (an issued invoice's).
	Events   NotificationsView
	Links    []linkRow
	History  []domain.AuditEntry
	SiteName string
	// Sites are offered for a payment link when the invoice names none.
	Sites []domain.Site
	// Minimum is the smallest part a payment link may ask for now (minor units).
	Minimum  int64
	LinkForm paymentLinkForm
	// NewLink is the checkout id of the payment link just created (highlighted).
	NewLink string
	// CreditForm is the direct credit form (creditnotes.go); NewCredit the credit note just
	// issued (highlighted).
	CreditForm creditForm
	NewCredit  string
}

// alert is the failed form's summary: the credit form's, else the payment link form's.
func (d *invoiceData) alert() string {
	if d.CreditForm.failed() {
		return d.CreditForm.alert()
	}
	return d.LinkForm.alert()
}

func (d *invoiceData) alertTarget() string {
	if d.CreditForm.failed() {
		return d.CreditForm.alertTarget()
	}
	return d.LinkForm.alertTarget()
}

// loadInvoice gathers what an invoice's page shows.
func (p *Panel) loadInvoice(ctx context.Context, r *request, id string) (*invoiceData, error) {
	svc, err := p.invoicing()
	if err != nil {
		return nil, err
	}
	v, err := svc.Get(ctx, r.Actor, r.OrgID(), id)
	if err != nil {
		return nil, err
	}
	d := &invoiceData{View: v}
	if d.History, err = svc.History(ctx, r.Actor, r.OrgID(), id); err != nil {
		return nil, err
	}
	if v.Invoice.SiteID != nil {
		if s, err := p.d.Tenancy.GetSite(ctx, r.Actor, r.OrgID(), *v.Invoice.SiteID); err == nil {
			d.SiteName = s.Name
		}
	} else if v.Invoice.Status == domain.InvoiceIssued {
		if d.Sites, err = p.d.Tenancy.ListSites(ctx, r.Actor, r.OrgID()); err != nil && domain.ErrorKind(err) != domain.KindForbidden {
			return nil, err
		}
	}
	if v.Invoice.Status != domain.InvoiceIssued {
		return d, nil
	}
	if d.Events, err = p.loadNotifications(ctx, r, id); err != nil {
		return nil, err
	}
	links, err := svc.Links(ctx, r.Actor, r.OrgID(), id)
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		row := linkRow{InvoicePaymentLink: l}
		if det, err := p.d.Checkout.GetCheckout(ctx, r.Actor, r.OrgID(), l.CheckoutID); err == nil {
			row.URL, row.Status = p.d.Hosts.PaymentURL(det.Checkout.ShortCode), det.Checkout.EffectiveStatus(p.d.Now())
		} else if !domain.IsNotFound(err) && domain.ErrorKind(err) != domain.KindForbidden {
			return nil, err
		}
		d.Links = append(d.Links, row)
	}
	set, err := svc.Settings(ctx, r.Actor, r.OrgID())
	if err != nil {
		return nil, err
	}
	d.Minimum = min(set.PaymentLinkMinimum, max(v.Balance.Outstanding, 0))
	return d, nil
}

// invoicePage shows one invoice.
func (p *Panel) invoicePage(c echo.Context, r *request) error {
	d, err := p.loadInvoice(c.Request().Context(), r, c.Param("id"))
	if err != nil {
		return err
	}
	d.NewLink = cursorParam(c, "link", domain.PrefixCheckout)
	d.NewCredit = cursorParam(c, "credit", domain.PrefixCreditNote)
	return p.render(c, r, http.StatusOK, "invoice", invoiceTitle(d.Invoice), "invoices", d)
}

// invoiceTitle names an invoice: its number, or "Draft invoice".
func invoiceTitle(inv *domain.Invoice) string {
	if inv.Number != nil {
		return "Invoice " + *inv.Number
	}
	return "Draft invoice"
}

// invoiceError shows why an action on an invoice was refused (issued already, nothing
// outstanding ...) on an error page; other errors go to the common error page.
func (p *Panel) invoiceError(c echo.Context, heading string, err error) error {
	switch domain.ErrorKind(err) {
	case domain.KindInvalid:
		return p.errorPage(c, http.StatusBadRequest, heading, capitalize(errMessage(err))+".")
	case domain.KindConflict:
		return p.errorPage(c, http.StatusConflict, heading, capitalize(errMessage(err))+".")
	}
	return err
}

// invoiceIssue issues a draft (editor and up), after the confirm step.
func (p *Panel) invoiceIssue(c echo.Context, r *request) error {
	svc, err := p.invoicing()
	if err != nil {
		return err
	}
	if asksConfirmation(c) {
		return p.confirmIssue(c, r, svc)
	}
	id := c.Param("id")
	if _, err := svc.Issue(c.Request().Context(), r.Actor, r.OrgID(), id); err != nil {
		return p.invoiceError(c, "Cannot issue this invoice", err)
	}
	return seeOther(c, "/invoices/"+id, "invoice-issued")
}

// confirmIssue is the confirm step of issuing: the number it will get, and that it is final.
func (p *Panel) confirmIssue(c echo.Context, r *request, svc *invoice.Service) error {
	if err := authorize(r, "invoice:update"); err != nil {
		return err
	}
	ctx := c.Request().Context()
	v, err := svc.Get(ctx, r.Actor, r.OrgID(), c.Param("id"))
	if err != nil {
		return err
	}
	inv := v.Invoice
	if inv.Status != domain.InvoiceDraft {
		return p.invoiceError(c, "Cannot issue this invoice", domain.Conflict(domain.CodeInvoiceIssued, "the invoice is issued already (number %s)", deref(inv.Number)))
	}
	number := "the next number of the " + string(inv.Mode) + " invoice sequence"
	set, err := svc.Settings(ctx, r.Actor, r.OrgID())
	if err != nil {
		return err
	}
	if next, err := svc.NextNumbers(ctx, r.Actor, r.OrgID(), *set); err == nil {
		for _, n := range next {
			if n.Kind == domain.DocInvoice && n.Mode == inv.Mode {
				number += " (" + n.Number + " if no other invoice is issued first)"
			}
		}
	}
	total := formatMoney(inv.TotalGross, inv.Currency)
	return p.confirmStep(c, r, "invoices", confirmation{Heading: "Issue this invoice for " + total + "?",
		Lines: []string{"The draft for " + partyName(inv.Client) + " gets " + number + " and today's date; its tax is computed again at today's rates.",
			"From then on the invoice is locked: its lines, totals, seller and client details can never change, and it cannot be deleted. A mistake is corrected with a credit note.",
		},
		Action: "/invoices/" + inv.ID + "/issue", Button: "Yes, issue the invoice", Cancel: "/invoices/" + inv.ID})
}

// partyName is how a party is named in a sentence.
func partyName(p domain.Party) string {
	switch {
	case p.Company != "":
		return p.Company
	case p.Name != "":
		return p.Name
	case p.Email != "":
		return p.Email
	}
	return "an unnamed client"
}

// invoiceDelete deletes a draft (editor and up), after the confirm step.
func (p *Panel) invoiceDelete(c echo.Context, r *request) error {
	svc, err := p.invoicing()
	if err != nil {
		return err
	}
	id := c.Param("id")
	if asksConfirmation(c) {
		v, err := svc.Get(c.Request().Context(), r.Actor, r.OrgID(), id)
		if err != nil {
			return err
		}
		if v.Invoice.Status != domain.InvoiceDraft {
			return p.invoiceError(c, "Cannot delete this invoice", domain.Conflict(domain.CodeInvoiceIssued, "an issued invoice is never deleted: credit it instead"))
		}
		return p.confirmDelete(c, r, "invoice:delete", "invoices", "draft invoice for "+partyName(v.Invoice.Client)+" ("+formatMoney(v.Invoice.TotalGross, v.Invoice.Currency)+")",
			"/invoices/"+id+"/delete", "/invoices/"+id, "It has no number yet, so no gap is left in the invoice numbers.")
	}
	if err := svc.DeleteDraft(c.Request().Context(), r.Actor, r.OrgID(), id); err != nil {
		return p.invoiceError(c, "Cannot delete this invoice", err)
	}
	return seeOther(c, "/invoices", "invoice-deleted")
}

// invoicePaymentLink creates a checkout for the outstanding amount, or the part typed, and
// shows the invoice with the link's URL. The checkout and the link are written in one
// transaction.
func (p *Panel) invoicePaymentLink(c echo.Context, r *request) error {
	if _, err := p.invoicing(); err != nil || p.d.InvoiceTx == nil {
		return domain.NotFound("page")
	}
	if err := authorize(r, "invoice:update"); err != nil {
		return err
	}
	ctx := c.Request().Context()
	id := c.Param("id")
	d, err := p.loadInvoice(ctx, r, id)
	if err != nil {
		return err
	}
	v := form(c)
	d.LinkForm = paymentLinkForm{Amount: trimmed(v, "amount"), Site: v.Get("site")}
	in := invoice.PaymentLinkInput{}
	if d.LinkForm.Site != "" {
		in.SiteID = &d.LinkForm.Site
	}
	if d.LinkForm.Amount != "" {
		cur, _ := money.Lookup(d.Invoice.Currency)
		amount, err := money.ParseDecimal(d.LinkForm.Amount, cur)
		if err != nil || amount <= 0 {
			d.LinkForm.set("amount", "Enter an amount like 10.50, or leave it empty for everything outstanding")
			return p.render(c, r, http.StatusBadRequest, "invoice", invoiceTitle(d.Invoice), "invoices", d)
		}
		in.Amount = &amount
	}
	var co *domain.Checkout
	err = p.d.InvoiceTx(ctx, func(svc *invoice.Service, cos invoice.Checkouts) error {
		var err error
		co, err = svc.PaymentLink(ctx, r.Actor, r.OrgID(), id, in, cos)
		return err
	})
	if err != nil {
		if domain.ErrorKind(err) == domain.KindInvalid && domain.ErrorCode(err) == domain.CodeValidation {
			st, status, _ := formFailure(linkMessage(err, d), map[string]string{"siteId": "site"})
			d.LinkForm.formState = *st
			return p.render(c, r, status, "invoice", invoiceTitle(d.Invoice), "invoices", d)
		}
		return p.invoiceError(c, "Cannot create a payment link", err)
	}
	return c.Redirect(http.StatusSeeOther, "/invoices/"+id+"?notice=payment-link-created&link="+co.ID+"#links")
}

// linkMessage words a refused part in money rather than minor units.
func linkMessage(err error, d *invoiceData) error {
	var de *domain.Error
	if !errors.As(err, &de) || de.Field != "amount" {
		return err
	}
	out := *de
	out.Message = "enter an amount from " + formatMoney(d.Minimum, d.Invoice.Currency) + " to " +
		formatMoney(d.Balance.Outstanding, d.Invoice.Currency) + " (what is outstanding)"
	return &out
}
