package tenancy

import (
	"context"
	"errors"
	"strings"
	"time"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/money"
)

// ProviderInput creates or edits a provider. Credentials are write-only: on update, only the
// keys present are replaced; an empty string removes nothing (send the new value).
type ProviderInput struct {
	Type        string
	Mode        string
	Name        *string
	Enabled     *bool
	Settings    map[string]string
	Credentials map[string]string
	// Availability replaces the provider's availability rules (nil: kept; on create, none).
	Availability *domain.Availability
}

func providerMode(p *domain.Provider) domain.Mode { return p.Mode }

func providerPurpose(id string) string { return "provider:" + id + ":credentials" }

// CreateProvider creates an organisation-level provider; credentials are sealed and only their
// masked forms kept readable.
func (s *Service) CreateProvider(ctx context.Context, actor domain.Actor, orgID string, in ProviderInput) (*domain.Provider, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "provider", "create"); err != nil {
		return nil, err
	}
	p := &domain.Provider{ID: domain.NewID(domain.PrefixProvider), OrganizationID: orgID, Type: domain.ProviderType(in.Type),
		Mode: domain.Mode(in.Mode), Enabled: true, Settings: map[string]string{}}
	if in.Name != nil {
		p.Name = *in.Name
	}
	if in.Enabled != nil {
		p.Enabled = *in.Enabled
	}
	for k, v := range in.Settings {
		p.Settings[k] = v
	}
	if in.Availability != nil {
		p.Availability = *in.Availability
	}
	// Every invalid field at once: the settings' and the credentials' (the API answers with the first).
	var bad domain.Invalids
	if err := bad.Collect(s.validateProvider(p)); err != nil {
		return nil, err
	}
	creds := cleanCredentials(in.Credentials)
	if p.Type.Valid() || s.providers.Set[p.Type] != nil {
		if err := bad.Collect(s.validateCredentials(p, creds, false)); err != nil {
			return nil, err
		}
	}
	if bad.Failed() {
		return nil, bad.Err()
	}
	if err := auth.AuthorizeMode(actor, p.Mode); err != nil {
		return nil, err
	}
	if err := s.sealCredentials(ctx, p, creds); err != nil {
		return nil, err
	}
	err := s.store.InTx(ctx, func(tx Store) error {
		if err := tx.CreateProvider(ctx, p); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "provider.create", "provider", p.ID, map[string]any{"type": p.Type, "mode": p.Mode, "name": p.Name, "credentials": p.CredentialsHint})
	})
	return p, err
}

// validateProvider checks a configuration with its type's registered provider (its fields and
// rules); a type not registered here is checked by the built-in rules (a service built without
// the providers, as in tests), which refuse any type but the built-in ones.
//
// The availability rules are checked too, and their mistakes ride along with a settings
// mistake (domain.Error.Also), so that a form shows them all at once.
func (s *Service) validateProvider(p *domain.Provider) error {
	var err error
	if impl, ok := s.providers.Set[p.Type]; ok {
		err = p.ValidateAs(impl.Fields(), impl.ValidateSettings)
	} else {
		err = p.Validate()
	}
	var bad domain.Invalids
	if err := bad.Collect(err); err != nil {
		return err
	}
	if err := bad.Collect(p.Availability.Normalize("availability", knownCurrency)); err != nil {
		return err
	}
	return bad.Err()
}

// CheckAvailability normalises and checks availability rules as a provider's save does,
// writing nothing (a form that failed on its own shows these mistakes with its own).
func CheckAvailability(a *domain.Availability) error {
	return a.Normalize("availability", knownCurrency)
}

// knownCurrency reports whether code is a currency the platform takes.
func knownCurrency(code string) bool {
	_, ok := money.Lookup(code)
	return ok
}

// validateCredentials checks credentials given for p (partial: an update, absent ones kept) as
// validateProvider checks its settings.
func (s *Service) validateCredentials(p *domain.Provider, creds map[string]string, partial bool) error {
	impl, ok := s.providers.Set[p.Type]
	if !ok {
		return domain.ValidateCredentials(p.Type, p.Mode, creds, partial)
	}
	if err := domain.ValidateCredentialsAs(p.Type, impl.Fields(), creds, partial); err != nil {
		return err
	}
	return impl.ValidateCredentials(p.Mode, creds)
}

func cleanCredentials(in map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range in {
		if v = strings.TrimSpace(v); v != "" {
			out[k] = v
		}
	}
	return out
}

func (s *Service) sealCredentials(ctx context.Context, p *domain.Provider, creds map[string]string) error {
	sealed, err := s.SealJSON(ctx, p.OrganizationID, providerPurpose(p.ID), creds)
	if err != nil {
		return err
	}
	p.Credentials = sealed
	p.CredentialsHint = map[string]string{}
	for k, v := range creds {
		p.CredentialsHint[k] = domain.MaskSecret(v)
	}
	return nil
}

