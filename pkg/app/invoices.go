package app

import (
	"context"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/store"
)

// registerInvoices wires invoicing into the main backend: the outbox consumer that invoices a
// successful checkout payment (when the organisation asks for it) or settles an invoice whose
// payment link was paid, and the one that issues the credit notes of refunds and lost
// disputes of invoiced payments, in the dispatcher's transaction.
func registerInvoices(b *MainBackend) {
	svc := b.Services.Invoice
	b.eventHooks["invoice"] = func(ctx context.Context, tx *store.Store, e domain.Event) error {
		return svc.Hook(ctx, store.PortOf[invoice.Store](tx), e)
	}
	// The credit notes of invoiced payments: a refund that succeeded, a dispute lost.
	b.eventHooks["credit_note"] = func(ctx context.Context, tx *store.Store, e domain.Event) error {
		return svc.CreditHook(ctx, store.PortOf[invoice.Store](tx), e)
	}
}
