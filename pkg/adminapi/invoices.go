package adminapi

import (
	"mime"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/idempotency"
	"paygate.dev/pkg/invoice"
)

var invoiceID = &Object{Kind: domain.ModedInvoice, Param: "id"}

// invoiceRoutes serves /invoices with the request's invoice service (bound to its transaction
// on an idempotent Local route).
type invoiceRoutes struct{}

func (invoiceRoutes) on(r *Request) *invoice.Service { return r.Invoice }

// InvoiceRoutes are the invoices' endpoints (invoice:* scopes; the invoicing settings are the
// organisation's, organization:update to change).
func InvoiceRoutes() []Route {
	h := invoiceRoutes{}
	return []Route{
		{Method: http.MethodGet, Path: "/invoices", Perm: "invoice:read", Handler: h.list},
		{Method: http.MethodPost, Path: "/invoices", Perm: "invoice:create", Idem: idempotency.Local, Handler: h.create},
		{Method: http.MethodGet, Path: "/invoices/:id", Perm: "invoice:read", Object: invoiceID, Handler: h.get},
		{Method: http.MethodPatch, Path: "/invoices/:id", Perm: "invoice:update", Object: invoiceID, Handler: h.update},
		{Method: http.MethodDelete, Path: "/invoices/:id", Perm: "invoice:delete", Object: invoiceID, Handler: h.delete},
		{Method: http.MethodPost, Path: "/invoices/:id/issue", Perm: "invoice:update", Object: invoiceID, Idem: idempotency.Local, Handler: h.issue},
		{Method: http.MethodPost, Path: "/invoices/:id/payment-link", Perm: "invoice:update", Object: invoiceID, Idem: idempotency.Local, Handler: h.paymentLink},
		{Method: http.MethodGet, Path: "/invoices/:id/pdf", Perm: "invoice:read", Object: invoiceID, Handler: h.pdf},
		{Method: http.MethodPost, Path: "/invoices/:id/send", Perm: "invoice:update", Object: invoiceID, Idem: idempotency.External, Handler: h.send},
		{Method: http.MethodGet, Path: "/invoice-settings", Perm: "invoice:read", Handler: h.settings},
		{Method: http.MethodPatch, Path: "/invoice-settings", Perm: "organization:update", Handler: h.saveSettings},
	}
}

type invoiceLineIn struct {
	Description string `json:"description"`
	Quantity    int64  `json:"quantity"`
	UnitPrice   int64  `json:"unitPrice"`
	Type        string `json:"type"`
	VATRate     *int64 `json:"vatRate"`
}

// invoiceIn is a draft's body: every field on creation; on PATCH, the fields given.
type invoiceIn struct {
	Mode     string          `json:"mode"`
	SiteID   *string         `json:"siteId"`
	Currency *string         `json:"currency"`
	Language *string         `json:"language"`
	ClientID *string         `json:"clientId"`
	Client   *domain.Party   `json:"client"`
	Lines    []invoiceLineIn `json:"lines"`
	Notes    *string         `json:"notes"`
	DueAt    *time.Time      `json:"dueAt"`
}

func (in invoiceIn) lines() []invoice.LineInput {
	if in.Lines == nil {
		return nil
	}
	out := make([]invoice.LineInput, len(in.Lines))
	for i, l := range in.Lines {
		out[i] = invoice.LineInput(l)
	}
	return out
}

func (in invoiceIn) patch() invoice.DraftPatch {
	return invoice.DraftPatch{SiteID: in.SiteID, Currency: in.Currency, Language: in.Language, ClientID: in.ClientID, Client: in.Client,
		Lines: in.lines(), Notes: in.Notes, DueAt: in.DueAt}
}

func (in invoiceIn) draft() invoice.DraftInput {
	d := invoice.DraftInput{Mode: domain.Mode(in.Mode), SiteID: in.SiteID, ClientID: in.ClientID, Lines: in.lines(), DueAt: in.DueAt}
	if in.Currency != nil {
		d.Currency = *in.Currency
	}
	if in.Language != nil {
		d.Language = *in.Language
	}
	if in.Client != nil {
		d.Client = *in.Client
	}
	if in.Notes != nil {
		d.Notes = *in.Notes
	}
	return d
}

func (h invoiceRoutes) create(c echo.Context, r *Request) (int, any, error) {
	var in invoiceIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	inv, err := h.on(r).CreateDraft(c.Request().Context(), r.Actor, r.Org, in.draft())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, newInvoiceView(&invoice.View{Invoice: inv, Balance: domain.InvoiceBalance{Total: inv.TotalGross, Outstanding: inv.TotalGross}}), nil
}

func (h invoiceRoutes) update(c echo.Context, r *Request) (int, any, error) {
	var in invoiceIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	if in.Mode != "" {
		return 0, nil, domain.Invalid("mode", "an invoice's mode cannot change")
	}
	if _, err := h.on(r).UpdateDraft(c.Request().Context(), r.Actor, r.Org, c.Param("id"), in.patch()); err != nil {
		return 0, nil, err
	}
	return h.get(c, r)
}

