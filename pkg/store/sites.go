package store

import (
	"context"
	"strings"

	"paygate.dev/pkg/domain"
)

// CreateSite inserts a site.
func (s *Store) CreateSite(ctx context.Context, site *domain.Site) error {
	now := Now()
	site.CreatedAt, site.UpdatedAt = now, now
	if site.AllowedHosts == nil {
		site.AllowedHosts = []string{}
	}
	return translate(s.q(ctx).Create(site).Error, "site")
}

// GetSite returns NOT_FOUND when the site does not exist or belongs to another organisation.
func (s *Store) GetSite(ctx context.Context, orgID, id string) (*domain.Site, error) {
	var site domain.Site
	if err := s.q(ctx).Where("id = ? AND organization_id = ?", id, orgID).Take(&site).Error; err != nil {
		return nil, translate(err, "site")
	}
	return named(ctx, &site), nil
}

// GetSiteByID looks a site up without a tenant (runtime paths that start from a checkout).
func (s *Store) GetSiteByID(ctx context.Context, id string) (*domain.Site, error) {
	var site domain.Site
	if err := s.q(ctx).Where("id = ?", id).Take(&site).Error; err != nil {
		return nil, translate(err, "site")
	}
	return named(ctx, &site), nil
}

// ListSites lists an organisation's sites, oldest first.
func (s *Store) ListSites(ctx context.Context, orgID string) ([]domain.Site, error) {
	var out []domain.Site
	return out, translate(s.q(ctx).Where("organization_id = ?", orgID).Order("id").Find(&out).Error, "sites")
}

// UpdateSite saves a site's editable fields (not its webhook secret).
func (s *Store) UpdateSite(ctx context.Context, site *domain.Site) error {
	site.UpdatedAt = Now()
	if site.AllowedHosts == nil {
		site.AllowedHosts = []string{}
	}
	res := s.q(ctx).Model(&domain.Site{}).Where("id = ? AND organization_id = ?", site.ID, site.OrganizationID).
		Select("name", "logo_url", "primary_color", "allowed_hosts", "default_provider_id", "tax_display",
			"vat_id_validation", "default_language", "ipn_version", "frame_ancestors", "receipts_disabled", "events_url", "events_allow_private", "updated_at").
		Updates(site)
	if res.Error != nil {
		return translate(res.Error, "site")
	}
	if res.RowsAffected == 0 {
		return domain.NotFound("site")
	}
	return nil
}

// SetSiteWebhookSecret replaces a site's (encrypted) IPN signing secret.
func (s *Store) SetSiteWebhookSecret(ctx context.Context, orgID, siteID, sealed string) error {
	res := s.q(ctx).Model(&domain.Site{}).Where("id = ? AND organization_id = ?", siteID, orgID).
		Updates(map[string]any{"webhook_secret": sealed, "updated_at": Now()})
	if res.Error != nil {
		return translate(res.Error, "site")
	}
	if res.RowsAffected == 0 {
		return domain.NotFound("site")
	}
	return nil
}

// DeleteSite removes a site. A site with checkouts cannot be deleted (CONFLICT): history stays.
func (s *Store) DeleteSite(ctx context.Context, orgID, id string) error {
	return s.InTx(ctx, func(tx *Store) error {
		var n int64
		if err := tx.db.Model(&domain.Checkout{}).Where("site_id = ? AND organization_id = ?", id, orgID).Count(&n).Error; err != nil {
			return translate(err, "site")
		}
		if n > 0 {
			return domain.Conflict(domain.CodeInvalidState, "the site has %d checkouts and cannot be deleted", n)
		}
		res := tx.db.Where("id = ? AND organization_id = ?", id, orgID).Delete(&domain.Site{})
		if res.Error != nil {
			return translate(res.Error, "site")
		}
		if res.RowsAffected == 0 {
			return domain.NotFound("site")
		}
		return nil
	})
}

