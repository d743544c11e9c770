package panel

import (
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/invoice"
)

// documentRoutes are the routes of invoices' and credit notes' PDFs and e-mails.
func (p *Panel) documentRoutes() []route {
	get, post := http.MethodGet, http.MethodPost
	return []route{
		{get, "/invoices/:id/pdf", inOrg, p.invoicePDF},
		{post, "/invoices/:id/send", inOrg, p.invoiceSend},
		{get, "/credit-notes/:id/pdf", inOrg, p.creditNotePDF},
		{post, "/credit-notes/:id/send", inOrg, p.creditNoteSend},
		{post, "/invoices/:id/resend-event", inOrg, p.resendInvoiceEvent},
	}
}

func init() {
	notices["invoice-sent"] = "The invoice was e-mailed with its PDF attached."
	notices["credit-note-sent"] = "The credit note was e-mailed with its PDF attached."
	notices["event-resent"] = "The latest event is queued to be sent to the site's events URL again."
}

// invoicePDF downloads an invoice's PDF (viewer and up): the issued invoice's as stored when it
// was issued, a draft's pro forma.
func (p *Panel) invoicePDF(c echo.Context, r *request) error {
	if p.d.Invoice == nil {
		return p.errorPage(c, http.StatusNotFound, "No invoices", "Invoices are not available on this server.")
	}
	f, err := p.d.Invoice.PDF(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id"))
	if err != nil {
		return err
	}
	return download(c, f)
}

// creditNotePDF downloads a credit note's PDF as stored at its issue (viewer and up).
func (p *Panel) creditNotePDF(c echo.Context, r *request) error {
	if p.d.Invoice == nil {
		return p.errorPage(c, http.StatusNotFound, "No invoices", "Invoices are not available on this server.")
	}
	f, err := p.d.Invoice.CreditNotePDF(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id"))
	if err != nil {
		return err
	}
	return download(c, f)
}

// creditNoteSend e-mails a credit note with its PDF (editor and up) to the client, or to the
// form's "to" address; then to its invoice's page.
func (p *Panel) creditNoteSend(c echo.Context, r *request) error {
	if p.d.Invoice == nil {
		return p.errorPage(c, http.StatusNotFound, "No invoices", "Invoices are not available on this server.")
	}
	sent, err := p.d.Invoice.SendCreditNote(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id"), strings.TrimSpace(c.FormValue("to")))
	if err != nil {
		return err
	}
	return seeOther(c, "/invoices/"+sent.InvoiceID, "credit-note-sent")
}

// download answers a rendered document as an attachment named after its number.
func download(c echo.Context, f *invoice.File) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
	h.Set("Cache-Control", "private, no-store")
	return c.Blob(http.StatusOK, f.ContentType, f.Bytes)
}

// invoiceSend e-mails an issued invoice with its PDF (editor and up) to the client, or to the
// form's "to" address; then back to the invoice's page.
func (p *Panel) invoiceSend(c echo.Context, r *request) error {
	if p.d.Invoice == nil {
		return p.errorPage(c, http.StatusNotFound, "No invoices", "Invoices are not available on this server.")
	}
	id := c.Param("id")
	if _, err := p.d.Invoice.Send(c.Request().Context(), r.Actor, r.OrgID(), id, strings.TrimSpace(c.FormValue("to"))); err != nil {
		return err
	}
	return seeOther(c, "/invoices/"+id, "invoice-sent")
}

// resendInvoiceEvent sends an issued invoice's latest event to its site's events URL again
// (editor and up: ipn:execute), after the invoice itself is found visible (invoice:read).
func (p *Panel) resendInvoiceEvent(c echo.Context, r *request) error {
	if p.d.Invoice == nil || p.d.Notifications == nil {
		return p.errorPage(c, http.StatusNotFound, "No invoice events", "Invoice events are not available on this server.")
	}
	id := c.Param("id")
	if _, err := p.d.Invoice.Get(c.Request().Context(), r.Actor, r.OrgID(), id); err != nil {
		return err
	}
	if err := p.d.Notifications.Resend(c.Request().Context(), r.Actor, r.OrgID(), id); err != nil {
		return err
	}
	return seeOther(c, "/invoices/"+id, "event-resent")
}
