package platform

import (
	"context"
	"strings"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/store"
)

// RefundInput asks for money back.
type RefundInput struct {
	// Amount in minor units; nil refunds everything still refundable.
	Amount *int64
	Reason string
	// Source says where the request came from (api, dashboard, duda).
	Source string
}

// Refund gives back all or part of a paid transaction through its provider. Partial and
// repeated refunds are allowed up to the captured amount, never beyond: the check and the
// pending refund row are written under a lock on the transaction, so concurrent refunds cannot
// together exceed it. The provider call happens outside any database transaction, with the
// refund id as its idempotency key; a provider that confirms at once moves the transaction to
// partially_refunded or refunded (IPN 3 when full) in the same database transaction as the
// refund's success. Wire-transfer refunds are recorded as manual.
//
// Errors: NOT_FOUND for another organisation's transaction; 409 INVALID_STATE when it is not
// paid; 409 PAYMENT_DISPUTED while it is disputed (a refund on top of a chargeback would pay
// the payer twice); 400 for a bad amount; 422 REFUND_EXCEEDS_BALANCE above what is left;
// 503 PROVIDER_ERROR when the provider refuses or fails (the refund is marked failed).
func (s *Service) Refund(ctx context.Context, actor domain.Actor, orgID, txnID string, in RefundInput) (*domain.Refund, error) {
	if err := inOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "refund", "create"); err != nil {
		return nil, err
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if len(in.Reason) > 500 {
		return nil, domain.Invalid("reason", "reason must be at most 500 characters")
	}
	if in.Source == "" {
		in.Source = "api"
		if actor.Type == domain.ActorUser {
			in.Source = "dashboard"
		}
	}
	var r *domain.Refund
	var total int64
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		t, err := tx.LockTransaction(ctx, orgID, txnID)
		if err != nil {
			return err
		}
		if t.Status == domain.TxnDisputed {
			if t.DisputeStatus == "lost" || t.DisputeStatus == "accepted" {
				return domain.Conflict(domain.CodePaymentDisputed, "the payment was disputed and the dispute was lost: the money already went back to the payer")
			}
			return domain.Conflict(domain.CodePaymentDisputed, "the payment is disputed; it cannot be refunded while the dispute is open")
		}
		if !t.Status.Paid() {
			return domain.Conflict(domain.CodeInvalidState, "only paid transactions can be refunded (this one is %s)", t.Status)
		}
		promised, err := tx.SumRefunds(ctx, t.ID)
		if err != nil {
			return err
		}
		left := t.GrossAmount - promised
		amount := left
		if in.Amount != nil {
			amount = *in.Amount
		}
		if amount <= 0 {
			if in.Amount == nil {
				return domain.Unprocessable(domain.CodeRefundExceedsBalance, "nothing is left to refund")
			}
			return domain.Invalid("amount", "amount must be a positive integer in minor units")
		}
		if amount > left {
			return domain.Unprocessable(domain.CodeRefundExceedsBalance, "at most %d can still be refunded (refunds so far: %d of %d)", left, promised, t.GrossAmount)
		}
		total = promised + amount
		r = &domain.Refund{ID: domain.NewID(domain.PrefixRefund), OrganizationID: orgID, TransactionID: t.ID, Amount: amount, Currency: t.Currency,
			Reason: in.Reason, Status: domain.RefundPending, Source: in.Source, CreatedBy: actor.Label}
		if err := tx.CreateRefund(ctx, r); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "refund.create", "transaction", t.ID, map[string]any{"refundId": r.ID, "amount": amount, "currency": t.Currency, "reason": in.Reason})
	})
	if err != nil {
		return nil, err
	}
	t, err := s.store.GetTransaction(ctx, orgID, txnID)
	if err != nil {
		return nil, err
	}
	p, err := s.store.GetProvider(ctx, orgID, t.ProviderID)
	if err != nil {
		return nil, err
	}
	adapter, err := s.providers.Get(p.Type)
	if err != nil {
		return nil, s.failRefund(ctx, r, err)
	}
	creds, err := s.ProviderCredentials(ctx, p)
	if err != nil {
		return nil, s.failRefund(ctx, r, err)
	}
	res, err := adapter.Refund(ctx, providers.RefundRequest{Provider: p, Credentials: creds, Transaction: t, Refund: r, TotalRefunded: total, IdempotencyKey: "refund:" + r.ID})
	if err != nil {
		return nil, s.failRefund(ctx, r, err)
	}
	if err := s.settleRefund(ctx, r, res); err != nil {
		return nil, err
	}
	return s.store.GetRefund(ctx, orgID, r.ID)
}

