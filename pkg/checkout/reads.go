package checkout

import (
	"context"

	"paygate.dev/pkg/domain"
)

// CheckoutTimeline lists a checkout's events, oldest first, for an actor who may read it.
func (s *Service) CheckoutTimeline(ctx context.Context, actor domain.Actor, orgID, checkoutID string) ([]domain.Event, error) {
	if _, err := s.GetCheckout(ctx, actor, orgID, checkoutID); err != nil {
		return nil, err // not found, another organisation's, or not the actor's to read
	}
	return s.store.ListCheckoutEvents(ctx, orgID, checkoutID)
}
