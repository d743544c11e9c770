package tenancy

import (
	"context"
	"net/url"
	"strings"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
)

// SiteInput creates or edits a site; nil fields keep their value.
type SiteInput struct {
	Name            *string
	LogoURL         *string
	PrimaryColor    *string
	AllowedHosts    *[]string
	TaxDisplay      *string
	VATIDValidation *string
	DefaultLanguage *string
	IPNVersion      *int
	FrameAncestors  *string
	// EventsURL, when set, replaces the site's events URL ("" removes it).
	EventsURL *string
	// ProviderIDs, when set, replaces the assigned providers (in order); DefaultProviderID
	// must be one of them.
	ProviderIDs       *[]string
	DefaultProviderID *string
}

func (in SiteInput) apply(s *domain.Site) {
	if in.Name != nil {
		s.Name = *in.Name
	}
	if in.LogoURL != nil {
		s.LogoURL = *in.LogoURL
	}
	if in.PrimaryColor != nil {
		s.PrimaryColor = *in.PrimaryColor
	}
	if in.AllowedHosts != nil {
		s.AllowedHosts = *in.AllowedHosts
	}
	if in.TaxDisplay != nil {
		s.TaxDisplay = domain.TaxDisplay(*in.TaxDisplay)
	}
	if in.VATIDValidation != nil {
		s.VATIDValidation = domain.VATIDValidation(*in.VATIDValidation)
	}
	if in.DefaultLanguage != nil {
		s.DefaultLanguage = *in.DefaultLanguage
	}
	if in.IPNVersion != nil {
		s.IPNVersion = *in.IPNVersion
	}
	if in.FrameAncestors != nil {
		s.FrameAncestors = *in.FrameAncestors
	}
}

// applyEvents sets the events URL the input names and the SSRF policy it was accepted under
// (checked by checkEventsURL before).
func (s *Service) applyEvents(in SiteInput, site *domain.Site) {
	if in.EventsURL == nil {
		return
	}
	site.EventsURL = in.EventsURL
	site.EventsAllowPrivate = strings.TrimSpace(*in.EventsURL) != "" && s.eventTargets.AllowPrivate
}

// checkEventsURL applies the notification SSRF policy (pkg/netguard: the one the checkouts'
// ipnUrl passes and the notifier applies again on every delivery) to a new eventsUrl, before
// anything is written: an internal literal address or localhost name first (400
// IPN_URL_PRIVATE, field eventsUrl, whatever the scheme), then, for a URL of the right form
// (Site.Validate reports a wrong one with the other fields' errors), the host name's current
// DNS answer (any internal address refuses; a name that does not resolve now is accepted, each
// delivery checks it again).
func (s *Service) checkEventsURL(ctx context.Context, in SiteInput) error {
	if in.EventsURL == nil || strings.TrimSpace(*in.EventsURL) == "" {
		return nil
	}
	raw := strings.TrimSpace(*in.EventsURL)
	host := ""
	if u, perr := url.Parse(raw); perr == nil {
		host = u.Hostname()
	}
	if host != "" {
		if _, err := s.eventTargets.CheckLiteral(host); err != nil {
			return domain.TargetPrivate("eventsUrl", err.Error())
		}
	}
	if host == "" || !domain.EventsURLWellFormed(raw) {
		return nil // Site.Validate reports a wrong form, with the other fields' errors
	}
	unresolved, err := s.eventTargets.CheckHost(ctx, host)
	if err != nil {
		return domain.TargetPrivate("eventsUrl", err.Error())
	}
	if unresolved {
		s.log.InfoContext(ctx, "eventsUrl host does not resolve now; accepted, each delivery checks it again", "host", host)
	}
	return nil
}

// NewWebhookSecret returns a fresh IPN signing secret.
func NewWebhookSecret() string { return "whsec_" + domain.RandomString(40) }

func sitePurpose(siteID string) string { return "site:" + siteID + ":webhook_secret" }

// CreateSite creates a site with a fresh IPN signing secret, returned in clear this once.
// New sites use IPN version 2 unless the input says otherwise.
func (s *Service) CreateSite(ctx context.Context, actor domain.Actor, orgID string, in SiteInput) (*domain.Site, string, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, "", err
	}
	if err := auth.Authorize(actor, "site", "create"); err != nil {
		return nil, "", err
	}
	if err := s.checkEventsURL(ctx, in); err != nil {
		return nil, "", err
	}
	site := &domain.Site{ID: domain.NewID(domain.PrefixSite), OrganizationID: orgID, IPNVersion: 2}
	in.apply(site)
	s.applyEvents(in, site)
	if err := site.Validate(); err != nil {
		return nil, "", err
	}
	secret := NewWebhookSecret()
	sealed, err := s.Seal(ctx, orgID, sitePurpose(site.ID), []byte(secret))
	if err != nil {
		return nil, "", err
	}
	site.WebhookSecret = sealed
	err = s.store.InTx(ctx, func(tx Store) error {
		if err := tx.CreateSite(ctx, site); err != nil {
			return err
		}
		if in.ProviderIDs != nil {
			if err := tx.SetSiteProviders(ctx, orgID, site.ID, *in.ProviderIDs, in.DefaultProviderID); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, actor, "site.create", "site", site.ID, siteAuditDetails(site, in))
	})
	if err != nil {
		return nil, "", err
	}
	site, err = s.store.GetSite(ctx, orgID, site.ID)
	return site, secret, err
}