// failRefund marks a refund failed and explains the provider's refusal.
func (s *Service) failRefund(ctx context.Context, r *domain.Refund, cause error) error {
	msg := cause.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	if err := s.store.UpdateRefund(ctx, r.OrganizationID, r.ID, domain.RefundPending, map[string]any{"status": domain.RefundFailed, "failure_message": msg}); err != nil {
		s.log.ErrorContext(ctx, "mark refund failed", "refund_id", r.ID, "error", err)
	}
	if de, ok := cause.(*domain.Error); ok && de.Kind != domain.KindInternal {
		return cause
	}
	return domain.Unavailable(domain.CodeProviderError, cause, "the provider did not accept the refund: %s", msg)
}

// settleRefund records what the provider did with a refund.
func (s *Service) settleRefund(ctx context.Context, r *domain.Refund, res *providers.RefundResult) error {
	set := map[string]any{"manual": res.Manual}
	if res.ProviderReference != "" {
		set["provider_reference"] = res.ProviderReference
	}
	if res.Status != domain.RefundSucceeded {
		return s.store.UpdateRefund(ctx, r.OrganizationID, r.ID, domain.RefundPending, set)
	}
	return s.CompleteRefund(ctx, r.OrganizationID, r.ID, set)
}

// CompleteRefund marks a pending refund succeeded and moves its transaction to
// partially_refunded or refunded — both in one database transaction, with the events.
// A refund already completed is left as it is.
func (s *Service) CompleteRefund(ctx context.Context, orgID, refundID string, set map[string]any) error {
	if set == nil {
		set = map[string]any{}
	}
	set["status"] = domain.RefundSucceeded
	return s.store.InTx(ctx, func(tx *store.Store) error {
		r, err := tx.GetRefund(ctx, orgID, refundID)
		if err != nil {
			return err
		}
		if r.Status == domain.RefundSucceeded {
			return nil
		}
		if err := tx.UpdateRefund(ctx, orgID, refundID, domain.RefundPending, set); err != nil {
			return err
		}
		t, err := tx.LockTransaction(ctx, orgID, r.TransactionID)
		if err != nil {
			return err
		}
		refunded := t.RefundedAmount + r.Amount
		if refunded > t.GrossAmount {
			return domain.Conflict(domain.CodeRefundExceedsBalance, "refunds would exceed the captured amount")
		}
		kind, to := domain.OutcomePartiallyRefunded, domain.TxnPartiallyRefunded
		if refunded == t.GrossAmount {
			kind, to = domain.OutcomeRefunded, domain.TxnRefunded
		}
		_, err = tx.TransitionTransaction(ctx, store.Transition{OrganizationID: orgID, TransactionID: t.ID, Kind: kind,
			Set: map[string]any{"refunded_amount": refunded}, EventData: map[string]any{"refundId": r.ID, "amount": r.Amount, "refundedAmount": refunded}})
		if err == nil {
			s.metrics.TransactionsByStat.WithLabelValues(string(t.ProviderType), string(to)).Inc()
		}
		return err
	})
}

// FailRefund marks a pending refund failed (a provider reported it bounced or was refused).
func (s *Service) FailRefund(ctx context.Context, orgID, refundID, message string) error {
	err := s.store.UpdateRefund(ctx, orgID, refundID, domain.RefundPending, map[string]any{"status": domain.RefundFailed, "failure_message": message})
	if domain.IsConflict(err) {
		return nil
	}
	return err
}

// ListRefunds lists a transaction's refunds.
func (s *Service) ListRefunds(ctx context.Context, actor domain.Actor, orgID, txnID string) ([]domain.Refund, error) {
	if err := inOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "refund", "read"); err != nil {
		return nil, err
	}
	if _, err := s.store.GetTransaction(ctx, orgID, txnID); err != nil {
		return nil, err
	}
	return s.store.ListRefunds(ctx, orgID, txnID)
}
