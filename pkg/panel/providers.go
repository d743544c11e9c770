package panel

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/tenancy"
)

type providersData struct {
	Providers []domain.Provider
}

// kind returns the registered provider type t (ok false: not one; the kind then only names t).
func (p *Panel) kind(t domain.ProviderType) (domain.ProviderKind, bool) {
	for _, k := range p.d.ProviderKinds {
		if k.Type == t {
			return k, true
		}
	}
	return domain.ProviderKind{Type: t, Name: label(t)}, false
}

// providers lists the organisation's providers.
func (p *Panel) providers(c echo.Context, r *request) error {
	provs, err := p.d.Tenancy.ListProviders(c.Request().Context(), r.Actor, r.OrgID())
	if err != nil {
		return err
	}
	return p.render(c, r, http.StatusOK, "providers", "Providers", "providers", &providersData{Providers: provs})
}

// providerField is one type-specific field of the provider form.
type providerField struct {
	Key   string // settings.iban, credentials.secretKey
	Label string
	Hint  string
	// Secret fields are write-only: never filled in, their masked value is the placeholder.
	Secret   bool
	Required bool
	Kind     string // text, textarea, select
	Options  []string
	Value    string
	Masked   string
}

// providerForm is the provider form's values as typed.
type providerForm struct {
	formState
	ID, Type, Mode, Name string
	Enabled              bool
	Fields               []providerField
	// WebhookURL is where the provider sends its events (Stripe and GoCardless).
	WebhookURL string
	Provider   *domain.Provider
	// Avail are the availability rules (who is offered the provider).
	Avail availabilityForm
}

// newProviderForm is the form of a provider of kind k (prov: an existing one, nil: a new one);
// its fields are the ones the kind declares.
func newProviderForm(k domain.ProviderKind, prov *domain.Provider) *providerForm {
	f := &providerForm{Type: string(k.Type), Mode: "test", Enabled: true, Provider: prov, Avail: newAvailabilityForm(domain.Availability{})}
	spec := k.Fields
	required := map[string]bool{}
	for _, k := range append(spec.RequiredSettings, spec.RequiredSecrets...) {
		required[k] = true
	}
	info := func(key string) domain.FieldInfo {
		fi, ok := spec.Labels[key]
		if !ok || fi.Label == "" {
			fi.Label = key
		}
		return fi
	}
	for _, k := range spec.Settings {
		fi := info(k)
		fd := providerField{Key: "settings." + k, Label: fi.Label, Hint: fi.Hint, Required: required[k], Kind: "text"}
		switch fi.Kind {
		case "select":
			fd.Kind, fd.Options = "select", fi.Options
			if len(fi.Options) > 0 {
				fd.Value = fi.Options[0]
			}
		case "textarea":
			fd.Kind = "textarea"
		}
		if prov != nil {
			fd.Value = prov.Settings[k]
		}
		f.Fields = append(f.Fields, fd)
	}
	for _, k := range spec.Credentials {
		fi := info(k)
		fd := providerField{Key: "credentials." + k, Label: fi.Label, Hint: fi.Hint, Secret: true, Required: required[k] && prov == nil, Kind: "secret"}
		if prov != nil {
			fd.Masked = prov.CredentialsHint[k]
			if fd.Masked != "" {
				fd.Hint = "Stored as " + fd.Masked + ". Leave empty to keep it; type a new value to replace it."
			} else {
				fd.Hint = "Not set. " + fd.Hint
			}
		}
		f.Fields = append(f.Fields, fd)
	}
	if prov != nil {
		f.ID, f.Mode, f.Name, f.Enabled = prov.ID, string(prov.Mode), prov.Name, prov.Enabled
		f.Avail = newAvailabilityForm(prov.Availability)
	}
	return f
}

// bind reads the posted form into f and the platform's input. Empty secret fields are left
// out: on an update they keep the stored value.
func (f *providerForm) bind(c echo.Context) tenancy.ProviderInput {
	v := form(c)
	f.Name = trimmed(v, "name")
	f.Enabled = v.Get("enabled") == "on"
	if f.Provider == nil {
		f.Mode = v.Get("mode")
	}
	in := tenancy.ProviderInput{Type: f.Type, Mode: f.Mode, Name: &f.Name, Enabled: &f.Enabled,
		Settings: map[string]string{}, Credentials: map[string]string{}}
	for i := range f.Fields {
		fd := &f.Fields[i]
		val := v.Get(fd.Key)
		if key, ok := strings.CutPrefix(fd.Key, "settings."); ok {
			fd.Value = val
			in.Settings[key] = val
		} else if key, ok := strings.CutPrefix(fd.Key, "credentials."); ok && strings.TrimSpace(val) != "" {
			in.Credentials[key] = val
		}
	}
	a := f.Avail.bind(v, &f.formState)
	in.Availability = &a
	if f.failed() {
		checkAvailability(a, &f.formState)
	}
	return in
}

type providerNewData struct {
	Kinds []domain.ProviderKind
}

