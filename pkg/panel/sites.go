package panel

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/tenancy"
)

type sitesData struct {
	Sites    []domain.Site
	Provider map[string]string // provider names by id
}

// sites lists the organisation's sites.
func (p *Panel) sites(c echo.Context, r *request) error {
	ctx := c.Request().Context()
	sites, err := p.d.Tenancy.ListSites(ctx, r.Actor, r.OrgID())
	if err != nil {
		return err
	}
	provs, err := p.d.Tenancy.ListProviders(ctx, r.Actor, r.OrgID())
	if err != nil {
		return err
	}
	d := &sitesData{Sites: sites, Provider: map[string]string{}}
	for _, pr := range provs {
		d.Provider[pr.ID] = pr.Name
	}
	return p.render(c, r, http.StatusOK, "sites", "Sites", "sites", d)
}

// siteForm is the site form's values as typed.
type siteForm struct {
	formState
	ID, Name, LogoURL, PrimaryColor, AllowedHosts, TaxDisplay, VATIDValidation, DefaultLanguage, IPNVersion, FrameAncestors string
	// EventsURL receives the site's invoice events (blank: none).
	EventsURL         string
	ProviderIDs       map[string]bool
	DefaultProviderID string

	Providers []domain.Provider
	Languages []string
	// Secret is the IPN signing secret, shown once: on the answer to creating the site or
	// regenerating its secret, never again.
	Secret  string
	Created bool
	Site    *domain.Site
	// Receipts is the site's switch for buyers' e-mail receipts (HasReceipts: the server
	// sends receipts, so the form shows it).
	Receipts, HasReceipts bool
}

func (f *siteForm) alert() string { return f.formState.alert() }

func (p *Panel) siteFormFor(c echo.Context, r *request, s *domain.Site) (*siteForm, error) {
	provs, err := p.d.Tenancy.ListProviders(c.Request().Context(), r.Actor, r.OrgID())
	if err != nil {
		return nil, err
	}
	f := &siteForm{Providers: provs, Languages: domain.SupportedLanguages, ProviderIDs: map[string]bool{},
		HasReceipts: p.d.Receipts != nil, Receipts: s == nil || !s.ReceiptsDisabled}
	if s == nil {
		f.TaxDisplay, f.VATIDValidation, f.DefaultLanguage, f.IPNVersion = "inclusive", "format", "en", "2"
		return f, nil
	}
	f.Site = s
	f.ID, f.Name, f.LogoURL, f.PrimaryColor = s.ID, s.Name, s.LogoURL, s.PrimaryColor
	f.AllowedHosts = strings.Join(s.AllowedHosts, "\n")
	f.TaxDisplay, f.VATIDValidation, f.DefaultLanguage = string(s.TaxDisplay), string(s.VATIDValidation), s.DefaultLanguage
	f.IPNVersion, f.FrameAncestors = strconv.Itoa(s.IPNVersion), s.FrameAncestors
	if s.EventsURL != nil {
		f.EventsURL = *s.EventsURL
	}
	if s.DefaultProviderID != nil {
		f.DefaultProviderID = *s.DefaultProviderID
	}
	assigned, err := p.d.Tenancy.SiteProviders(c.Request().Context(), r.Actor, r.OrgID(), s.ID)
	if err != nil {
		return nil, err
	}
	for _, a := range assigned {
		f.ProviderIDs[a.ID] = true
	}
	return f, nil
}

// bind reads the posted form into f and the platform's input.
func (f *siteForm) bind(c echo.Context) tenancy.SiteInput {
	v := form(c)
	f.Name, f.LogoURL, f.PrimaryColor = trimmed(v, "name"), trimmed(v, "logoUrl"), trimmed(v, "primaryColor")
	f.AllowedHosts, f.TaxDisplay, f.VATIDValidation = v.Get("allowedHosts"), v.Get("taxDisplay"), v.Get("vatIdValidation")
	f.DefaultLanguage, f.IPNVersion, f.FrameAncestors = v.Get("defaultLanguage"), v.Get("ipnVersion"), trimmed(v, "frameAncestors")
	f.DefaultProviderID, f.EventsURL = v.Get("defaultProviderId"), trimmed(v, "eventsUrl")
	f.Receipts = v.Get("receipts") == "on"
	f.ProviderIDs = map[string]bool{}
	var ids []string
	// Assigned providers keep the order of the organisation's provider list.
	chosen := map[string]bool{}
	for _, id := range v["providerIds"] {
		chosen[id] = true
	}
	for _, pr := range f.Providers {
		if chosen[pr.ID] {
			ids = append(ids, pr.ID)
			f.ProviderIDs[pr.ID] = true
			delete(chosen, pr.ID)
		}
	}
	for id := range chosen { // unknown ids: the platform answers NOT_FOUND / invalid
		ids = append(ids, id)
	}
	hosts := lines(f.AllowedHosts)
	if hosts == nil {
		hosts = []string{}
	}
	in := tenancy.SiteInput{Name: &f.Name, LogoURL: &f.LogoURL, PrimaryColor: &f.PrimaryColor, AllowedHosts: &hosts,
		TaxDisplay: &f.TaxDisplay, VATIDValidation: &f.VATIDValidation, DefaultLanguage: &f.DefaultLanguage,
		FrameAncestors: &f.FrameAncestors, ProviderIDs: &ids, DefaultProviderID: &f.DefaultProviderID, EventsURL: &f.EventsURL}
	if n, ok := atoi(f.IPNVersion); ok {
		in.IPNVersion = &n
	} else {
		bad := -1
		in.IPNVersion = &bad
	}
	if f.DefaultProviderID != "" && !f.ProviderIDs[f.DefaultProviderID] {
		f.set("defaultProviderId", "The default provider must be one of the providers ticked above")
	}
	return in
}

