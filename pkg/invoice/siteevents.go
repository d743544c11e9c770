package invoice

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"paygate.dev/pkg/domain"
)

// SiteEventBody is the JSON a site's events URL receives for one invoice event: id is the
// outbox event's id (the same in every attempt and resend: a receiver deduplicates on it), type
// one of invoice.issued, invoice.paid, credit_note.issued, and data the invoice or credit note
// as the Admin API renders it (Wire, WireCreditNote) when the event is dispatched.
type SiteEventBody struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	CreatedAt string `json:"createdAt"`
	Data      any    `json:"data"`
}

// SiteEvent turns an invoice event of the outbox into the notification its site's events URL
// is owed, in tx (the dispatcher's transaction); nil when none is: another event, an invoice
// without a site, a site without an events URL. Never a checkout's ipnUrl: the shop plugins
// read everything sent there as an order notification.
//
// The delivery is keyed (TransactionID, the IPN machinery's ordering key) by the invoice's id,
// so one invoice's events go out one at a time in order (issued before paid), and by the
// event's id, so a redelivered event adds nothing. The body is built now, once, and never
// changes; the notifier signs it with the site's secret at every attempt.
func (s *Service) SiteEvent(ctx context.Context, tx Store, e domain.Event) (*domain.IPNDelivery, error) {
	var invoiceID string
	switch e.Type {
	case EventInvoiceIssued, EventInvoicePaid, EventCreditNoteIssued:
		invoiceID, _ = e.Data["invoiceId"].(string)
	default:
		return nil, nil
	}
	if invoiceID == "" {
		return nil, nil
	}
	inv, err := tx.GetInvoice(ctx, e.OrganizationID, invoiceID)
	if err != nil || inv.SiteID == nil {
		return nil, err
	}
	site, err := tx.GetSite(ctx, e.OrganizationID, *inv.SiteID)
	if domain.IsNotFound(err) {
		return nil, nil // the site is gone: nowhere to deliver
	}
	if err != nil || site.EventsURL == nil || strings.TrimSpace(*site.EventsURL) == "" {
		return nil, err
	}
	data, err := s.siteEventData(ctx, tx, e, inv)
	if err != nil || data == nil {
		return nil, err
	}
	body, err := json.Marshal(SiteEventBody{ID: e.ID, Type: e.Type, CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339Nano), Data: data})
	if err != nil {
		return nil, domain.Internal(err, "encode invoice event")
	}
	return &domain.IPNDelivery{OrganizationID: e.OrganizationID, SiteID: site.ID, TransactionID: inv.ID, EventID: e.ID,
		URL: strings.TrimSpace(*site.EventsURL), IPNVersion: domain.SiteEventsVersion, Body: string(body),
		AllowPrivate: site.EventsAllowPrivate}, nil
}

// siteEventData renders the event's object: the credit note it names, or the invoice.
func (s *Service) siteEventData(ctx context.Context, tx Store, e domain.Event, inv *domain.Invoice) (any, error) {
	if e.Type == EventCreditNoteIssued {
		id, _ := e.Data["creditNoteId"].(string)
		if id == "" {
			return nil, nil
		}
		cn, err := tx.GetCreditNote(ctx, e.OrganizationID, id)
		if err != nil {
			return nil, err
		}
		return WireCreditNoteOf(cn), nil
	}
	v, err := s.view(ctx, tx, inv)
	if err != nil {
		return nil, err
	}
	return WireOf(v), nil
}
