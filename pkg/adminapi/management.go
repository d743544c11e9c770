package adminapi

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/tenancy"
)

type siteIn struct {
	Name            *string   `json:"name"`
	LogoURL         *string   `json:"logoUrl"`
	PrimaryColor    *string   `json:"primaryColor"`
	AllowedHosts    *[]string `json:"allowedHosts"`
	TaxDisplay      *string   `json:"taxDisplay"`
	VATIDValidation *string   `json:"vatIdValidation"`
	DefaultLanguage *string   `json:"defaultLanguage"`
	IPNVersion      *int      `json:"ipnVersion"`
	FrameAncestors  *string   `json:"frameAncestors"`
	// EventsURL, when given, replaces the URL that receives the site's invoice events (docs/INVOICES.md); "" removes it.
	EventsURL         *string   `json:"eventsUrl"`
	ProviderIDs       *[]string `json:"providerIds"`
	DefaultProviderID *string   `json:"defaultProviderId"`
	// ReceiptsEnabled switches buyers' e-mail receipts (package receipt), when given.
	ReceiptsEnabled *bool `json:"receiptsEnabled"`
}

// saveReceipts applies the request's receipts switch to site, when given and different.
func (a *API) saveReceipts(ctx context.Context, r *Request, site *domain.Site, in siteIn) error {
	if in.ReceiptsEnabled == nil || *in.ReceiptsEnabled == !site.ReceiptsDisabled {
		return nil
	}
	if r.Receipts == nil {
		return domain.Invalid("receiptsEnabled", "receipts are not available on this server")
	}
	if err := r.Receipts.SetEnabled(ctx, r.Actor, r.Org, site.ID, *in.ReceiptsEnabled); err != nil {
		return err
	}
	site.ReceiptsDisabled = !*in.ReceiptsEnabled
	return nil
}

func (in siteIn) input() tenancy.SiteInput {
	return tenancy.SiteInput{Name: in.Name, LogoURL: in.LogoURL, PrimaryColor: in.PrimaryColor, AllowedHosts: in.AllowedHosts,
		TaxDisplay: in.TaxDisplay, VATIDValidation: in.VATIDValidation, DefaultLanguage: in.DefaultLanguage, IPNVersion: in.IPNVersion,
		FrameAncestors: in.FrameAncestors, ProviderIDs: in.ProviderIDs, DefaultProviderID: in.DefaultProviderID, EventsURL: in.EventsURL}
}

func (a *API) siteView(ctx context.Context, r *Request, site *domain.Site) (*siteView, error) {
	ps, err := r.Tenancy.SiteProviders(ctx, r.Actor, r.Org, site.ID)
	if err != nil {
		return nil, err
	}
	return newSiteView(site, ps), nil
}

func (a *API) listSites(c echo.Context, r *Request) (int, any, error) {
	ctx := c.Request().Context()
	sites, err := r.Tenancy.ListSites(ctx, r.Actor, r.Org)
	if err != nil {
		return 0, nil, err
	}
	out := listView[*siteView]{Data: []*siteView{}}
	for i := range sites {
		v, err := a.siteView(ctx, r, &sites[i])
		if err != nil {
			return 0, nil, err
		}
		out.Data = append(out.Data, v)
	}
	return http.StatusOK, out, nil
}

func (a *API) createSite(c echo.Context, r *Request) (int, any, error) {
	var in siteIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	ctx := c.Request().Context()
	site, secret, err := r.Tenancy.CreateSite(ctx, r.Actor, r.Org, in.input())
	if err != nil {
		return 0, nil, err
	}
	if err := a.saveReceipts(ctx, r, site, in); err != nil {
		return 0, nil, err
	}
	v, err := a.siteView(ctx, r, site)
	if err != nil {
		return 0, nil, err
	}
	v.WebhookSecret = secret
	return http.StatusCreated, v, nil
}

func (a *API) getSite(c echo.Context, r *Request) (int, any, error) {
	ctx := c.Request().Context()
	site, err := r.Tenancy.GetSite(ctx, r.Actor, r.Org, c.Param("id"))
	if err != nil {
		return 0, nil, err
	}
	v, err := a.siteView(ctx, r, site)
	return http.StatusOK, v, err
}

