package adminapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/idempotency"
	"paygate.dev/pkg/invoice"
)

var creditNoteID = &Object{Kind: domain.ModedCreditNote, Param: "id"}

// CreditNoteRoutes are the credit notes' endpoints (invoice:* scopes: a credit note is an
// invoicing document): the list (of one invoice with ?invoiceId=), one note, and the direct
// credit of an issued invoice's unpaid part. Refund and chargeback notes are issued by the
// outbox consumer (invoice.Service.CreditHook), never through the API.
func CreditNoteRoutes() []Route {
	h := invoiceRoutes{}
	return []Route{
		{Method: http.MethodGet, Path: "/credit-notes", Perm: "invoice:read", Handler: h.listCreditNotes},
		{Method: http.MethodGet, Path: "/credit-notes/:id", Perm: "invoice:read", Object: creditNoteID, Handler: h.getCreditNote},
		{Method: http.MethodGet, Path: "/credit-notes/:id/pdf", Perm: "invoice:read", Object: creditNoteID, Handler: h.creditNotePDF},
		{Method: http.MethodPost, Path: "/credit-notes/:id/send", Perm: "invoice:update", Object: creditNoteID, Idem: idempotency.External, Handler: h.sendCreditNote},
		{Method: http.MethodPost, Path: "/invoices/:id/credit-notes", Perm: "invoice:update", Object: invoiceID, Idem: idempotency.Local, Handler: h.credit},
	}
}

// credit credits (part of) an issued invoice's unpaid part: {amount?, reason?, notes?}.
func (h invoiceRoutes) credit(c echo.Context, r *Request) (int, any, error) {
	var in struct {
		Amount *int64  `json:"amount"`
		Reason *string `json:"reason"`
		Notes  *string `json:"notes"`
	}
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	ci := invoice.CreditInput{Amount: in.Amount}
	if in.Reason != nil {
		ci.Reason = *in.Reason
	}
	if in.Notes != nil {
		ci.Notes = *in.Notes
	}
	cn, err := h.on(r).Credit(c.Request().Context(), r.Actor, r.Org, c.Param("id"), ci)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, newCreditNoteView(cn), nil
}

func (h invoiceRoutes) getCreditNote(c echo.Context, r *Request) (int, any, error) {
	cn, err := h.on(r).GetCreditNote(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newCreditNoteView(cn), nil
}

func (h invoiceRoutes) listCreditNotes(c echo.Context, r *Request) (int, any, error) {
	f := domain.CreditNoteFilter{Mode: domain.Mode(c.QueryParam("mode")), InvoiceID: c.QueryParam("invoiceId"),
		ClientID: c.QueryParam("clientId"), Kind: domain.CreditNoteKind(c.QueryParam("kind")), After: c.QueryParam("after")}
	if f.Mode != "" && !f.Mode.Valid() {
		return 0, nil, domain.Invalid("mode", "mode must be test or live")
	}
	return pageAsked(c, 50, func(limit int) ([]domain.CreditNote, error) {
		f.Limit = limit
		return h.on(r).ListCreditNotes(c.Request().Context(), r.Actor, r.Org, f)
	}, func(cn *domain.CreditNote) (*creditNoteView, string) { return newCreditNoteView(cn), cn.ID })
}

// creditNoteView is a credit note as the API renders it (its credit_note.issued event carries
// the same).
type creditNoteView = invoice.WireCreditNote

func newCreditNoteView(cn *domain.CreditNote) *creditNoteView { return invoice.WireCreditNoteOf(cn) }

// creditNotePDF answers a credit note's PDF as stored at its issue.
func (h invoiceRoutes) creditNotePDF(c echo.Context, r *Request) (int, any, error) {
	f, err := h.on(r).CreditNotePDF(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
	if err != nil {
		return 0, nil, err
	}
	return 0, nil, sendFile(c, f)
}

// sendCreditNote e-mails a credit note with its PDF: {"to": optional address, else the client's}.
func (h invoiceRoutes) sendCreditNote(c echo.Context, r *Request) (int, any, error) {
	var in struct {
		To string `json:"to"`
	}
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	sent, err := h.on(r).SendCreditNote(c.Request().Context(), r.Actor, r.Org, c.Param("id"), in.To)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"creditNoteId": c.Param("id"), "sent": true, "to": sent.To, "number": sent.Number, "sha256": sent.SHA256}, nil
}
