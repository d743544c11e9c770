package app

import (
	"context"

	"github.com/riverqueue/river"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/store"
)

// registerInvoices wires invoicing into the main backend: the outbox consumer that invoices a
// successful checkout payment (when the organisation asks for it) or settles an invoice whose
// payment link was paid, and the one that issues the credit notes of refunds and lost
// disputes of invoiced payments, in the dispatcher's transaction; and the job that stores each
// issued document's PDF.
func registerInvoices(b *MainBackend) {
	svc := b.Services.Invoice
	b.registrations = append(b.registrations, func(ws *river.Workers, _ *queue.Periodic) { svc.RegisterWorkers(ws) })
	b.eventHooks["invoice"] = func(ctx context.Context, tx ipn.Store, e domain.Event) error {
		return svc.Hook(ctx, store.Rebind[invoice.Store, ipn.Store](tx), e)
	}
	// The credit notes of invoiced payments: a refund that succeeded, a dispute lost.
	b.eventHooks["credit_note"] = func(ctx context.Context, tx ipn.Store, e domain.Event) error {
		return svc.CreditHook(ctx, store.Rebind[invoice.Store, ipn.Store](tx), e)
	}
}

// siteEventsHook delivers the invoice events (invoice.issued, invoice.paid,
// credit_note.issued) of invoices that belong to a site with an events URL there, through the
// notifier's delivery machinery (signed with the site's secret, retried, SSRF-guarded), in the
// dispatcher's transaction. Never to a checkout's ipnUrl (the notifier's own hook handles
// transaction events only).
func siteEventsHook(svc *invoice.Service, n *ipn.Notifier) ipn.Hook {
	return func(ctx context.Context, tx ipn.Store, e domain.Event) error {
		d, err := svc.SiteEvent(ctx, store.Rebind[invoice.Store, ipn.Store](tx), e)
		if err != nil || d == nil {
			return err
		}
		return n.Enqueue(ctx, tx, d)
	}
}
