package payment

import (
	"context"

	"paygate.dev/pkg/domain"
)

// Provider bookkeeping that is not a status change: linking the provider's payment to an
// attempt, keeping provider details on it, and notes for its timeline. Written for providers
// whose payments unfold over days (GoCardless), usable by any.

// LinkProviderPayment records the provider's payment id on a transaction (the payment a
// GoCardless billing request created) and merges data into its provider data, under a row
// lock so concurrent webhooks do not lose each other's keys. Linking is idempotent: the same id
// again changes nothing. A transaction already linked to another payment is left as it is and
// CONFLICT INVALID_STATE is returned. NOT_FOUND for an unknown transaction.
func (s *Service) LinkProviderPayment(ctx context.Context, t *domain.Transaction, paymentID string, data map[string]any) error {
	return s.store.InTx(ctx, func(tx Store) error {
		cur, err := tx.LockTransaction(ctx, t.OrganizationID, t.ID)
		if err != nil {
			return err
		}
		var set domain.TransactionChanges
		if paymentID != "" {
			switch {
			case cur.ProviderPaymentID == nil || *cur.ProviderPaymentID == "":
				set.ProviderPaymentID = &paymentID
			case *cur.ProviderPaymentID != paymentID:
				return domain.Conflict(domain.CodeInvalidState, "the transaction is linked to payment %s, not %s", *cur.ProviderPaymentID, paymentID)
			}
		}
		if merged, changed := mergeData(cur.ProviderData, data); changed {
			set.ProviderData = merged
		}
		if set.Empty() {
			return nil
		}
		return tx.UpdateTransactionFields(ctx, cur.OrganizationID, cur.ID, set)
	})
}

// MergeProviderData adds keys to a transaction's provider data (a new authorisation flow, a
// charge date), under a row lock. NOT_FOUND for an unknown transaction.
func (s *Service) MergeProviderData(ctx context.Context, t *domain.Transaction, data map[string]any) error {
	return s.LinkProviderPayment(ctx, t, "", data)
}

func mergeData(cur, add map[string]any) (map[string]any, bool) {
	out := make(map[string]any, len(cur)+len(add))
	for k, v := range cur {
		out[k] = v
	}
	changed := false
	for k, v := range add {
		if old, ok := out[k]; !ok || jsonText(old) != jsonText(v) {
			out[k] = v
			changed = true
		}
	}
	return out, changed
}

// RecordTransactionNote adds an event to a transaction's timeline without changing its status
// (a GoCardless mandate that failed, a refund that bounced after it was paid). eventType must
// not start with "transaction.": those events are status changes and notify the merchant.
func (s *Service) RecordTransactionNote(ctx context.Context, t *domain.Transaction, eventType string, data map[string]any) error {
	cur, err := s.store.GetTransaction(ctx, t.OrganizationID, t.ID)
	if err != nil {
		return err
	}
	return s.store.AppendEvent(ctx, &domain.Event{OrganizationID: cur.OrganizationID, Type: eventType, CheckoutID: &cur.CheckoutID,
		TransactionID: &cur.ID, Status: string(cur.Status), Data: data})
}
