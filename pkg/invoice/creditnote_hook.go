package invoice

import (
	"context"
	"strconv"

	"paygate.dev/pkg/domain"
)

// CreditHook is the outbox consumer that issues the credit notes of invoiced payments, run in
// tx (the dispatcher's transaction: a redelivered event finds the note and does nothing, and
// the notes' unique keys hold against a race):
//
//   - a refund that succeeded (the transaction's move to partially_refunded or refunded names
//     it; refund.created and refund.updated are looked at too) of a payment that settles an
//     invoice gets a refund credit note for its amount;
//   - a payment whose dispute was lost or accepted (the move to disputed, or the dispute's
//     progress events) gets a chargeback credit note for the disputed amount.
//
// The note never credits more than the invoice leaves creditable; a payment that settles no
// invoice gets none.
func (s *Service) CreditHook(ctx context.Context, tx Store, e domain.Event) error {
	switch e.Type {
	case domain.TransactionEventType(domain.TxnPartiallyRefunded), domain.TransactionEventType(domain.TxnRefunded),
		domain.EventRefundCreated, domain.EventRefundUpdated:
		id, _ := e.Data["refundId"].(string)
		if id == "" {
			return nil
		}
		return s.creditRefund(ctx, tx, e.OrganizationID, id)
	case domain.TransactionEventType(domain.TxnDisputed), domain.EventDisputeClosed, domain.EventDisputeUpdated:
		if e.TransactionID == nil {
			return nil
		}
		return s.creditChargeback(ctx, tx, e.OrganizationID, *e.TransactionID, e.Data)
	}
	return nil
}

// invoiceOf locks the issued invoice a payment settles; nil when it settles none.
func (s *Service) invoiceOf(ctx context.Context, tx Store, orgID, txnID string) (*domain.Invoice, error) {
	st, err := tx.GetSettlementByTransaction(ctx, orgID, txnID)
	if domain.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	inv, err := tx.LockInvoice(ctx, orgID, st.InvoiceID)
	if err != nil || inv.Status != domain.InvoiceIssued {
		return nil, err
	}
	return inv, nil
}

// creditRefund issues the refund note of a succeeded refund, once.
func (s *Service) creditRefund(ctx context.Context, tx Store, orgID, refundID string) error {
	r, err := tx.GetRefund(ctx, orgID, refundID)
	if err != nil || r.Status != domain.RefundSucceeded {
		return err
	}
	inv, err := s.invoiceOf(ctx, tx, orgID, r.TransactionID)
	if err != nil || inv == nil {
		return err
	}
	if _, err := tx.GetCreditNoteBySourceRefund(ctx, orgID, r.ID); err == nil || !domain.IsNotFound(err) {
		return err // credited already (nil), or the read failed
	}
	c, err := creditsOf(ctx, tx, inv)
	if err != nil {
		return err
	}
	amount := min(r.Amount, inv.TotalGross-c.credited)
	if amount <= 0 {
		s.log.WarnContext(ctx, "refund of an invoiced payment not credited: the invoice is credited in full already",
			"refund_id", r.ID, "invoice_id", inv.ID)
		return nil
	}
	_, err = s.issueCredit(ctx, tx, inv, c, creditRequest{kind: domain.CreditRefund, amount: amount, reason: r.Reason,
		refundID: &r.ID, txnID: &r.TransactionID, by: "system"})
	return err
}

// creditChargeback issues the chargeback note of a payment whose dispute was lost or accepted,
// once, for the disputed amount (the event's, else what the refunds left of the payment).
func (s *Service) creditChargeback(ctx context.Context, tx Store, orgID, txnID string, data map[string]any) error {
	t, err := tx.GetTransaction(ctx, orgID, txnID)
	if err != nil {
		return err
	}
	if t.DisputeStatus != "lost" && t.DisputeStatus != "accepted" {
		return nil
	}
	inv, err := s.invoiceOf(ctx, tx, orgID, t.ID)
	if err != nil || inv == nil {
		return err
	}
	if _, err := tx.GetChargebackCreditNote(ctx, orgID, t.ID); err == nil || !domain.IsNotFound(err) {
		return err
	}
	c, err := creditsOf(ctx, tx, inv)
	if err != nil {
		return err
	}
	amount := t.GrossAmount - t.RefundedAmount
	if d, ok := minorUnits(data["amount"]); ok && d > 0 {
		amount = min(amount, d)
	}
	amount = min(amount, inv.TotalGross-c.credited)
	if amount <= 0 {
		return nil
	}
	dispute := t.ID
	if id, _ := data["disputeId"].(string); id != "" {
		dispute = id
	}
	_, err = s.issueCredit(ctx, tx, inv, c, creditRequest{kind: domain.CreditChargeback, amount: amount,
		reason: "dispute " + t.DisputeStatus, dispute: &dispute, txnID: &t.ID, by: "system"})
	return err
}

// minorUnits reads an amount from an event's data (a number once the JSON was read back).
func minorUnits(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		return int64(n), n == float64(int64(n))
	case string:
		i, err := strconv.ParseInt(n, 10, 64)
		return i, err == nil
	}
	return 0, false
}
