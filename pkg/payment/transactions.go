package payment

import (
	"context"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
)

// TransactionDetail is a transaction with its refunds and timeline.
type TransactionDetail struct {
	Transaction *domain.Transaction
	Checkout    *domain.Checkout
	Refunds     []domain.Refund
	Events      []domain.Event
}

// GetTransaction returns a transaction with its refunds and events; NOT_FOUND for another
// organisation's.
func (s *Service) GetTransaction(ctx context.Context, actor domain.Actor, orgID, id string) (*TransactionDetail, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "transaction", "read"); err != nil {
		return nil, err
	}
	t, err := s.store.GetTransaction(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	c, err := s.store.GetCheckout(ctx, orgID, t.CheckoutID)
	if err != nil {
		return nil, err
	}
	refunds, err := s.store.ListRefunds(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	events, err := s.store.ListTransactionEvents(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	return &TransactionDetail{Transaction: t, Checkout: c, Refunds: refunds, Events: events}, nil
}

// ListTransactions lists transactions newest first, with whether there is more.
func (s *Service) ListTransactions(ctx context.Context, actor domain.Actor, f domain.TransactionFilter) ([]domain.Transaction, bool, error) {
	if err := auth.InOrg(actor, f.OrganizationID); err != nil {
		return nil, false, err
	}
	if err := auth.Authorize(actor, "transaction", "read"); err != nil {
		return nil, false, err
	}
	if f.Limit < 1 || f.Limit > 100 {
		return nil, false, domain.Invalid("limit", "limit must be from 1 to 100")
	}
	if f.Mode != "" && !f.Mode.Valid() {
		return nil, false, domain.Invalid("mode", "mode must be test or live")
	}
	if !auth.ModeFilter(actor, &f.Mode) {
		return nil, false, nil
	}
	out, err := s.store.ListTransactions(ctx, f)
	if err != nil {
		return nil, false, err
	}
	out, more := domain.CutPage(out, f.Limit)
	return out, more, nil
}
