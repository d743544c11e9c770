package store

import (
	"context"

	"paygate.dev/pkg/domain"
)

// transactionColumns maps the changes to their columns.
func transactionColumns(c domain.TransactionChanges) map[string]any {
	set := map[string]any{}
	put := func(col string, v *string) {
		if v != nil {
			set[col] = *v
		}
	}
	put("provider_reference", c.ProviderReference)
	put("payment_reference", c.PaymentReference)
	put("provider_payment_id", c.ProviderPaymentID)
	put("failure_code", c.FailureCode)
	if c.FailureMessage != nil {
		msg := *c.FailureMessage
		if len(msg) > domain.MaxFailureMessage {
			msg = msg[:domain.MaxFailureMessage]
		}
		set["failure_message"] = msg
	}
	put("dispute_status", c.DisputeStatus)
	if c.ProviderData != nil {
		set["provider_data"] = jsonValue(c.ProviderData)
	}
	if c.RefundedAmount != nil {
		set["refunded_amount"] = *c.RefundedAmount
	}
	if c.Duplicate != nil {
		set["duplicate"] = *c.Duplicate
	}
	if c.BuyerMarkedPendingAt != nil {
		set["buyer_marked_pending_at"] = UTC(*c.BuyerMarkedPendingAt)
	}
	return set
}

func refundColumns(c domain.RefundChanges) map[string]any {
	set := map[string]any{}
	if c.Status != nil {
		set["status"] = *c.Status
	}
	if c.ProviderReference != nil {
		set["provider_reference"] = *c.ProviderReference
	}
	if c.FailureMessage != nil {
		set["failure_message"] = *c.FailureMessage
	}
	if c.Manual != nil {
		set["manual"] = *c.Manual
	}
	return set
}

// RewriteTransactionForTest writes raw columns of a transaction (status, created_at ...) with
// no state machine, event or guard: for test fixtures only (backdating a payment), never for
// the platform, which writes domain.TransactionChanges through TransitionTransaction and
// UpdateTransactionFields.
func (s *Store) RewriteTransactionForTest(ctx context.Context, orgID, id string, cols map[string]any) error {
	return translate(s.q(ctx).Model(&domain.Transaction{}).Where("id = ? AND organization_id = ?", id, orgID).Updates(cols).Error, "transaction")
}