// GetProvider returns NOT_FOUND for another organisation's provider.
func (s *Service) GetProvider(ctx context.Context, actor domain.Actor, orgID, id string) (*domain.Provider, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "provider", "read"); err != nil {
		return nil, err
	}
	return s.store.GetProvider(ctx, orgID, id)
}

// ListProviders lists the organisation's providers.
func (s *Service) ListProviders(ctx context.Context, actor domain.Actor, orgID string) ([]domain.Provider, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "provider", "read"); err != nil {
		return nil, err
	}
	ps, err := s.store.ListProviders(ctx, orgID)
	return auth.OfModeSeen(actor, ps, providerMode), err
}

// UpdateProvider edits a provider; type and mode never change.
func (s *Service) UpdateProvider(ctx context.Context, actor domain.Actor, orgID, id string, in ProviderInput) (*domain.Provider, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "provider", "update"); err != nil {
		return nil, err
	}
	var p *domain.Provider
	err := s.store.InTx(ctx, func(tx Store) error {
		var err error
		p, err = tx.GetProvider(ctx, orgID, id)
		if err != nil {
			return err
		}
		if (in.Type != "" && in.Type != string(p.Type)) || (in.Mode != "" && in.Mode != string(p.Mode)) {
			return domain.Invalid("type", "a provider's type and mode cannot change; create another provider")
		}
		if in.Name != nil {
			p.Name = *in.Name
		}
		if in.Enabled != nil {
			p.Enabled = *in.Enabled
		}
		if in.Settings != nil {
			for k, v := range in.Settings {
				p.Settings[k] = v
			}
		}
		if in.Availability != nil {
			p.Availability = *in.Availability
		}
		var bad domain.Invalids
		if err := bad.Collect(s.validateProvider(p)); err != nil {
			return err
		}
		changed := cleanCredentials(in.Credentials)
		if len(changed) > 0 {
			if err := bad.Collect(s.validateCredentials(p, changed, true)); err != nil {
				return err
			}
		}
		if bad.Failed() {
			return bad.Err()
		}
		if len(changed) > 0 {
			creds, err := s.ProviderCredentials(ctx, p)
			if err != nil {
				return err
			}
			for k, v := range changed {
				creds[k] = v
			}
			if err := s.sealCredentials(ctx, p, creds); err != nil {
				return err
			}
		}
		if err := tx.UpdateProvider(ctx, p); err != nil {
			return err
		}
		keys := make([]string, 0, len(changed))
		for k := range changed {
			keys = append(keys, k)
		}
		return tx.Audit(ctx, actor, "provider.update", "provider", p.ID, map[string]any{"name": p.Name, "enabled": p.Enabled, "credentialsChanged": keys,
			"availability": p.Availability})
	})
	return p, err
}

// DeleteProvider removes a provider that has no transactions.
func (s *Service) DeleteProvider(ctx context.Context, actor domain.Actor, orgID, id string) error {
	if err := auth.InOrg(actor, orgID); err != nil {
		return err
	}
	if err := auth.Authorize(actor, "provider", "delete"); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx Store) error {
		if err := tx.DeleteProvider(ctx, orgID, id); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "provider.delete", "provider", id, nil)
	})
}

// ProviderCredentials decrypts a provider's secret fields (for the adapters; never shown).
func (s *Service) ProviderCredentials(ctx context.Context, p *domain.Provider) (map[string]string, error) {
	out := map[string]string{}
	if p.Credentials == "" {
		return out, nil
	}
	err := s.OpenJSON(ctx, p.OrganizationID, providerPurpose(p.ID), p.Credentials, &out)
	return out, err
}

// ConnectionResult is the outcome of testing a provider's configuration.
type ConnectionResult struct {
	OK        bool      `json:"ok"`
	Message   string    `json:"message"`
	CheckedAt time.Time `json:"checkedAt"`
}

// TestProviderConnection makes one harmless call to the provider with its stored credentials
// and reports the result (audited). A failure of the provider is a result, not an error.
func (s *Service) TestProviderConnection(ctx context.Context, actor domain.Actor, orgID, id string) (*ConnectionResult, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "provider", "execute"); err != nil {
		return nil, err
	}
	p, err := s.store.GetProvider(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	adapter, err := s.providers.Get(p.Type)
	if err != nil {
		return nil, err
	}
	creds, err := s.ProviderCredentials(ctx, p)
	if err != nil {
		return nil, err
	}
	res := &ConnectionResult{OK: true, Message: "the provider accepted the configuration", CheckedAt: s.now().UTC()}
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := adapter.TestConnection(tctx, p, creds); err != nil {
		res.OK, res.Message = false, err.Error()
		var de *domain.Error
		if errors.As(err, &de) {
			res.Message = de.Message
		}
	}
	return res, s.store.Audit(ctx, actor, "provider.test", "provider", p.ID, map[string]any{"ok": res.OK, "message": res.Message})
}
