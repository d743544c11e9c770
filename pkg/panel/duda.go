package panel

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/integration/dudaconn"
)

// dudaRow is one connection of the list, with its Paygate site's name and how many Duda sites
// have the app installed.
type dudaRow struct {
	*dudaconn.DudaConnection
	SiteName  string
	Installed int
}

type dudaConnectionsData struct {
	Connections []dudaRow
}

// dudaConnections lists the organisation's Duda connections.
func (p *Panel) dudaConnections(c echo.Context, r *request) error {
	list, err := p.d.DudaConn.ListDudaConnections(c.Request().Context(), r.Actor, r.OrgID())
	if err != nil {
		return err
	}
	_, names, err := p.siteNames(c, r)
	if err != nil {
		return err
	}
	d := &dudaConnectionsData{Connections: make([]dudaRow, 0, len(list))}
	for _, dc := range list {
		row := dudaRow{DudaConnection: dc, SiteName: names[dc.SiteID]}
		for i := range dc.Sites {
			if dc.Sites[i].Installed() {
				row.Installed++
			}
		}
		d.Connections = append(d.Connections, row)
	}
	return p.render(c, r, http.StatusOK, "duda_connections", "Duda", "duda", d)
}

// dudaForm is the Duda connection form's values as typed, and the connection it edits. The
// API password and the app secret are write-only: never filled in, their masked form is the
// placeholder.
type dudaForm struct {
	formState
	ID                               string
	SiteID, AppUUID, AppUser, IPNURL string
	Enabled                          bool
	MaskedPassword, MaskedSecret     string

	Sites    []domain.Site // the organisation's sites, to choose from
	SiteName string
	Conn     *dudaconn.DudaConnection
}

func (p *Panel) dudaFormFor(c echo.Context, r *request, dc *dudaconn.DudaConnection) (*dudaForm, error) {
	sites, names, err := p.siteNames(c, r)
	if err != nil {
		return nil, err
	}
	f := &dudaForm{Sites: sites, Enabled: true}
	if dc == nil {
		if len(sites) == 1 {
			f.SiteID = sites[0].ID
		}
		return f, nil
	}
	f.Conn, f.ID, f.SiteName = dc, dc.ID, names[dc.SiteID]
	f.SiteID, f.AppUUID, f.AppUser, f.IPNURL, f.Enabled = dc.SiteID, dc.AppUUID, dc.AppUser, dc.IPNURL, dc.Enabled
	f.MaskedPassword, f.MaskedSecret = dc.CredentialsHint["appPassword"], dc.CredentialsHint["appSecret"]
	return f, nil
}

// title is the page's title: the connection's site, or the new form's.
func (f *dudaForm) title() string {
	if f.ID == "" {
		return "Connect a Duda app"
	}
	return "Duda app for " + f.SiteName
}

// bind reads the posted form into f and the platform's input. Fields the form does not send
// stay unchanged (the enable/disable button sends only "enabled"); empty secret fields keep
// the stored secrets on an update. The enabled checkbox follows a hidden "off", so an
// unticked box still says so.
func (f *dudaForm) bind(c echo.Context) dudaconn.DudaConnectionInput {
	v := form(c)
	var in dudaconn.DudaConnectionInput
	text := func(key string, dst *string) *string {
		if !v.Has(key) {
			return nil
		}
		*dst = trimmed(v, key)
		return dst
	}
	secret := func(key string) *string {
		if !v.Has(key) {
			return nil
		}
		s := v.Get(key)
		return &s
	}
	in.SiteID = text("siteId", &f.SiteID)
	in.AppUUID = text("appUuid", &f.AppUUID)
	in.AppUser = text("appUser", &f.AppUser)
	in.IPNURL = text("ipnUrl", &f.IPNURL)
	in.AppPassword, in.AppSecret = secret("appPassword"), secret("appSecret")
	if v.Has("enabled") {
		f.Enabled = slices.Contains(v["enabled"], "on")
		in.Enabled = &f.Enabled
	}
	return in
}

