package adminapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/idempotency"
	"paygate.dev/pkg/integration/dudaconn"
)

// DudaRoutes manage the organisation's Duda gateway apps: the connection of an app to a site,
// with the URLs to paste into Duda's developer portal and the Duda sites it is installed on.
func DudaRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/duda/connections", Perm: "duda:read", Handler: listDudaConnections},
		{Method: http.MethodPost, Path: "/duda/connections", Perm: "duda:create", Idem: idempotency.Local, Handler: createDudaConnection},
		{Method: http.MethodGet, Path: "/duda/connections/:id", Perm: "duda:read", Handler: getDudaConnection},
		{Method: http.MethodPatch, Path: "/duda/connections/:id", Perm: "duda:update", Handler: updateDudaConnection},
		{Method: http.MethodDelete, Path: "/duda/connections/:id", Perm: "duda:delete", Handler: deleteDudaConnection},
	}
}

type dudaConnectionIn struct {
	SiteID      *string `json:"siteId"`
	AppUUID     *string `json:"appUuid"`
	AppUser     *string `json:"appUser"`
	AppPassword *string `json:"appPassword"`
	AppSecret   *string `json:"appSecret"`
	IPNURL      *string `json:"ipnUrl"`
	Enabled     *bool   `json:"enabled"`
}

func (in dudaConnectionIn) input() dudaconn.DudaConnectionInput {
	return dudaconn.DudaConnectionInput{SiteID: in.SiteID, AppUUID: in.AppUUID, AppUser: in.AppUser, AppPassword: in.AppPassword,
		AppSecret: in.AppSecret, IPNURL: in.IPNURL, Enabled: in.Enabled}
}

type dudaSiteView struct {
	ID          string `json:"id"`
	SiteName    string `json:"siteName"`
	APIEndpoint string `json:"apiEndpoint"`
	GatewayID   string `json:"gatewayId,omitempty"`
	// GatewayState is where registering the gateway stands (registered, retrying, failed).
	GatewayState         string     `json:"gatewayState,omitempty"`
	GatewayError         string     `json:"gatewayError,omitempty"`
	GatewayAttempts      int        `json:"gatewayAttempts,omitempty"`
	GatewayNextAttemptAt *time.Time `json:"gatewayNextAttemptAt,omitempty"`
	Installed            bool       `json:"installed"`
	InstalledAt          *time.Time `json:"installedAt,omitempty"`
	UninstalledAt        *time.Time `json:"uninstalledAt,omitempty"`
	TokenExpiresAt       *time.Time `json:"tokenExpiresAt,omitempty"`
}

type dudaConnectionView struct {
	ID                 string            `json:"id"`
	SiteID             string            `json:"siteId"`
	AppUUID            string            `json:"appUuid"`
	AppUser            string            `json:"appUser"`
	Credentials        map[string]string `json:"credentials"` // masked
	IPNURL             string            `json:"ipnUrl,omitempty"`
	Enabled            bool              `json:"enabled"`
	InstallURL         string            `json:"installUrl"`
	UninstallURL       string            `json:"uninstallUrl"`
	PaymentMethodsURLs map[string]string `json:"paymentMethodsUrls"`
	Sites              []dudaSiteView    `json:"sites"`
	CreatedAt          time.Time         `json:"createdAt"`
	UpdatedAt          time.Time         `json:"updatedAt"`
}

func newDudaConnectionView(c *dudaconn.DudaConnection) *dudaConnectionView {
	v := &dudaConnectionView{ID: c.ID, SiteID: c.SiteID, AppUUID: c.AppUUID, AppUser: c.AppUser, Credentials: c.CredentialsHint,
		IPNURL: c.IPNURL, Enabled: c.Enabled, InstallURL: c.URLs.Install, UninstallURL: c.URLs.Uninstall,
		PaymentMethodsURLs: map[string]string{"live": c.URLs.PaymentMethodsLive, "test": c.URLs.PaymentMethodsTest},
		Sites:              []dudaSiteView{}, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	for _, s := range c.Sites {
		v.Sites = append(v.Sites, dudaSiteView{ID: s.ID, SiteName: s.SiteName, APIEndpoint: s.APIEndpoint, GatewayID: s.GatewayID,
			GatewayState: s.GatewayState, GatewayError: s.GatewayError, GatewayAttempts: s.GatewayAttempts, GatewayNextAttemptAt: s.GatewayNextAttemptAt,
			Installed: s.Installed(), InstalledAt: s.InstalledAt, UninstalledAt: s.UninstalledAt, TokenExpiresAt: s.TokenExpiresAt})
	}
	return v
}

func listDudaConnections(c echo.Context, r *Request) (int, any, error) {
	list, err := r.DudaConn.ListDudaConnections(c.Request().Context(), r.Actor, r.Org)
	if err != nil {
		return 0, nil, err
	}
	out := listView[*dudaConnectionView]{Data: make([]*dudaConnectionView, 0, len(list))}
	for _, dc := range list {
		out.Data = append(out.Data, newDudaConnectionView(dc))
	}
	return http.StatusOK, out, nil
}

func createDudaConnection(c echo.Context, r *Request) (int, any, error) {
	var in dudaConnectionIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	dc, err := r.DudaConn.CreateDudaConnection(c.Request().Context(), r.Actor, r.Org, in.input())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, newDudaConnectionView(dc), nil
}

func getDudaConnection(c echo.Context, r *Request) (int, any, error) {
	dc, err := r.DudaConn.GetDudaConnection(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newDudaConnectionView(dc), nil
}

func updateDudaConnection(c echo.Context, r *Request) (int, any, error) {
	var in dudaConnectionIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	dc, err := r.DudaConn.UpdateDudaConnection(c.Request().Context(), r.Actor, r.Org, c.Param("id"), in.input())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newDudaConnectionView(dc), nil
}

func deleteDudaConnection(c echo.Context, r *Request) (int, any, error) {
	return http.StatusNoContent, nil, r.DudaConn.DeleteDudaConnection(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
}
