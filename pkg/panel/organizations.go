package panel

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/tenancy"
)

// orgRow is an organisation the user can work in.
type orgRow struct {
	Org     domain.Organization
	Role    domain.Role
	Current bool
}

type orgForm struct {
	formState
	Name, SupportEmail, SellerCountry string
	PricesIncludeTax, OSSRegistered   bool
	// BlockCheckoutsOnDispute refuses new checkouts for a client with an unresolved dispute.
	BlockCheckoutsOnDispute bool
}

type organizationsData struct {
	Orgs []orgRow
	// PlatformAdmin may create organisations and enter any of them.
	PlatformAdmin bool
	Create        orgForm
	Settings      orgForm
}

func (d *organizationsData) alert() string {
	if m := d.Create.alert(); m != "" {
		return m
	}
	return d.Settings.alert()
}

func (p *Panel) organizationsPage(c echo.Context, r *request, d *organizationsData, status int) error {
	ctx := c.Request().Context()
	d.PlatformAdmin = r.User.PlatformAdmin
	mine, err := p.d.Tenancy.UserOrganizations(ctx, r.User.ID)
	if err != nil {
		return err
	}
	roles := map[string]domain.Role{}
	for _, m := range mine {
		roles[m.Organization.ID] = m.Role
	}
	if r.User.PlatformAdmin {
		all, err := p.d.Tenancy.ListOrganizations(ctx, r.Actor)
		if err != nil {
			return err
		}
		for _, o := range all {
			role := roles[o.ID]
			if role == "" {
				role = domain.RoleAdmin // platform administrators act as admins everywhere
			}
			d.Orgs = append(d.Orgs, orgRow{Org: o, Role: role, Current: o.ID == r.OrgID()})
		}
	} else {
		for _, m := range mine {
			d.Orgs = append(d.Orgs, orgRow{Org: m.Organization, Role: m.Role, Current: m.Organization.ID == r.OrgID()})
		}
	}
	if r.Org != nil && !d.Settings.failed() {
		o := r.Org
		d.Settings = orgForm{Name: o.Name, SupportEmail: o.SupportEmail, SellerCountry: o.SellerCountry, PricesIncludeTax: o.PricesIncludeTax,
			OSSRegistered: o.OSSRegistered, BlockCheckoutsOnDispute: o.BlockCheckoutsOnDispute}
	}
	if !d.Create.failed() {
		d.Create = orgForm{PricesIncludeTax: true}
	}
	return p.render(c, r, status, "organizations", "Organisations", "organizations", d)
}

// organizations lists the organisations the user can switch to; platform administrators also
// create them here, and admins edit the current one's settings.
func (p *Panel) organizations(c echo.Context, r *request) error {
	return p.organizationsPage(c, r, &organizationsData{}, http.StatusOK)
}

func (f *orgForm) bind(c echo.Context) tenancy.OrganizationInput {
	v := form(c)
	f.Name, f.SupportEmail, f.SellerCountry = trimmed(v, "name"), trimmed(v, "supportEmail"), strings.ToUpper(trimmed(v, "sellerCountry"))
	f.PricesIncludeTax, f.OSSRegistered = v.Get("pricesIncludeTax") == "on", v.Get("ossRegistered") == "on"
	f.BlockCheckoutsOnDispute = v.Get("blockCheckoutsOnDispute") == "on"
	return tenancy.OrganizationInput{Name: &f.Name, SupportEmail: &f.SupportEmail, SellerCountry: &f.SellerCountry,
		PricesIncludeTax: &f.PricesIncludeTax, OSSRegistered: &f.OSSRegistered, BlockCheckoutsOnDispute: &f.BlockCheckoutsOnDispute}
}

// organizationCreate creates an organisation and switches to it (platform administrators).
func (p *Panel) organizationCreate(c echo.Context, r *request) error {
	d := &organizationsData{}
	in := d.Create.bind(c)
	o, err := p.d.Tenancy.CreateOrganization(c.Request().Context(), r.Actor, in)
	if err != nil {
		st, status, ok := formFailure(err, nil)
		if !ok {
			return err
		}
		d.Create.formState = *st
		return p.organizationsPage(c, r, d, status)
	}
	if _, err := p.startSession(c, r.User, o.ID); err != nil {
		return err
	}
	return seeOther(c, "/organizations", "org-created")
}

// organizationSwitch makes another organisation the session's current one. Members switch
// between their organisations; platform administrators into any.
func (p *Panel) organizationSwitch(c echo.Context, r *request) error {
	orgID := c.FormValue("org")
	if _, err := p.d.Tenancy.UserActor(c.Request().Context(), r.User, orgID); err != nil || orgID == "" {
		if err == nil || domain.ErrorKind(err) == domain.KindForbidden {
			return domain.NotFound("organization")
		}
		return err
	}
	if _, err := p.startSession(c, r.User, orgID); err != nil {
		return err
	}
	return seeOther(c, "/", "org-switched")
}

// organizationUpdate edits the current organisation's name, support address, tax settings and
// whether a client with an unresolved dispute may start new checkouts (admin).
func (p *Panel) organizationUpdate(c echo.Context, r *request) error {
	d := &organizationsData{}
	in := d.Settings.bind(c)
	if _, err := p.d.Tenancy.UpdateOrganization(c.Request().Context(), r.Actor, r.OrgID(), in); err != nil {
		st, status, ok := formFailure(err, nil)
		if !ok {
			return err
		}
		d.Settings.formState = *st
		return p.organizationsPage(c, r, d, status)
	}
	return seeOther(c, "/organizations", "org-saved")
}
