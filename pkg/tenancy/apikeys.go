package tenancy

import (
	"context"
	"time"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
)

// APIKeyInput creates an API key.
type APIKeyInput struct {
	Name      string
	Mode      string
	Scopes    []string
	ExpiresAt *time.Time
}

// CreateAPIKey creates a key and returns it with its token (sk_<mode>_<id>.<secret>), shown
// this once. An API key can only create keys with scopes it holds itself.
func (s *Service) CreateAPIKey(ctx context.Context, actor domain.Actor, orgID string, in APIKeyInput) (*domain.APIKey, string, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, "", err
	}
	if err := auth.Authorize(actor, "api_key", "create"); err != nil {
		return nil, "", err
	}
	k, token, err := s.newAPIKey(actor, orgID, in)
	if err != nil {
		return nil, "", err
	}
	err = s.store.InTx(ctx, func(tx Store) error {
		if err := tx.CreateAPIKey(ctx, k); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "api_key.create", "api_key", k.ID, map[string]any{"name": k.Name, "mode": k.Mode, "scopes": k.Scopes})
	})
	return k, token, err
}

func (s *Service) newAPIKey(actor domain.Actor, orgID string, in APIKeyInput) (*domain.APIKey, string, error) {
	mode := domain.Mode(in.Mode)
	if !mode.Valid() {
		return nil, "", domain.Invalid("mode", "mode must be test or live")
	}
	if err := auth.AuthorizeMode(actor, mode); err != nil {
		return nil, "", err
	}
	// Every invalid field at once (the API answers with the first).
	var bad domain.Invalids
	if len(in.Name) > 200 {
		bad.Add("name", "name must be at most 200 characters")
	}
	if len(in.Scopes) == 0 || len(in.Scopes) > 50 {
		bad.Add("scopes", "give between 1 and 50 scopes, e.g. [\"checkout:create\"]")
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(s.now()) {
		bad.Add("expiresAt", "expiresAt must be in the future")
	}
	for _, sc := range in.Scopes {
		if err := bad.Collect(domain.ValidateScope(sc)); err != nil {
			return nil, "", err
		}
		if bad.Failed() {
			continue
		}
		if actor.Type == domain.ActorAPIKey {
			res, act, _ := cut(sc)
			if !covers(actor.Scopes, res, act) {
				return nil, "", domain.Forbidden(domain.CodeInsufficientScope, "an API key cannot grant the scope %s it does not hold", sc)
			}
		}
	}
	if bad.Failed() {
		return nil, "", bad.Err()
	}
	secret := auth.NewSecret()
	k := &domain.APIKey{
		ID: domain.NewID(domain.PrefixAPIKey), OrganizationID: orgID, Name: in.Name, Mode: mode,
		SecretHash: s.keys.HashAPISecret(secret), SecretHint: secret[len(secret)-4:], Scopes: in.Scopes,
		CreatedBy: actor.Label, ExpiresAt: in.ExpiresAt,
	}
	return k, auth.FormatToken(mode, k.ID, secret), nil
}

func cut(scope string) (string, string, bool) {
	for i := 0; i < len(scope); i++ {
		if scope[i] == ':' {
			return scope[:i], scope[i+1:], true
		}
	}
	return scope, "", false
}

// covers reports whether held scopes include every permission the scope res:act grants.
func covers(held []string, res, act string) bool {
	for _, h := range held {
		hr, ha, _ := cut(h)
		if (hr == "*" || hr == res) && (ha == "*" || ha == act) {
			return true
		}
	}
	return false
}

// ListAPIKeys lists the organisation's keys (masked).
func (s *Service) ListAPIKeys(ctx context.Context, actor domain.Actor, orgID string) ([]domain.APIKey, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "api_key", "read"); err != nil {
		return nil, err
	}
	keys, err := s.store.ListAPIKeys(ctx, orgID)
	return auth.OfModeSeen(actor, keys, func(k *domain.APIKey) domain.Mode { return k.Mode }), err
}

// GetAPIKey returns one key (masked).
func (s *Service) GetAPIKey(ctx context.Context, actor domain.Actor, orgID, id string) (*domain.APIKey, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "api_key", "read"); err != nil {
		return nil, err
	}
	return s.store.GetOrgAPIKey(ctx, orgID, id)
}

// RevokeAPIKey revokes a key at once.
func (s *Service) RevokeAPIKey(ctx context.Context, actor domain.Actor, orgID, id string) error {
	if err := auth.InOrg(actor, orgID); err != nil {
		return err
	}
	if err := auth.Authorize(actor, "api_key", "update"); err != nil {
		return err
	}
	err := s.store.InTx(ctx, func(tx Store) error {
		if err := tx.RevokeAPIKey(ctx, orgID, id); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "api_key.revoke", "api_key", id, nil)
	})
	if err == nil && s.onKeyChange != nil {
		s.onKeyChange(id)
	}
	return err
}

// DeleteAPIKey removes a key for good.
func (s *Service) DeleteAPIKey(ctx context.Context, actor domain.Actor, orgID, id string) error {
	if err := auth.InOrg(actor, orgID); err != nil {
		return err
	}
	if err := auth.Authorize(actor, "api_key", "delete"); err != nil {
		return err
	}
	err := s.store.InTx(ctx, func(tx Store) error {
		if err := tx.DeleteAPIKey(ctx, orgID, id); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "api_key.delete", "api_key", id, nil)
	})
	if err == nil && s.onKeyChange != nil {
		s.onKeyChange(id)
	}
	return err
}

// RotateAPIKey replaces a key with a new one of the same name, mode and scopes. The old key
// keeps working for grace (0: it is revoked at once), so integrations can switch over.
func (s *Service) RotateAPIKey(ctx context.Context, actor domain.Actor, orgID, id string, grace time.Duration) (*domain.APIKey, string, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, "", err
	}
	if err := auth.Authorize(actor, "api_key", "update"); err != nil {
		return nil, "", err
	}
	if grace < 0 || grace > 7*24*time.Hour {
		return nil, "", domain.Invalid("gracePeriodMinutes", "the grace period is from 0 to 10080 minutes")
	}
	var k *domain.APIKey
	var token string
	err := s.store.InTx(ctx, func(tx Store) error {
		old, err := tx.GetOrgAPIKey(ctx, orgID, id)
		if err != nil {
			return err
		}
		if !old.Active(s.now()) {
			return domain.Conflict(domain.CodeInvalidState, "the API key is revoked or expired and cannot be rotated")
		}
		k, token, err = s.newAPIKey(actor, orgID, APIKeyInput{Name: old.Name, Mode: string(old.Mode), Scopes: old.Scopes, ExpiresAt: old.ExpiresAt})
		if err != nil {
			return err
		}
		k.RotatedFrom = &old.ID
		if err := tx.CreateAPIKey(ctx, k); err != nil {
			return err
		}
		if grace == 0 {
			err = tx.RevokeAPIKey(ctx, orgID, old.ID)
		} else {
			err = tx.ExpireAPIKeyAt(ctx, orgID, old.ID, s.now().Add(grace))
		}
		if err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "api_key.rotate", "api_key", old.ID, map[string]any{"newKeyId": k.ID, "graceMinutes": int(grace.Minutes())})
	})
	if err == nil && s.onKeyChange != nil {
		s.onKeyChange(id)
	}
	return k, token, err
}
