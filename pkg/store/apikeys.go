package store

import (
	"context"
	"time"

	"paygate.dev/pkg/domain"
)

// CreateAPIKey inserts an API key (its secret already hashed).
func (s *Store) CreateAPIKey(ctx context.Context, k *domain.APIKey) error {
	k.CreatedAt = Now()
	k.ExpiresAt = utcPtr(k.ExpiresAt)
	if k.Scopes == nil {
		k.Scopes = []string{}
	}
	return translate(s.q(ctx).Create(k).Error, "API key")
}

// GetAPIKey looks a key up by id alone (authentication starts from the key id in the token).
func (s *Store) GetAPIKey(ctx context.Context, id string) (*domain.APIKey, error) {
	var k domain.APIKey
	if err := s.q(ctx).Where("id = ?", id).Take(&k).Error; err != nil {
		return nil, translate(err, "API key")
	}
	return &k, nil
}

// GetOrgAPIKey returns NOT_FOUND for another organisation's key.
func (s *Store) GetOrgAPIKey(ctx context.Context, orgID, id string) (*domain.APIKey, error) {
	var k domain.APIKey
	if err := s.q(ctx).Where("id = ? AND organization_id = ?", id, orgID).Take(&k).Error; err != nil {
		return nil, translate(err, "API key")
	}
	return &k, nil
}

// ListAPIKeys lists an organisation's keys, newest first.
func (s *Store) ListAPIKeys(ctx context.Context, orgID string) ([]domain.APIKey, error) {
	var out []domain.APIKey
	return out, translate(s.q(ctx).Where("organization_id = ?", orgID).Order("id DESC").Find(&out).Error, "API keys")
}

// RevokeAPIKey revokes a key; revoking an already revoked key is a CONFLICT.
func (s *Store) RevokeAPIKey(ctx context.Context, orgID, id string) error {
	res := s.q(ctx).Model(&domain.APIKey{}).Where("id = ? AND organization_id = ? AND revoked_at IS NULL", id, orgID).
		Update("revoked_at", Now())
	if res.Error != nil {
		return translate(res.Error, "API key")
	}
	if res.RowsAffected == 0 {
		if _, err := s.GetOrgAPIKey(ctx, orgID, id); err != nil {
			return err
		}
		return domain.Conflict(domain.CodeInvalidState, "the API key is already revoked")
	}
	return nil
}

// ExpireAPIKeyAt sets a key's expiry (used when rotating: the old key lives on for a grace period).
func (s *Store) ExpireAPIKeyAt(ctx context.Context, orgID, id string, at time.Time) error {
	return translate(s.q(ctx).Model(&domain.APIKey{}).Where("id = ? AND organization_id = ?", id, orgID).
		Update("expires_at", UTC(at)).Error, "API key")
}

// DeleteAPIKey removes a key for good.
func (s *Store) DeleteAPIKey(ctx context.Context, orgID, id string) error {
	res := s.q(ctx).Where("id = ? AND organization_id = ?", id, orgID).Delete(&domain.APIKey{})
	if res.Error != nil {
		return translate(res.Error, "API key")
	}
	if res.RowsAffected == 0 {
		return domain.NotFound("API key")
	}
	return nil
}

// TouchAPIKeys records when keys were last used, in one statement per key; callers batch
// these so that authenticating a request never writes to the database.
func (s *Store) TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error {
	for id, at := range lastUsed {
		err := s.q(ctx).Exec(`UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, UTC(at), id, UTC(at)).Error
		if err != nil {
			return translate(err, "API key")
		}
	}
	return nil
}