// SetSiteProviders replaces a site's provider assignments (in order) and its default provider.
// Every provider must belong to the site's organisation (else NOT_FOUND); the default must be
// one of them.
func (s *Store) SetSiteProviders(ctx context.Context, orgID, siteID string, providerIDs []string, defaultID *string) error {
	return s.InTx(ctx, func(tx *Store) error {
		if _, err := tx.GetSite(ctx, orgID, siteID); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, pid := range providerIDs {
			if seen[pid] {
				return domain.Invalid("providerIds", "provider %s is listed twice", pid)
			}
			seen[pid] = true
			if _, err := tx.GetProvider(ctx, orgID, pid); err != nil {
				return err
			}
		}
		if defaultID != nil && *defaultID != "" && !seen[*defaultID] {
			return domain.Invalid("defaultProviderId", "the default provider must be one of the site's providers")
		}
		if defaultID != nil && *defaultID == "" {
			defaultID = nil
		}
		if err := tx.db.Where("site_id = ? AND organization_id = ?", siteID, orgID).Delete(&domain.SiteProvider{}).Error; err != nil {
			return translate(err, "site providers")
		}
		now := Now()
		for i, pid := range providerIDs {
			sp := domain.SiteProvider{SiteID: siteID, ProviderID: pid, OrganizationID: orgID, Position: i, CreatedAt: now}
			if err := tx.db.Create(&sp).Error; err != nil {
				return translate(err, "site providers")
			}
		}
		return translate(tx.db.Model(&domain.Site{}).Where("id = ? AND organization_id = ?", siteID, orgID).
			Updates(map[string]any{"default_provider_id": defaultID, "updated_at": now}).Error, "site")
	})
}

// ListSiteProviders returns the providers assigned to a site, in the site's order (one query).
func (s *Store) ListSiteProviders(ctx context.Context, orgID, siteID string) ([]domain.Provider, error) {
	var out []domain.Provider
	err := s.q(ctx).Model(&domain.Provider{}).Select("providers.*").
		Joins("JOIN site_providers ON site_providers.provider_id = providers.id AND site_providers.organization_id = providers.organization_id").
		Where("site_providers.site_id = ? AND site_providers.organization_id = ?", siteID, orgID).
		Order("site_providers.position").Find(&out).Error
	return out, translate(err, "site providers")
}

// GetSiteWithProviderTypes returns a site with the types of its enabled providers of a mode,
// in one query (checkout creation needs both and nothing else of the providers).
func (s *Store) GetSiteWithProviderTypes(ctx context.Context, orgID, siteID string, mode domain.Mode) (*domain.Site, []domain.ProviderType, error) {
	agg := "string_agg(p.type, ',')"
	if s.dialect == SQLite {
		agg = "group_concat(p.type, ',')"
	}
	var row struct {
		domain.Site
		ProviderTypes *string
	}
	err := s.q(ctx).Raw(`SELECT sites.*, (SELECT `+agg+` FROM site_providers sp
			JOIN providers p ON p.id = sp.provider_id AND p.organization_id = sp.organization_id
			WHERE sp.site_id = sites.id AND sp.organization_id = sites.organization_id AND p.enabled AND p.mode = ?) AS provider_types
		FROM sites WHERE sites.id = ? AND sites.organization_id = ?`, mode, siteID, orgID).Take(&row).Error
	if err != nil {
		return nil, nil, translate(err, "site")
	}
	var types []domain.ProviderType
	if row.ProviderTypes != nil {
		for _, t := range strings.Split(*row.ProviderTypes, ",") {
			types = append(types, domain.ProviderType(t))
		}
	}
	return named(ctx, &row.Site), types, nil
}

// ListProviderSites returns the ids of the sites a provider is assigned to.
func (s *Store) ListProviderSites(ctx context.Context, orgID, providerID string) ([]string, error) {
	var ids []string
	err := s.q(ctx).Model(&domain.SiteProvider{}).Where("provider_id = ? AND organization_id = ?", providerID, orgID).
		Order("site_id").Pluck("site_id", &ids).Error
	return ids, translate(err, "provider sites")
}