var siteFields = map[string]string{"providerIds": "providerIds", "defaultProviderId": "defaultProviderId"}

func (p *Panel) siteNew(c echo.Context, r *request) error {
	if err := authorize(r, "site:create"); err != nil {
		return err
	}
	f, err := p.siteFormFor(c, r, nil)
	if err != nil {
		return err
	}
	return p.render(c, r, http.StatusOK, "site", "New site", "sites", f)
}

// siteCreate creates a site and shows its IPN signing secret this once.
func (p *Panel) siteCreate(c echo.Context, r *request) error {
	if err := authorize(r, "site:create"); err != nil {
		return err
	}
	f, err := p.siteFormFor(c, r, nil)
	if err != nil {
		return err
	}
	in := f.bind(c)
	if f.failed() {
		return p.render(c, r, http.StatusBadRequest, "site", "New site", "sites", f)
	}
	site, secret, err := p.d.Tenancy.CreateSite(c.Request().Context(), r.Actor, r.OrgID(), in)
	if err != nil {
		return p.siteFailed(c, r, f, err, "New site")
	}
	if err := p.saveReceiptsSwitch(c, r, site, f.Receipts); err != nil {
		return err
	}
	f, err = p.siteFormFor(c, r, site)
	if err != nil {
		return err
	}
	f.Secret, f.Created = secret, true
	return p.render(c, r, http.StatusOK, "site", site.Name, "sites", f)
}

func (p *Panel) siteFailed(c echo.Context, r *request, f *siteForm, err error, title string) error {
	if domain.IsNotFound(err) && domain.ErrorCode(err) == domain.CodeNotFound && strings.Contains(errMessage(err), "provider") {
		err = domain.Invalid("providerIds", "one of the chosen providers no longer exists; reload the page")
	}
	st, status, ok := formFailure(err, siteFields)
	if !ok {
		return err
	}
	f.formState = *st
	return p.render(c, r, status, "site", title, "sites", f)
}

// site shows a site's settings form (read-only controls for viewers and editors).
func (p *Panel) site(c echo.Context, r *request) error {
	s, err := p.d.Tenancy.GetSite(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id"))
	if err != nil {
		return err
	}
	f, err := p.siteFormFor(c, r, s)
	if err != nil {
		return err
	}
	return p.render(c, r, http.StatusOK, "site", s.Name, "sites", f)
}

// siteUpdate saves a site's settings (admin).
func (p *Panel) siteUpdate(c echo.Context, r *request) error {
	ctx := c.Request().Context()
	s, err := p.d.Tenancy.GetSite(ctx, r.Actor, r.OrgID(), c.Param("id"))
	if err != nil {
		return err
	}
	if err := authorize(r, "site:update"); err != nil {
		return err
	}
	f, err := p.siteFormFor(c, r, s)
	if err != nil {
		return err
	}
	in := f.bind(c)
	if f.failed() {
		return p.render(c, r, http.StatusBadRequest, "site", s.Name, "sites", f)
	}
	if _, err := p.d.Tenancy.UpdateSite(ctx, r.Actor, r.OrgID(), s.ID, in); err != nil {
		return p.siteFailed(c, r, f, err, s.Name)
	}
	if err := p.saveReceiptsSwitch(c, r, s, f.Receipts); err != nil {
		return err
	}
	return seeOther(c, "/sites/"+s.ID, "site-saved")
}

// saveReceiptsSwitch sets the site's receipts switch as the form has it, when it changes
// (the receipt use case audits the change).
func (p *Panel) saveReceiptsSwitch(c echo.Context, r *request, s *domain.Site, on bool) error {
	if p.d.Receipts == nil || on == !s.ReceiptsDisabled {
		return nil
	}
	return p.d.Receipts.SetEnabled(c.Request().Context(), r.Actor, r.OrgID(), s.ID, on)
}

// siteRegenerateSecret gives the site a new IPN signing secret, shown this once (admin). The
// form must confirm it: the old secret stops working at once.
func (p *Panel) siteRegenerateSecret(c echo.Context, r *request) error {
	ctx := c.Request().Context()
	s, err := p.d.Tenancy.GetSite(ctx, r.Actor, r.OrgID(), c.Param("id"))
	if err != nil {
		return err
	}
	if c.FormValue("confirm") != "yes" {
		// Anything but the confirm step's own "yes" shows the confirm step first.
		return p.confirmSecret(c, r, s)
	}
	secret, err := p.d.Tenancy.RegenerateWebhookSecret(ctx, r.Actor, r.OrgID(), s.ID)
	if err != nil {
		return err
	}
	f, err := p.siteFormFor(c, r, s)
	if err != nil {
		return err
	}
	f.Secret = secret
	return p.render(c, r, http.StatusOK, "site", s.Name, "sites", f)
}

// siteDelete removes a site that has no checkouts (admin).
func (p *Panel) siteDelete(c echo.Context, r *request) error {
	if asksConfirmation(c) {
		s, err := p.d.Tenancy.GetSite(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id"))
		if err != nil {
			return err
		}
		return p.confirmDelete(c, r, "site:delete", "sites", "site “"+s.Name+"” ("+s.ID+")", "/sites/"+s.ID+"/delete", "/sites/"+s.ID,
			"Its branding, allowed hosts, webhook secret and provider choices go with it. Only a site without checkouts can be deleted.")
	}
	if err := p.d.Tenancy.DeleteSite(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id")); err != nil {
		return err
	}
	return seeOther(c, "/sites", "site-deleted")
}
