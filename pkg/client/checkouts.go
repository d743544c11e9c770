package client

import (
	"context"
	"slices"
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
//
// One statement reads the clients, their active holds' ids and the organisation's setting
// (ScreenClients); a held client's hold and the dispute check, when the organisation asks for
// it, take one more each.
func (s *Service) ScreenCheckout(ctx context.Context, orgID string, mode domain.Mode, clientID, email string) (*domain.CheckoutScreen, error) {
	named := ""
	if strings.HasPrefix(clientID, domain.PrefixClient+"_") {
		named = clientID
	}
	read, err := s.store.ScreenClients(ctx, orgID, mode, named, email)
	if err != nil {
		return nil, err
	}
	screen := &domain.CheckoutScreen{}
	var found []*domain.ScreenedClient // the named client first, then the e-mail's (another one)
	if named != "" {
		i := slices.IndexFunc(read.Clients, func(c domain.ScreenedClient) bool { return c.ID == named })
		if i < 0 || read.Clients[i].Mode != mode {
			e := domain.Unprocessable(domain.CodeClientNotFound, "clientId %s is not a client of this organisation in %s mode", clientID, mode)
			e.Field = "clientId"
			return nil, e
		}
		found = append(found, &read.Clients[i])
		screen.Named = true
	}
	if email != "" {
		if i := slices.IndexFunc(read.Clients, func(c domain.ScreenedClient) bool { return c.ID != named }); i >= 0 {
			found = append(found, &read.Clients[i])
		}
	}
	if len(found) == 0 {
		return screen, nil
	}
	screen.ClientID, screen.Known, screen.Client = found[0].ID, true, &found[0].Client
	if err := s.screenHolds(ctx, orgID, found, screen); err != nil {
		return nil, err
	}
	if read.BlockCheckoutsOnDispute {
		ids := make([]string, len(found))
		for i, c := range found {
			ids[i] = c.ID
		}
		open, err := s.store.ClientsHaveOpenDispute(ctx, orgID, ids)
		if err != nil {
			return nil, err
		}
		if open {
			return nil, domain.BlockedByDispute()
		}
	}
	return screen, nil
}

// screenHolds applies the screened clients' active holds, in order: a block refuses the
// checkout; a restriction goes into the screen.
func (s *Service) screenHolds(ctx context.Context, orgID string, found []*domain.ScreenedClient, screen *domain.CheckoutScreen) error {
	for _, c := range found {
		if c.ActiveHoldID == nil {
			continue
		}
		h, err := s.store.ActiveClientHold(ctx, orgID, c.ID)
		if err != nil {
			return err
		}
		if h == nil { // released since the read
			continue
		}
		if h.Action == domain.HoldBlock {
			return h.Refusal()
		}
		screen.Holds = append(screen.Holds, *h)
	}
	return nil
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
	if c.ClientCurrent() {
		return id, nil // as screened, it has all the checkout says: nothing to write
	}
	cl := domain.ClientFromCheckout(c, id, s.now().UTC())
	if c.ClientID == id || c.Email == "" {
		return id, s.store.MergeCheckoutClient(ctx, cl)
	}
	return s.store.UpsertCheckoutClient(ctx, cl)
}