// providerNew asks for the provider type, then shows that type's form (admin).
func (p *Panel) providerNew(c echo.Context, r *request) error {
	if err := authorize(r, "provider:create"); err != nil {
		return err
	}
	k, ok := p.kind(domain.ProviderType(c.QueryParam("type")))
	if !ok {
		return p.render(c, r, http.StatusOK, "provider_new", "New provider", "providers", &providerNewData{Kinds: p.d.ProviderKinds})
	}
	return p.render(c, r, http.StatusOK, "provider", "New "+k.Name+" provider", "providers", newProviderForm(k, nil))
}

// providerCreate creates a provider with write-only credentials (admin).
func (p *Panel) providerCreate(c echo.Context, r *request) error {
	if err := authorize(r, "provider:create"); err != nil {
		return err
	}
	k, ok := p.kind(domain.ProviderType(c.FormValue("type")))
	if !ok {
		return seeOther(c, "/providers/new", "")
	}
	f := newProviderForm(k, nil)
	in := f.bind(c)
	if f.failed() {
		return p.render(c, r, http.StatusBadRequest, "provider", "New "+k.Name+" provider", "providers", f)
	}
	prov, err := p.d.Tenancy.CreateProvider(c.Request().Context(), r.Actor, r.OrgID(), in)
	if err != nil {
		st, status, ok := formFailure(f.relabel(err), nil)
		if !ok {
			return err
		}
		f.formState = *st
		return p.render(c, r, status, "provider", "New "+k.Name+" provider", "providers", f)
	}
	return seeOther(c, "/providers/"+prov.ID, "provider-created")
}

func (p *Panel) providerPage(c echo.Context, prov *domain.Provider) *providerForm {
	k, _ := p.kind(prov.Type) // a type no longer registered: its name, no fields
	f := newProviderForm(k, prov)
	if k.Webhooks {
		f.WebhookURL = p.d.Hosts.MainBackendURL() + "/hooks/" + string(prov.Type) + "/" + prov.ID
	}
	return f
}

// provider shows a provider's form; secrets are never shown, only their masked form.
func (p *Panel) provider(c echo.Context, r *request) error {
	prov, err := p.d.Tenancy.GetProvider(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id"))
	if err != nil {
		return err
	}
	return p.render(c, r, http.StatusOK, "provider", prov.Name, "providers", p.providerPage(c, prov))
}

// providerUpdate saves a provider; empty secret fields keep the stored secrets (admin).
func (p *Panel) providerUpdate(c echo.Context, r *request) error {
	ctx := c.Request().Context()
	prov, err := p.d.Tenancy.GetProvider(ctx, r.Actor, r.OrgID(), c.Param("id"))
	if err != nil {
		return err
	}
	f := p.providerPage(c, prov)
	in := f.bind(c)
	in.Type, in.Mode = "", ""
	if f.failed() {
		return p.render(c, r, http.StatusBadRequest, "provider", prov.Name, "providers", f)
	}
	if _, err := p.d.Tenancy.UpdateProvider(ctx, r.Actor, r.OrgID(), prov.ID, in); err != nil {
		st, status, ok := formFailure(f.relabel(err), nil)
		if !ok {
			return err
		}
		f.formState = *st
		return p.render(c, r, status, "provider", prov.Name, "providers", f)
	}
	return seeOther(c, "/providers/"+prov.ID, "provider-saved")
}

// providerDelete removes a provider without transactions (admin).
func (p *Panel) providerDelete(c echo.Context, r *request) error {
	if asksConfirmation(c) {
		pr, err := p.d.Tenancy.GetProvider(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id"))
		if err != nil {
			return err
		}
		return p.confirmDelete(c, r, "provider:delete", "providers", label(pr.Type)+" provider “"+pr.Name+"” ("+string(pr.Mode)+" mode, "+pr.ID+")",
			"/providers/"+pr.ID+"/delete", "/providers/"+pr.ID,
			"Its credentials are erased and sites stop offering it. A provider with transactions cannot be deleted; disable it instead.")
	}
	if err := p.d.Tenancy.DeleteProvider(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id")); err != nil {
		return err
	}
	return seeOther(c, "/providers", "provider-deleted")
}

// relabel says the provider's fields by their labels in the platform's messages ("bic must be
// 8 or 11 characters" reads "BIC must be 8 or 11 characters"), every error of the form.
func (f *providerForm) relabel(err error) error {
	var de *domain.Error
	if !errors.As(err, &de) {
		return err
	}
	one := func(e *domain.Error) *domain.Error {
		out := *e
		for _, fd := range f.Fields {
			if fd.Key != e.Field {
				continue
			}
			_, bare, _ := strings.Cut(fd.Key, ".")
			if rest, ok := strings.CutPrefix(e.Message, bare+" "); ok && fd.Label != "" {
				out.Message = fd.Label + " " + rest
			}
		}
		return &out
	}
	out := one(de)
	out.Also = make([]*domain.Error, len(de.Also))
	for i, e := range de.Also {
		out.Also[i] = one(e)
	}
	return out
}
