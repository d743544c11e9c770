package store

import (
	"context"

	"paygate.dev/pkg/domain"
)

// CreateProvider inserts a provider; its credentials must already be sealed.
func (s *Store) CreateProvider(ctx context.Context, p *domain.Provider) error {
	now := Now()
	p.CreatedAt, p.UpdatedAt = now, now
	if p.Settings == nil {
		p.Settings = map[string]string{}
	}
	if p.CredentialsHint == nil {
		p.CredentialsHint = map[string]string{}
	}
	return translate(s.q(ctx).Create(p).Error, "provider")
}

// GetProvider returns NOT_FOUND when the provider does not exist or belongs to another organisation.
func (s *Store) GetProvider(ctx context.Context, orgID, id string) (*domain.Provider, error) {
	var p domain.Provider
	if err := s.q(ctx).Where("id = ? AND organization_id = ?", id, orgID).Take(&p).Error; err != nil {
		return nil, translate(err, "provider")
	}
	return &p, nil
}

// GetProviderByID looks a provider up by id alone: provider webhooks name only the provider.
func (s *Store) GetProviderByID(ctx context.Context, id string) (*domain.Provider, error) {
	var p domain.Provider
	if err := s.q(ctx).Where("id = ?", id).Take(&p).Error; err != nil {
		return nil, translate(err, "provider")
	}
	return named(ctx, &p), nil
}

// ListProviders lists an organisation's providers, oldest first.
func (s *Store) ListProviders(ctx context.Context, orgID string) ([]domain.Provider, error) {
	var out []domain.Provider
	return out, translate(s.q(ctx).Where("organization_id = ?", orgID).Order("id").Find(&out).Error, "providers")
}

// ListProvidersByType lists every enabled provider of a type across organisations (reconciliation).
func (s *Store) ListProvidersByType(ctx context.Context, t domain.ProviderType) ([]domain.Provider, error) {
	var out []domain.Provider
	return out, translate(s.q(ctx).Where("type = ? AND enabled = ?", t, true).Order("id").Find(&out).Error, "providers")
}

// UpdateProvider saves a provider's name, enabled flag, settings and (sealed) credentials.
func (s *Store) UpdateProvider(ctx context.Context, p *domain.Provider) error {
	p.UpdatedAt = Now()
	res := s.q(ctx).Model(&domain.Provider{}).Where("id = ? AND organization_id = ?", p.ID, p.OrganizationID).
		Select("name", "enabled", "settings", "credentials", "credentials_hint", "availability", "updated_at").Updates(p)
	if res.Error != nil {
		return translate(res.Error, "provider")
	}
	if res.RowsAffected == 0 {
		return domain.NotFound("provider")
	}
	return nil
}

// DeleteProvider removes a provider. One with transactions cannot be deleted (CONFLICT): disable it.
func (s *Store) DeleteProvider(ctx context.Context, orgID, id string) error {
	return s.InTx(ctx, func(tx *Store) error {
		var n int64
		if err := tx.db.Model(&domain.Transaction{}).Where("provider_id = ? AND organization_id = ?", id, orgID).Count(&n).Error; err != nil {
			return translate(err, "provider")
		}
		if n > 0 {
			return domain.Conflict(domain.CodeInvalidState, "the provider has %d transactions; disable it instead of deleting it", n)
		}
		if err := tx.db.Exec(`UPDATE sites SET default_provider_id = NULL WHERE default_provider_id = ? AND organization_id = ?`, id, orgID).Error; err != nil {
			return translate(err, "provider")
		}
		res := tx.db.Where("id = ? AND organization_id = ?", id, orgID).Delete(&domain.Provider{})
		if res.Error != nil {
			return translate(res.Error, "provider")
		}
		if res.RowsAffected == 0 {
			return domain.NotFound("provider")
		}
		return nil
	})
}