func siteAuditDetails(site *domain.Site, in SiteInput) map[string]any {
	d := map[string]any{"name": site.Name, "allowedHosts": site.AllowedHosts, "ipnVersion": site.IPNVersion,
		"logoUrl": site.LogoURL, "primaryColor": site.PrimaryColor, "vatIdValidation": site.VATIDValidation}
	if in.ProviderIDs != nil {
		d["providerIds"] = *in.ProviderIDs
	}
	if in.EventsURL != nil {
		d["eventsUrl"] = site.EventsURL
	}
	return d
}

// GetSite returns NOT_FOUND for another organisation's site.
func (s *Service) GetSite(ctx context.Context, actor domain.Actor, orgID, siteID string) (*domain.Site, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "site", "read"); err != nil {
		return nil, err
	}
	return s.store.GetSite(ctx, orgID, siteID)
}

// ListSites lists the organisation's sites.
func (s *Service) ListSites(ctx context.Context, actor domain.Actor, orgID string) ([]domain.Site, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "site", "read"); err != nil {
		return nil, err
	}
	return s.store.ListSites(ctx, orgID)
}

// SiteProviders lists a site's assigned providers in order.
func (s *Service) SiteProviders(ctx context.Context, actor domain.Actor, orgID, siteID string) ([]domain.Provider, error) {
	if _, err := s.GetSite(ctx, actor, orgID, siteID); err != nil {
		return nil, err
	}
	ps, err := s.store.ListSiteProviders(ctx, orgID, siteID)
	return auth.OfModeSeen(actor, ps, providerMode), err
}

// UpdateSite edits a site (branding, hosts, settings, providers).
func (s *Service) UpdateSite(ctx context.Context, actor domain.Actor, orgID, siteID string, in SiteInput) (*domain.Site, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "site", "update"); err != nil {
		return nil, err
	}
	if err := s.checkEventsURL(ctx, in); err != nil {
		return nil, err
	}
	err := s.store.InTx(ctx, func(tx Store) error {
		site, err := tx.GetSite(ctx, orgID, siteID)
		if err != nil {
			return err
		}
		in.apply(site)
		s.applyEvents(in, site)
		if err := site.Validate(); err != nil {
			return err
		}
		if in.ProviderIDs != nil {
			if err := tx.SetSiteProviders(ctx, orgID, siteID, *in.ProviderIDs, in.DefaultProviderID); err != nil {
				return err
			}
			fresh, err := tx.GetSite(ctx, orgID, siteID)
			if err != nil {
				return err
			}
			site.DefaultProviderID = fresh.DefaultProviderID
		} else if in.DefaultProviderID != nil {
			ps, err := tx.ListSiteProviders(ctx, orgID, siteID)
			if err != nil {
				return err
			}
			ids := make([]string, len(ps))
			for i, p := range ps {
				ids[i] = p.ID
			}
			if err := tx.SetSiteProviders(ctx, orgID, siteID, ids, in.DefaultProviderID); err != nil {
				return err
			}
			fresh, err := tx.GetSite(ctx, orgID, siteID)
			if err != nil {
				return err
			}
			site.DefaultProviderID = fresh.DefaultProviderID
		}
		if err := tx.UpdateSite(ctx, site); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "site.update", "site", site.ID, siteAuditDetails(site, in))
	})
	if err != nil {
		return nil, err
	}
	return s.store.GetSite(ctx, orgID, siteID)
}

// DeleteSite removes a site without checkouts.
func (s *Service) DeleteSite(ctx context.Context, actor domain.Actor, orgID, siteID string) error {
	if err := auth.InOrg(actor, orgID); err != nil {
		return err
	}
	if err := auth.Authorize(actor, "site", "delete"); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx Store) error {
		if err := tx.DeleteSite(ctx, orgID, siteID); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "site.delete", "site", siteID, nil)
	})
}

// RegenerateWebhookSecret gives a site a new IPN signing secret, returned in clear this once.
// The next notification attempt is signed with it.
func (s *Service) RegenerateWebhookSecret(ctx context.Context, actor domain.Actor, orgID, siteID string) (string, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return "", err
	}
	if err := auth.Authorize(actor, "site", "update"); err != nil {
		return "", err
	}
	secret := NewWebhookSecret()
	sealed, err := s.Seal(ctx, orgID, sitePurpose(siteID), []byte(secret))
	if err != nil {
		return "", err
	}
	err = s.store.InTx(ctx, func(tx Store) error {
		if err := tx.SetSiteWebhookSecret(ctx, orgID, siteID, sealed); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "site.webhook_secret_regenerate", "site", siteID, nil)
	})
	return secret, err
}

// SiteWebhookSecret decrypts a site's current IPN signing secret (for signing; never shown).
func (s *Service) SiteWebhookSecret(ctx context.Context, site *domain.Site) (string, error) {
	b, err := s.Open(ctx, site.OrganizationID, sitePurpose(site.ID), site.WebhookSecret)
	return string(b), err
}