// dudaNames are the platform's field names in the form's words.
var dudaNames = strings.NewReplacer("siteId", "the site", "appUuid", "the App UUID", "appUser", "the API user",
	"appPassword", "the API password", "appSecret", "the app secret", "ipnUrl", "the IPN URL")

// dudaFailed re-renders the form with the platform's complaints next to their fields (all of
// them at once); other errors (403, 404 ...) become an error page.
func (p *Panel) dudaFailed(c echo.Context, r *request, f *dudaForm, err error) error {
	st, status, ok := formFailure(reworded(err, dudaNames), nil)
	if !ok {
		return err
	}
	f.formState = *st
	return p.render(c, r, status, "duda_connection", f.title(), "duda", f)
}

// dudaNew shows the form to connect a Duda app to a site (admin).
func (p *Panel) dudaNew(c echo.Context, r *request) error {
	if err := authorize(r, "duda:create"); err != nil {
		return err
	}
	f, err := p.dudaFormFor(c, r, nil)
	if err != nil {
		return err
	}
	return p.render(c, r, http.StatusOK, "duda_connection", f.title(), "duda", f)
}

// dudaCreate creates a connection with its write-only secrets (admin).
func (p *Panel) dudaCreate(c echo.Context, r *request) error {
	if err := authorize(r, "duda:create"); err != nil {
		return err
	}
	f, err := p.dudaFormFor(c, r, nil)
	if err != nil {
		return err
	}
	in := f.bind(c)
	dc, err := p.d.DudaConn.CreateDudaConnection(c.Request().Context(), r.Actor, r.OrgID(), in)
	if err != nil {
		return p.dudaFailed(c, r, f, err)
	}
	return seeOther(c, "/duda/"+dc.ID, "duda-created")
}

// dudaConnection shows a connection: the URLs for Duda's developer portal, the Duda sites it
// is installed on and, for administrators, its form. Secrets are only shown masked.
func (p *Panel) dudaConnection(c echo.Context, r *request) error {
	dc, err := p.d.DudaConn.GetDudaConnection(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id"))
	if err != nil {
		return err
	}
	f, err := p.dudaFormFor(c, r, dc)
	if err != nil {
		return err
	}
	return p.render(c, r, http.StatusOK, "duda_connection", f.title(), "duda", f)
}

// dudaUpdate saves a connection, or only enables or disables it; empty secret fields keep the
// stored secrets (admin).
func (p *Panel) dudaUpdate(c echo.Context, r *request) error {
	ctx := c.Request().Context()
	dc, err := p.d.DudaConn.GetDudaConnection(ctx, r.Actor, r.OrgID(), c.Param("id"))
	if err != nil {
		return err
	}
	f, err := p.dudaFormFor(c, r, dc)
	if err != nil {
		return err
	}
	in := f.bind(c)
	toggle := in.Enabled != nil && in.SiteID == nil && in.AppUUID == nil && in.AppUser == nil && in.IPNURL == nil &&
		in.AppPassword == nil && in.AppSecret == nil
	if _, err := p.d.DudaConn.UpdateDudaConnection(ctx, r.Actor, r.OrgID(), dc.ID, in); err != nil {
		return p.dudaFailed(c, r, f, err)
	}
	notice := "duda-saved"
	if toggle && *in.Enabled {
		notice = "duda-enabled"
	} else if toggle {
		notice = "duda-disabled"
	}
	return seeOther(c, "/duda/"+dc.ID, notice)
}

// dudaDelete removes a connection installed on no Duda site and without checkouts (admin).
func (p *Panel) dudaDelete(c echo.Context, r *request) error {
	if asksConfirmation(c) {
		return p.confirmDudaDelete(c, r)
	}
	if err := p.d.DudaConn.DeleteDudaConnection(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id")); err != nil {
		return err
	}
	return seeOther(c, "/duda", "duda-deleted")
}
