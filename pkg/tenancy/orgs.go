package tenancy

import (
	"context"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
)

// OrganizationInput creates or edits an organisation.
type OrganizationInput struct {
	Name             *string
	SupportEmail     *string
	SellerCountry    *string
	PricesIncludeTax *bool
	OSSRegistered    *bool
	// BlockCheckoutsOnDispute refuses new checkouts for a client with an unresolved dispute.
	BlockCheckoutsOnDispute *bool
}

func (in OrganizationInput) apply(o *domain.Organization) {
	if in.Name != nil {
		o.Name = *in.Name
	}
	if in.SupportEmail != nil {
		o.SupportEmail = *in.SupportEmail
	}
	if in.SellerCountry != nil {
		o.SellerCountry = domain.NormalizeCountry(*in.SellerCountry)
	}
	if in.PricesIncludeTax != nil {
		o.PricesIncludeTax = *in.PricesIncludeTax
	}
	if in.OSSRegistered != nil {
		o.OSSRegistered = *in.OSSRegistered
	}
	if in.BlockCheckoutsOnDispute != nil {
		o.BlockCheckoutsOnDispute = *in.BlockCheckoutsOnDispute
	}
}

// CreateOrganization creates a tenant with its own data key. Only platform administrators may.
func (s *Service) CreateOrganization(ctx context.Context, actor domain.Actor, in OrganizationInput) (*domain.Organization, error) {
	if actor.Type != domain.ActorSystem && !actor.PlatformAdmin {
		return nil, domain.Forbidden(domain.CodeForbidden, "only platform administrators can create organisations")
	}
	o := &domain.Organization{ID: domain.NewID(domain.PrefixOrganization), PricesIncludeTax: true}
	in.apply(o)
	if err := o.Validate(); err != nil {
		return nil, err
	}
	wrapped, err := s.keys.NewDataKey(o.ID)
	if err != nil {
		return nil, domain.Internal(err, "create data key")
	}
	o.DataKey = wrapped
	err = s.store.InTx(ctx, func(tx Store) error {
		if err := tx.CreateOrganization(ctx, o); err != nil {
			return err
		}
		a := actor
		a.OrganizationID = o.ID
		return tx.Audit(ctx, a, "organization.create", "organization", o.ID, map[string]any{"name": o.Name})
	})
	return o, err
}

// GetOrganization returns the actor's organisation (NOT_FOUND for any other).
func (s *Service) GetOrganization(ctx context.Context, actor domain.Actor, orgID string) (*domain.Organization, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "organization", "read"); err != nil {
		return nil, err
	}
	return s.store.GetOrganization(ctx, orgID)
}

// ListOrganizations lists every organisation (platform administrators), or the actor's own.
func (s *Service) ListOrganizations(ctx context.Context, actor domain.Actor) ([]domain.Organization, error) {
	if actor.PlatformAdmin || actor.Type == domain.ActorSystem {
		return s.store.ListOrganizations(ctx)
	}
	o, err := s.GetOrganization(ctx, actor, actor.OrganizationID)
	if err != nil {
		return nil, err
	}
	return []domain.Organization{*o}, nil
}

// UpdateOrganization edits an organisation's name, support address and tax settings.
func (s *Service) UpdateOrganization(ctx context.Context, actor domain.Actor, orgID string, in OrganizationInput) (*domain.Organization, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "organization", "update"); err != nil {
		return nil, err
	}
	o, err := s.store.GetOrganization(ctx, orgID)
	if err != nil {
		return nil, err
	}
	in.apply(o)
	if err := o.Validate(); err != nil {
		return nil, err
	}
	err = s.store.InTx(ctx, func(tx Store) error {
		if err := tx.UpdateOrganization(ctx, o); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "organization.update", "organization", o.ID, map[string]any{
			"name": o.Name, "sellerCountry": o.SellerCountry, "pricesIncludeTax": o.PricesIncludeTax, "ossRegistered": o.OSSRegistered,
			"blockCheckoutsOnDispute": o.BlockCheckoutsOnDispute})
	})
	return o, err
}

// ListAudit lists the organisation's audit log, newest first, with whether there is more.
func (s *Service) ListAudit(ctx context.Context, actor domain.Actor, f domain.AuditFilter) ([]domain.AuditEntry, bool, error) {
	if err := auth.InOrg(actor, f.OrganizationID); err != nil {
		return nil, false, err
	}
	if err := auth.Authorize(actor, "audit", "read"); err != nil {
		return nil, false, err
	}
	out, err := s.store.ListAudit(ctx, f)
	if err != nil {
		return nil, false, err
	}
	out, more := domain.CutPage(out, f.Limit)
	return out, more, nil
}
