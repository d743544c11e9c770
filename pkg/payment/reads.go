package payment

import (
	"context"
	"time"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
)

// PaymentStats computes an organisation's payment statistics in one mode since each time
// given, for an actor who may read its transactions in that mode.
func (s *Service) PaymentStats(ctx context.Context, actor domain.Actor, orgID string, mode domain.Mode, since ...time.Time) ([]domain.PaymentStats, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "transaction", "read"); err != nil {
		return nil, err
	}
	if err := auth.AuthorizeMode(actor, mode); err != nil {
		return nil, err
	}
	return s.store.Stats(ctx, orgID, mode, since...)
}
