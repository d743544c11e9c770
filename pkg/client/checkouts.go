package client

import (
	"context"
	"strings"

	"paygate.dev/pkg/domain"
)

// ScreenCheckout decides, before a checkout of the organisation and mode is written, which
// client it belongs to and whether it may be created: the client the merchant's clientId names
// when it is one of ours (cli_...: 422 CLIENT_NOT_FOUND when the organisation has no such
// client in this mode), and the client of the buyer's e-mail. A block hold on either refuses
// the checkout (409 CHECKOUT_BLOCKED_BY_CUSTOMER_HOLD); so does an unresolved dispute on
// either's payments when the organisation asks for it (409 CHECKOUT_BLOCKED_BY_DISPUTE). The
// restricting holds come back for the checkout to narrow its providers. Nothing is written.
func (s *Service) ScreenCheckout(ctx context.Context, orgID string, mode domain.Mode, clientID, email string) (*domain.CheckoutScreen, error) {
	screen := &domain.CheckoutScreen{}
	var ids []string
	if strings.HasPrefix(clientID, domain.PrefixClient+"_") {
		c, err := s.store.GetClient(ctx, orgID, clientID)
		if err != nil && !domain.IsNotFound(err) {
			return nil, err
		}
		if err != nil || c.Mode != mode {
			e := domain.Unprocessable(domain.CodeClientNotFound, "clientId %s is not a client of this organisation in %s mode", clientID, mode)
			e.Field = "clientId"
			return nil, e
		}
		screen.ClientID, screen.Named, screen.Known = c.ID, true, true
		ids = append(ids, c.ID)
	}
	if email != "" {
		c, err := s.store.FindClientByEmail(ctx, orgID, mode, email)
		if err != nil {
			return nil, err
		}
		if c != nil && (len(ids) == 0 || ids[0] != c.ID) {
			ids = append(ids, c.ID)
			if screen.ClientID == "" {
				screen.ClientID, screen.Known = c.ID, true
			}
		}
	}
	for _, id := range ids {
		h, err := s.store.ActiveClientHold(ctx, orgID, id)
		if err != nil {
			return nil, err
		}
		if h == nil {
			continue
		}
		if h.Action == domain.HoldBlock {
			return nil, h.Refusal()
		}
		screen.Holds = append(screen.Holds, *h)
	}
	if len(ids) > 0 {
		org, err := s.store.GetOrganization(ctx, orgID)
		if err != nil {
			return nil, err
		}
		if org.BlockCheckoutsOnDispute {
			open, err := s.store.ClientsHaveOpenDispute(ctx, orgID, ids)
			if err != nil {
				return nil, err
			}
			if open {
				return nil, domain.BlockedByDispute()
			}
		}
	}
	return screen, nil
}

// RecordCheckout creates or updates the client of a checkout about to be written (in the
// checkout's transaction, before it): the client its clientId named gets the checkout's buyer
// details; otherwise the buyer's e-mail's client is created, or updated. It returns the
// client's id, which differs from the checkout's LinkedClientID only when another checkout
// created the buyer's client meanwhile.
func (s *Service) RecordCheckout(ctx context.Context, c *domain.Checkout) (string, error) {
	if c.LinkedClientID == nil {
		return "", nil
	}
	id := *c.LinkedClientID
	cl := domain.ClientFromCheckout(c, id, s.now().UTC())
	if c.ClientID == id || c.Email == "" {
		return id, s.store.MergeCheckoutClient(ctx, cl)
	}
	return s.store.UpsertCheckoutClient(ctx, cl)
}
