package client

import (
	"context"
	"strings"

	"paygate.dev/pkg/domain"
)

// Who may do what with holds (auth's role table): any editor (a support agent) may place a hold
// at once (client_hold:create) — tightening is always safe; changing or releasing one, which
// may loosen a risk decision, takes an admin (client_hold:update). Viewers see them.

// checkProviders checks that the hold's provider ids are providers of the organisation in the
// client's mode (NOT_FOUND-free: a bad id is a validation error naming the field).
func (s *Service) checkProviders(ctx context.Context, st Store, orgID string, mode domain.Mode, in *domain.HoldInput) error {
	for _, id := range in.AllowedProviderIDs {
		p, err := st.GetProvider(ctx, orgID, id)
		if domain.IsNotFound(err) || err == nil && p.Mode != mode {
			return domain.Invalid("allowedProviderIds", "provider %q is not one of the organisation's %s-mode providers", id, mode)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func holdDetails(h *domain.ClientHold) map[string]any {
	return map[string]any{"holdId": h.ID, "action": h.Action, "reason": h.Reason,
		"allowedProviderTypes": h.AllowedProviderTypes, "allowedProviderIds": h.AllowedProviderIDs}
}

// PlaceHold places a hold on a client: 409 CLIENT_HOLD_EXISTS when it already has an active
// one. Audited (client_hold.place).
func (s *Service) PlaceHold(ctx context.Context, actor domain.Actor, orgID, clientID string, in domain.HoldInput) (*domain.ClientHold, error) {
	if err := allowed(actor, orgID, "client_hold", "create"); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out *domain.ClientHold
	err := s.store.InTx(ctx, func(tx Store) error {
		c, err := s.seen(ctx, tx, actor, orgID, clientID)
		if err != nil {
			return err
		}
		if err := s.checkProviders(ctx, tx, orgID, c.Mode, &in); err != nil {
			return err
		}
		if cur, err := tx.ActiveClientHold(ctx, orgID, clientID); err != nil || cur != nil {
			if err == nil {
				err = domain.Conflict(domain.CodeClientHoldExists, "the client already has an active hold (%s): change or release it", cur.ID)
			}
			return err
		}
		now := s.now().UTC()
		h := &domain.ClientHold{ID: domain.NewID(domain.PrefixClientHold), OrganizationID: orgID, ClientID: clientID, Mode: c.Mode,
			Action: in.Action, Reason: in.Reason, Note: in.Note, AllowedProviderTypes: in.AllowedProviderTypes,
			AllowedProviderIDs: in.AllowedProviderIDs, CreatedBy: actor.Label, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateClientHold(ctx, h); err != nil {
			return err
		}
		out = h
		return tx.Audit(ctx, actor, "client_hold.place", "client", clientID, holdDetails(h))
	})
	return out, err
}

// activeHold loads one of the client's holds for a change: 409 CLIENT_HOLD_RELEASED once released.
func (s *Service) activeHold(ctx context.Context, tx Store, actor domain.Actor, orgID, clientID, holdID string) (*domain.ClientHold, error) {
	if _, err := s.seen(ctx, tx, actor, orgID, clientID); err != nil {
		return nil, err
	}
	h, err := tx.GetClientHold(ctx, orgID, clientID, holdID)
	if err != nil {
		return nil, err
	}
	if !h.Active() {
		return nil, domain.Conflict(domain.CodeClientHoldReleased, "the hold was released; place a new one")
	}
	return h, nil
}

// ChangeHold changes an active hold's action, reason, note and providers. Audited
// (client_hold.change, with the terms before and after).
func (s *Service) ChangeHold(ctx context.Context, actor domain.Actor, orgID, clientID, holdID string, in domain.HoldInput) (*domain.ClientHold, error) {
	if err := allowed(actor, orgID, "client_hold", "update"); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out *domain.ClientHold
	err := s.store.InTx(ctx, func(tx Store) error {
		h, err := s.activeHold(ctx, tx, actor, orgID, clientID, holdID)
		if err != nil {
			return err
		}
		if err := s.checkProviders(ctx, tx, orgID, h.Mode, &in); err != nil {
			return err
		}
		before := holdDetails(h)
		h.Action, h.Reason, h.Note, h.AllowedProviderTypes, h.AllowedProviderIDs = in.Action, in.Reason, in.Note, in.AllowedProviderTypes, in.AllowedProviderIDs
		if err := tx.UpdateClientHold(ctx, h); err != nil {
			return err
		}
		out = h
		details := holdDetails(h)
		details["before"] = before
		return tx.Audit(ctx, actor, "client_hold.change", "client", clientID, details)
	})
	return out, err
}

// ReleaseHold ends an active hold: new checkouts for the client are no longer refused or
// narrowed (those created under it keep their providers). Audited (client_hold.release).
func (s *Service) ReleaseHold(ctx context.Context, actor domain.Actor, orgID, clientID, holdID, note string) (*domain.ClientHold, error) {
	if err := allowed(actor, orgID, "client_hold", "update"); err != nil {
		return nil, err
	}
	note = strings.TrimSpace(note)
	if len(note) > 2000 {
		return nil, domain.Invalid("note", "note must be at most 2000 characters")
	}
	var out *domain.ClientHold
	err := s.store.InTx(ctx, func(tx Store) error {
		h, err := s.activeHold(ctx, tx, actor, orgID, clientID, holdID)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		h.ReleasedAt, h.ReleasedBy = &now, actor.Label
		if err := tx.UpdateClientHold(ctx, h); err != nil {
			return err
		}
		out = h
		details := holdDetails(h)
		if note != "" {
			details["note"] = note
		}
		return tx.Audit(ctx, actor, "client_hold.release", "client", clientID, details)
	})
	return out, err
}

// ListHolds lists a client's holds, newest first (released ones too).
func (s *Service) ListHolds(ctx context.Context, actor domain.Actor, orgID, clientID string) ([]domain.ClientHold, error) {
	if err := allowed(actor, orgID, "client_hold", "read"); err != nil {
		return nil, err
	}
	if _, err := s.seen(ctx, s.store, actor, orgID, clientID); err != nil {
		return nil, err
	}
	return s.store.ListClientHolds(ctx, orgID, clientID)
}