func (h invoiceRoutes) delete(c echo.Context, r *Request) (int, any, error) {
	if err := h.on(r).DeleteDraft(c.Request().Context(), r.Actor, r.Org, c.Param("id")); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (h invoiceRoutes) issue(c echo.Context, r *Request) (int, any, error) {
	if _, err := h.on(r).Issue(c.Request().Context(), r.Actor, r.Org, c.Param("id")); err != nil {
		return 0, nil, err
	}
	return h.get(c, r)
}

// paymentLink creates the checkout that pays (part of) an issued invoice: the checkout and the
// link are written in one transaction (the request's, or one of their own).
func (h invoiceRoutes) paymentLink(c echo.Context, r *Request) (int, any, error) {
	var in struct {
		Amount *int64  `json:"amount"`
		SiteID *string `json:"siteId"`
	}
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	ctx := c.Request().Context()
	// The checkout and the link commit together (with the Idempotency-Key's answer, when given).
	var chk *domain.Checkout
	err := r.InTx(ctx, func(svc Services) error {
		var err error
		chk, err = svc.Invoice.PaymentLink(ctx, r.Actor, r.Org, c.Param("id"), invoice.PaymentLinkInput{Amount: in.Amount, SiteID: in.SiteID}, svc.Checkout)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{"invoiceId": c.Param("id"), "amount": chk.Amount, "currency": chk.Currency,
		"checkout": newCheckoutView(chk, r.Tenancy.Hosts(), time.Now())}, nil
}

// pdf answers an invoice's PDF: an issued invoice's as stored at issue, a draft's pro forma.
func (h invoiceRoutes) pdf(c echo.Context, r *Request) (int, any, error) {
	f, err := h.on(r).PDF(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
	if err != nil {
		return 0, nil, err
	}
	return 0, nil, sendFile(c, f)
}

// sendFile answers a rendered document as a download named after its number.
func sendFile(c echo.Context, f *invoice.File) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
	h.Set("Cache-Control", "private, no-store")
	if f.SHA256 != "" {
		h.Set("ETag", `"`+f.SHA256+`"`)
	}
	return c.Blob(http.StatusOK, f.ContentType, f.Bytes)
}

// send e-mails an issued invoice with its PDF: {"to": optional address, else the client's}.
func (h invoiceRoutes) send(c echo.Context, r *Request) (int, any, error) {
	var in struct {
		To string `json:"to"`
	}
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	sent, err := h.on(r).Send(c.Request().Context(), r.Actor, r.Org, c.Param("id"), in.To)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"invoiceId": c.Param("id"), "sent": true, "to": sent.To, "number": sent.Number, "sha256": sent.SHA256}, nil
}

func (h invoiceRoutes) get(c echo.Context, r *Request) (int, any, error) {
	v, err := h.on(r).Get(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newInvoiceView(v), nil
}

func (h invoiceRoutes) list(c echo.Context, r *Request) (int, any, error) {
	f := domain.InvoiceFilter{Mode: domain.Mode(c.QueryParam("mode")), Status: domain.InvoiceStatus(c.QueryParam("status")),
		ClientID: c.QueryParam("clientId"), After: c.QueryParam("after")}
	return pageAsked(c, 50, func(limit int) ([]invoice.View, error) {
		f.Limit = limit
		return h.on(r).List(c.Request().Context(), r.Actor, r.Org, f)
	}, func(v *invoice.View) (*invoiceView, string) { return newInvoiceView(v), v.Invoice.ID })
}

func (h invoiceRoutes) settings(c echo.Context, r *Request) (int, any, error) {
	set, err := h.on(r).Settings(c.Request().Context(), r.Actor, r.Org)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newInvoiceSettingsView(set), nil
}

// saveSettings changes the fields given; the others keep their values.
func (h invoiceRoutes) saveSettings(c echo.Context, r *Request) (int, any, error) {
	var in struct {
		Seller             *domain.Party        `json:"seller"`
		InvoiceLayout      *domain.NumberLayout `json:"invoiceLayout"`
		CreditNoteLayout   *domain.NumberLayout `json:"creditNoteLayout"`
		AutoIssue          *bool                `json:"autoIssue"`
		PaymentLinkMinimum *int64               `json:"paymentLinkMinimum"`
	}
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	svc := h.on(r)
	cur, err := svc.Settings(c.Request().Context(), r.Actor, r.Org)
	if err != nil {
		return 0, nil, err
	}
	set := *cur
	set.InvoiceLayout, set.CreditNoteLayout = cur.Layout(domain.DocInvoice), cur.Layout(domain.DocCreditNote)
	if in.Seller != nil {
		set.Seller = *in.Seller
	}
	if in.InvoiceLayout != nil {
		set.InvoiceLayout = *in.InvoiceLayout
	}
	if in.CreditNoteLayout != nil {
		set.CreditNoteLayout = *in.CreditNoteLayout
	}
	if in.AutoIssue != nil {
		set.AutoIssue = *in.AutoIssue
	}
	if in.PaymentLinkMinimum != nil {
		set.PaymentLinkMinimum = *in.PaymentLinkMinimum
	}
	saved, err := svc.SaveSettings(c.Request().Context(), r.Actor, r.Org, set)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newInvoiceSettingsView(saved), nil
}

type invoiceSettingsView struct {
	Seller             domain.Party        `json:"seller"`
	InvoiceLayout      domain.NumberLayout `json:"invoiceLayout"`
	CreditNoteLayout   domain.NumberLayout `json:"creditNoteLayout"`
	AutoIssue          bool                `json:"autoIssue"`
	PaymentLinkMinimum int64               `json:"paymentLinkMinimum"`
}

func newInvoiceSettingsView(s *domain.InvoiceSettings) invoiceSettingsView {
	return invoiceSettingsView{Seller: s.Seller, InvoiceLayout: s.Layout(domain.DocInvoice), CreditNoteLayout: s.Layout(domain.DocCreditNote),
		AutoIssue: s.AutoIssue, PaymentLinkMinimum: s.PaymentLinkMinimum}
}

// invoiceView is an invoice as the API renders it (the site's invoice events carry the same).
type invoiceView = invoice.Wire

func newInvoiceView(v *invoice.View) *invoiceView { return invoice.WireOf(v) }
