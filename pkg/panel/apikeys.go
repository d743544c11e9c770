package panel

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/tenancy"
)

// keyRow is an API key as the list shows it.
type keyRow struct {
	domain.APIKey
	Status string // active, revoked, expired, expiring
}

// keyForm is the create-key form.
type keyForm struct {
	formState
	Name, Mode string
	Scopes     map[string]bool
}

type apiKeysData struct {
	Keys      []keyRow
	Form      keyForm
	Resources []string
	Actions   []string
	// Token is a new key's secret, shown once on the answer to creating or rotating it.
	Token     string
	TokenName string
	Rotated   bool
}

func (d *apiKeysData) alert() string { return d.Form.alert() }

// Has reports whether the form has a scope ticked.
func (f keyForm) Has(scope string) bool { return f.Scopes[scope] }

func (p *Panel) apiKeysPage(c echo.Context, r *request, d *apiKeysData, status int) error {
	keys, err := p.d.Tenancy.ListAPIKeys(c.Request().Context(), r.Actor, r.OrgID())
	if err != nil {
		return err
	}
	now := p.d.Now()
	d.Keys = d.Keys[:0]
	for _, k := range keys {
		st := "active"
		switch {
		case k.RevokedAt != nil:
			st = "revoked"
		case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
			st = "expired"
		case k.ExpiresAt != nil:
			st = "expiring"
		}
		d.Keys = append(d.Keys, keyRow{APIKey: k, Status: st})
	}
	d.Resources, d.Actions = domain.ScopeResources, domain.ScopeActions
	if d.Form.Mode == "" {
		d.Form.Mode = "test"
	}
	if d.Form.Scopes == nil {
		d.Form.Scopes = map[string]bool{"checkout:create": true, "checkout:read": true}
	}
	return p.render(c, r, status, "api_keys", "API keys", "api-keys", d)
}

// apiKeys lists the organisation's keys (admin).
func (p *Panel) apiKeys(c echo.Context, r *request) error {
	return p.apiKeysPage(c, r, &apiKeysData{}, http.StatusOK)
}

// apiKeyCreate creates a key and shows its secret this once (admin).
func (p *Panel) apiKeyCreate(c echo.Context, r *request) error {
	v := form(c)
	d := &apiKeysData{Form: keyForm{Name: trimmed(v, "name"), Mode: v.Get("mode"), Scopes: map[string]bool{}}}
	scopes := v["scopes"]
	if len(scopes) == 0 {
		scopes = []string{} // the platform explains that at least one is needed
	}
	for _, s := range scopes {
		d.Form.Scopes[s] = true
	}
	k, token, err := p.d.Tenancy.CreateAPIKey(c.Request().Context(), r.Actor, r.OrgID(), tenancy.APIKeyInput{Name: d.Form.Name, Mode: d.Form.Mode, Scopes: scopes})
	if err != nil {
		st, status, ok := formFailure(err, nil)
		if !ok {
			return err
		}
		d.Form.formState = *st
		return p.apiKeysPage(c, r, d, status)
	}
	d.Token, d.TokenName = token, k.Name
	d.Form = keyForm{}
	return p.apiKeysPage(c, r, d, http.StatusOK)
}

// apiKeyRotate replaces a key; the old one keeps working for the chosen grace period (admin).
func (p *Panel) apiKeyRotate(c echo.Context, r *request) error {
	if asksConfirmation(c) {
		return p.confirmRotate(c, r)
	}
	grace, _ := atoi(c.FormValue("graceMinutes"))
	k, token, err := p.d.Tenancy.RotateAPIKey(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id"), time.Duration(grace)*time.Minute)
	if err != nil {
		if domain.ErrorKind(err) == domain.KindConflict || domain.ErrorKind(err) == domain.KindInvalid {
			d := &apiKeysData{}
			d.Form.Message = capitalize(errMessage(err))
			return p.apiKeysPage(c, r, d, httpapi.StatusOf(domain.ErrorKind(err)))
		}
		return err
	}
	return p.apiKeysPage(c, r, &apiKeysData{Token: token, TokenName: k.Name, Rotated: true}, http.StatusOK)
}

// apiKeyRevoke stops a key at once (admin).
func (p *Panel) apiKeyRevoke(c echo.Context, r *request) error {
	if asksConfirmation(c) {
		return p.confirmRevoke(c, r)
	}
	if err := p.d.Tenancy.RevokeAPIKey(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id")); err != nil {
		return err
	}
	return seeOther(c, "/api-keys", "key-revoked")
}

// apiKeyDelete removes a key for good (admin).
func (p *Panel) apiKeyDelete(c echo.Context, r *request) error {
	if asksConfirmation(c) {
		k, err := p.d.Tenancy.GetAPIKey(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id"))
		if err != nil {
			return err
		}
		return p.confirmDelete(c, r, "api_key:delete", "api-keys", "API key "+keyName(k.Name)+" (sk_"+string(k.Mode)+"_"+k.ID+")", "/api-keys/"+k.ID+"/delete", "/api-keys",
			"It disappears from this list; the audit log keeps its history.")
	}
	if err := p.d.Tenancy.DeleteAPIKey(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id")); err != nil {
		return err
	}
	return seeOther(c, "/api-keys", "key-deleted")
}
