package invoice

import (
	"context"

	"paygate.dev/pkg/domain"
)

// Event types of the outbox that invoicing writes (documented in docs/INVOICES.md). They carry
// no checkout or transaction id of their own (the transaction consumers ignore them); their
// data names the invoice.
const (
	EventInvoiceIssued = "invoice.issued"
	// EventInvoicePaid is written for each payment that settles (part of) an invoice, with
	// the payment state it leaves.
	EventInvoicePaid = "invoice.paid"
)

// issuedEvent records an invoice's issue in the outbox, in tx.
func issuedEvent(ctx context.Context, tx Store, inv *domain.Invoice) error {
	return tx.AppendEvent(ctx, &domain.Event{OrganizationID: inv.OrganizationID, Type: EventInvoiceIssued, Status: string(inv.Status),
		Data: map[string]any{"invoiceId": inv.ID, "number": deref(inv.Number), "mode": string(inv.Mode), "currency": inv.Currency,
			"totalGross": inv.TotalGross, "totalTax": inv.TotalTax}})
}

// paidEvent records a settlement in the outbox with the balance it leaves, in tx.
func (s *Service) paidEvent(ctx context.Context, tx Store, inv *domain.Invoice, st *domain.Settlement) error {
	v, err := s.view(ctx, tx, inv)
	if err != nil {
		return err
	}
	return tx.AppendEvent(ctx, &domain.Event{OrganizationID: inv.OrganizationID, Type: EventInvoicePaid, Status: string(v.Balance.State),
		Data: map[string]any{"invoiceId": inv.ID, "number": deref(inv.Number), "mode": string(inv.Mode), "currency": inv.Currency,
			"transactionId": st.TransactionID, "amount": st.Amount, "paid": v.Balance.Paid, "outstanding": v.Balance.Outstanding, "state": string(v.Balance.State)}})
}