func (a *API) updateSite(c echo.Context, r *Request) (int, any, error) {
	var in siteIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	ctx := c.Request().Context()
	site, err := r.Tenancy.UpdateSite(ctx, r.Actor, r.Org, c.Param("id"), in.input())
	if err != nil {
		return 0, nil, err
	}
	if err := a.saveReceipts(ctx, r, site, in); err != nil {
		return 0, nil, err
	}
	v, err := a.siteView(ctx, r, site)
	return http.StatusOK, v, err
}

type siteProvidersIn struct {
	ProviderIDs       []string `json:"providerIds"`
	DefaultProviderID *string  `json:"defaultProviderId"`
}

func (a *API) setSiteProviders(c echo.Context, r *Request) (int, any, error) {
	var in siteProvidersIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	if in.ProviderIDs == nil {
		in.ProviderIDs = []string{}
	}
	ctx := c.Request().Context()
	site, err := r.Tenancy.UpdateSite(ctx, r.Actor, r.Org, c.Param("id"), tenancy.SiteInput{ProviderIDs: &in.ProviderIDs, DefaultProviderID: in.DefaultProviderID})
	if err != nil {
		return 0, nil, err
	}
	v, err := a.siteView(ctx, r, site)
	return http.StatusOK, v, err
}

func (a *API) deleteSite(c echo.Context, r *Request) (int, any, error) {
	return http.StatusNoContent, nil, r.Tenancy.DeleteSite(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
}

func (a *API) regenerateWebhookSecret(c echo.Context, r *Request) (int, any, error) {
	secret, err := r.Tenancy.RegenerateWebhookSecret(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]string{"siteId": c.Param("id"), "webhookSecret": secret}, nil
}

type providerIn struct {
	Type        string            `json:"type"`
	Mode        string            `json:"mode"`
	Name        *string           `json:"name"`
	Enabled     *bool             `json:"enabled"`
	Settings    map[string]string `json:"settings"`
	Credentials map[string]string `json:"credentials"`
	// Availability replaces the availability rules (absent: kept; {} clears them).
	Availability *availabilityJSON `json:"availability"`
}

func (in providerIn) input() tenancy.ProviderInput {
	out := tenancy.ProviderInput{Type: in.Type, Mode: in.Mode, Name: in.Name, Enabled: in.Enabled, Settings: in.Settings, Credentials: in.Credentials}
	if a := in.Availability; a != nil {
		out.Availability = &domain.Availability{Countries: a.Countries, Currencies: a.Currencies, AmountCurrency: a.AmountCurrency,
			MinAmount: a.MinAmount, MaxAmount: a.MaxAmount}
		for _, m := range a.Modes {
			out.Availability.Modes = append(out.Availability.Modes, domain.Mode(m))
		}
	}
	return out
}

func (a *API) listProviders(c echo.Context, r *Request) (int, any, error) {
	ps, err := r.Tenancy.ListProviders(c.Request().Context(), r.Actor, r.Org)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, listOf(ps, newProviderView), nil
}

func (a *API) createProvider(c echo.Context, r *Request) (int, any, error) {
	var in providerIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	p, err := r.Tenancy.CreateProvider(c.Request().Context(), r.Actor, r.Org, in.input())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, newProviderView(p), nil
}

func (a *API) getProvider(c echo.Context, r *Request) (int, any, error) {
	p, err := r.Tenancy.GetProvider(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newProviderView(p), nil
}

func (a *API) updateProvider(c echo.Context, r *Request) (int, any, error) {
	var in providerIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	p, err := r.Tenancy.UpdateProvider(c.Request().Context(), r.Actor, r.Org, c.Param("id"), in.input())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newProviderView(p), nil
}

func (a *API) deleteProvider(c echo.Context, r *Request) (int, any, error) {
	return http.StatusNoContent, nil, r.Tenancy.DeleteProvider(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
}

type organizationIn struct {
	Name             *string `json:"name"`
	SupportEmail     *string `json:"supportEmail"`
	SellerCountry    *string `json:"sellerCountry"`
	PricesIncludeTax *bool   `json:"pricesIncludeTax"`
	OSSRegistered    *bool   `json:"ossRegistered"`
	// BlockCheckoutsOnDispute: 409 CHECKOUT_BLOCKED_BY_DISPUTE for a client with an unresolved dispute.
	BlockCheckoutsOnDispute *bool `json:"blockCheckoutsOnDispute"`
}

func (in organizationIn) input() tenancy.OrganizationInput {
	return tenancy.OrganizationInput{Name: in.Name, SupportEmail: in.SupportEmail, SellerCountry: in.SellerCountry,
		PricesIncludeTax: in.PricesIncludeTax, OSSRegistered: in.OSSRegistered, BlockCheckoutsOnDispute: in.BlockCheckoutsOnDispute}
}

func (a *API) listOrganizations(c echo.Context, r *Request) (int, any, error) {
	orgs, err := r.Tenancy.ListOrganizations(c.Request().Context(), r.Actor)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, listOf(orgs, newOrganizationView), nil
}

func (a *API) createOrganization(c echo.Context, r *Request) (int, any, error) {
	var in organizationIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	o, err := r.Tenancy.CreateOrganization(c.Request().Context(), r.Actor, in.input())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, newOrganizationView(o), nil
}

func (a *API) getOrganization(c echo.Context, r *Request) (int, any, error) {
	id, err := orgParam(c, r)
	if err != nil {
		return 0, nil, err
	}
	o, err := r.Tenancy.GetOrganization(c.Request().Context(), r.Actor, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newOrganizationView(o), nil
}

func (a *API) updateOrganization(c echo.Context, r *Request) (int, any, error) {
	id, err := orgParam(c, r)
	if err != nil {
		return 0, nil, err
	}
	var in organizationIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	o, err := r.Tenancy.UpdateOrganization(c.Request().Context(), r.Actor, id, in.input())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newOrganizationView(o), nil
}

func (a *API) listMembers(c echo.Context, r *Request) (int, any, error) {
	id, err := orgParam(c, r)
	if err != nil {
		return 0, nil, err
	}
	ms, err := r.Tenancy.ListMembers(c.Request().Context(), r.Actor, id)
	if err != nil {
		return 0, nil, err
	}
	out := listView[memberView]{Data: []memberView{}}
	for _, m := range ms {
		out.Data = append(out.Data, newMemberView(m))
	}
	return http.StatusOK, out, nil
}

type memberIn struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

func (a *API) inviteMember(c echo.Context, r *Request) (int, any, error) {
	id, err := orgParam(c, r)
	if err != nil {
		return 0, nil, err
	}
	var in memberIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	inv, err := r.Tenancy.InviteMember(c.Request().Context(), r.Actor, id, in.Email, domain.Role(in.Role))
	if err != nil {
		return 0, nil, err
	}
	v := newMemberView(domain.Member{User: inv.User, Role: inv.Role})
	v.InvitationLink = inv.Link
	return http.StatusCreated, v, nil
}

func (a *API) changeMember(c echo.Context, r *Request) (int, any, error) {
	id, err := orgParam(c, r)
	if err != nil {
		return 0, nil, err
	}
	var in memberIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	ctx := c.Request().Context()
	if err := r.Tenancy.ChangeMemberRole(ctx, r.Actor, id, c.Param("userId"), domain.Role(in.Role)); err != nil {
		return 0, nil, err
	}
	ms, err := r.Tenancy.ListMembers(ctx, r.Actor, id)
	if err != nil {
		return 0, nil, err
	}
	for _, m := range ms {
		if m.User.ID == c.Param("userId") {
			return http.StatusOK, newMemberView(m), nil
		}
	}
	return 0, nil, domain.NotFound("member")
}

func (a *API) removeMember(c echo.Context, r *Request) (int, any, error) {
	id, err := orgParam(c, r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, r.Tenancy.RemoveMember(c.Request().Context(), r.Actor, id, c.Param("userId"))
}

type apiKeyIn struct {
	Name      string     `json:"name"`
	Mode      string     `json:"mode"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expiresAt"`
}

func (a *API) listAPIKeys(c echo.Context, r *Request) (int, any, error) {
	id, err := orgParam(c, r)
	if err != nil {
		return 0, nil, err
	}
	keys, err := r.Tenancy.ListAPIKeys(c.Request().Context(), r.Actor, id)
	if err != nil {
		return 0, nil, err
	}
	now := a.d.Now()
	return http.StatusOK, listOf(keys, func(k *domain.APIKey) *apiKeyView { return newAPIKeyView(k, now) }), nil
}

func (a *API) createAPIKey(c echo.Context, r *Request) (int, any, error) {
	id, err := orgParam(c, r)
	if err != nil {
		return 0, nil, err
	}
	var in apiKeyIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	k, token, err := r.Tenancy.CreateAPIKey(c.Request().Context(), r.Actor, id, tenancy.APIKeyInput{Name: in.Name, Mode: in.Mode, Scopes: in.Scopes, ExpiresAt: in.ExpiresAt})
	if err != nil {
		return 0, nil, err
	}
	v := newAPIKeyView(k, a.d.Now())
	v.Key = token
	return http.StatusCreated, v, nil
}

func (a *API) getAPIKey(c echo.Context, r *Request) (int, any, error) {
	id, err := orgParam(c, r)
	if err != nil {
		return 0, nil, err
	}
	k, err := r.Tenancy.GetAPIKey(c.Request().Context(), r.Actor, id, c.Param("keyId"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newAPIKeyView(k, a.d.Now()), nil
}

func (a *API) revokeAPIKey(c echo.Context, r *Request) (int, any, error) {
	id, err := orgParam(c, r)
	if err != nil {
		return 0, nil, err
	}
	ctx := c.Request().Context()
	if err := r.Tenancy.RevokeAPIKey(ctx, r.Actor, id, c.Param("keyId")); err != nil {
		return 0, nil, err
	}
	k, err := r.Tenancy.GetAPIKey(ctx, r.Actor, id, c.Param("keyId"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newAPIKeyView(k, a.d.Now()), nil
}

func (a *API) deleteAPIKey(c echo.Context, r *Request) (int, any, error) {
	id, err := orgParam(c, r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, r.Tenancy.DeleteAPIKey(c.Request().Context(), r.Actor, id, c.Param("keyId"))
}

type rotateIn struct {
	GracePeriodMinutes int `json:"gracePeriodMinutes"`
}

func (a *API) rotateAPIKey(c echo.Context, r *Request) (int, any, error) {
	id, err := orgParam(c, r)
	if err != nil {
		return 0, nil, err
	}
	var in rotateIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	k, token, err := r.Tenancy.RotateAPIKey(c.Request().Context(), r.Actor, id, c.Param("keyId"), time.Duration(in.GracePeriodMinutes)*time.Minute)
	if err != nil {
		return 0, nil, err
	}
	v := newAPIKeyView(k, a.d.Now())
	v.Key = token
	return http.StatusCreated, v, nil
}

func (a *API) listAudit(c echo.Context, r *Request) (int, any, error) {
	limit, err := limitParam(c)
	if err != nil {
		return 0, nil, err
	}
	after, err := cursorParam(c, domain.PrefixAudit)
	if err != nil {
		return 0, nil, err
	}
	from, err := timeParam(c, "from")
	if err != nil {
		return 0, nil, err
	}
	to, err := timeParam(c, "to")
	if err != nil {
		return 0, nil, err
	}
	list, more, err := r.Tenancy.ListAudit(c.Request().Context(), r.Actor, domain.AuditFilter{OrganizationID: r.Org,
		TargetID: c.QueryParam("targetId"), Action: c.QueryParam("action"), From: from, To: to, After: after, Limit: limit})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, pageOf(list, more, func(e *domain.AuditEntry) (auditView, string) {
		return newAuditView(e), e.ID
	}), nil
}

// testProvider makes one harmless call with the provider's configuration.
func (a *API) testProvider(c echo.Context, r *Request) (int, any, error) {
	res, err := r.Tenancy.TestProviderConnection(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, res, nil
}
