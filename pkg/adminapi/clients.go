package adminapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/idempotency"
)

// clientObjectID is a client addressed by the path (an API key of the other mode gets 404).
var clientObjectID = &Object{Kind: domain.ModedClient, Param: "id"}

// clientRoutes are the clients and their customer risk holds (pkg/client).
func (a *API) clientRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/clients", Perm: "client:read", Handler: a.listClients},
		{Method: http.MethodPost, Path: "/clients", Perm: "client:create", Idem: idempotency.Local, Handler: a.createClient},
		{Method: http.MethodGet, Path: "/clients/:id", Perm: "client:read", Object: clientObjectID, Handler: a.getClient},
		{Method: http.MethodPatch, Path: "/clients/:id", Perm: "client:update", Object: clientObjectID, Handler: a.updateClient},
		{Method: http.MethodDelete, Path: "/clients/:id", Perm: "client:delete", Object: clientObjectID, Handler: a.deleteClient},
		{Method: http.MethodGet, Path: "/clients/:id/holds", Perm: "client_hold:read", Object: clientObjectID, Handler: a.listHolds},
		{Method: http.MethodPost, Path: "/clients/:id/holds", Perm: "client_hold:create", Object: clientObjectID, Idem: idempotency.Local, Handler: a.placeHold},
		{Method: http.MethodPatch, Path: "/clients/:id/holds/:holdId", Perm: "client_hold:update", Object: clientObjectID, Handler: a.changeHold},
		{Method: http.MethodPost, Path: "/clients/:id/holds/:holdId/release", Perm: "client_hold:update", Object: clientObjectID, Idem: idempotency.Local, Handler: a.releaseHold},
	}
}

type clientIn struct {
	Email          *string         `json:"email"`
	Name           *string         `json:"name"`
	Company        *string         `json:"company"`
	BillingAddress *domain.Address `json:"billingAddress"`
	VATID          *string         `json:"vatId"`
	Notes          *string         `json:"notes"`
	Mode           string          `json:"mode"` // dashboard sessions only; API keys use their own mode
}

func (in clientIn) input() domain.ClientInput {
	return domain.ClientInput{Email: in.Email, Name: in.Name, Company: in.Company, BillingAddress: in.BillingAddress, VATID: in.VATID, Notes: in.Notes}
}

type clientValueView struct {
	Currency string `json:"currency"`
	Paid     int64  `json:"paid"`
	Refunded int64  `json:"refunded"`
	Net      int64  `json:"net"`
	Payments int64  `json:"payments"`
}

type clientView struct {
	ID             string             `json:"id"`
	Mode           string             `json:"mode"`
	Email          string             `json:"email"`
	Name           string             `json:"name,omitempty"`
	Company        string             `json:"company,omitempty"`
	BillingAddress *domain.Address    `json:"billingAddress,omitempty"`
	VATID          string             `json:"vatId,omitempty"`
	VATIDStatus    string             `json:"vatIdStatus,omitempty"`
	VATIDCheckedAt *time.Time         `json:"vatIdCheckedAt,omitempty"`
	Notes          string             `json:"notes,omitempty"`
	LifetimeValue  *[]clientValueView `json:"lifetimeValue,omitempty"` // on a single client only
	ActiveHold     *holdView          `json:"activeHold,omitempty"`
	CreatedAt      time.Time          `json:"createdAt"`
	UpdatedAt      time.Time          `json:"updatedAt"`
}

func newClientView(c *domain.Client) *clientView {
	return &clientView{ID: c.ID, Mode: string(c.Mode), Email: c.Email, Name: c.Name, Company: c.Company, BillingAddress: c.BillingAddress,
		VATID: c.VATID, VATIDStatus: string(c.VATIDStatus), VATIDCheckedAt: c.VATIDCheckedAt, Notes: c.Notes, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

type holdView struct {
	ID                   string     `json:"id"`
	ClientID             string     `json:"clientId"`
	Mode                 string     `json:"mode"`
	Action               string     `json:"action"`
	Reason               string     `json:"reason"`
	Note                 string     `json:"note,omitempty"`
	AllowedProviderTypes []string   `json:"allowedProviderTypes"`
	AllowedProviderIDs   []string   `json:"allowedProviderIds"`
	Active               bool       `json:"active"`
	CreatedBy            string     `json:"createdBy,omitempty"`
	ReleasedBy           string     `json:"releasedBy,omitempty"`
	ReleasedAt           *time.Time `json:"releasedAt,omitempty"`
	CreatedAt            time.Time  `json:"createdAt"`
	UpdatedAt            time.Time  `json:"updatedAt"`
}

func newHoldView(h *domain.ClientHold) *holdView {
	v := &holdView{ID: h.ID, ClientID: h.ClientID, Mode: string(h.Mode), Action: string(h.Action), Reason: h.Reason, Note: h.Note,
		AllowedProviderTypes: h.AllowedProviderTypes, AllowedProviderIDs: h.AllowedProviderIDs, Active: h.Active(),
		CreatedBy: h.CreatedBy, ReleasedBy: h.ReleasedBy, ReleasedAt: h.ReleasedAt, CreatedAt: h.CreatedAt, UpdatedAt: h.UpdatedAt}
	if v.AllowedProviderTypes == nil {
		v.AllowedProviderTypes = []string{}
	}
	if v.AllowedProviderIDs == nil {
		v.AllowedProviderIDs = []string{}
	}
	return v
}

func (a *API) listClients(c echo.Context, r *Request) (int, any, error) {
	limit, err := limitParam(c)
	if err != nil {
		return 0, nil, err
	}
	after, err := cursorParam(c, domain.PrefixClient)
	if err != nil {
		return 0, nil, err
	}
	f := domain.ClientFilter{OrganizationID: r.Org, Mode: domain.Mode(c.QueryParam("mode")), Search: c.QueryParam("q"), After: after, Limit: limit}
	list, more, err := r.Client.ListClients(c.Request().Context(), r.Actor, f)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, pageOf(list, more, func(cl *domain.Client) (*clientView, string) { return newClientView(cl), cl.ID }), nil
}

func (a *API) createClient(c echo.Context, r *Request) (int, any, error) {
	var in clientIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	cl, err := r.Client.CreateClient(c.Request().Context(), r.Actor, r.Org, domain.Mode(in.Mode), in.input())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, newClientView(cl), nil
}

func (a *API) getClient(c echo.Context, r *Request) (int, any, error) {
	d, err := r.Client.ClientDetail(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
	if err != nil {
		return 0, nil, err
	}
	v := newClientView(d.Client)
	values := []clientValueView{}
	for _, cv := range d.Values {
		values = append(values, clientValueView(cv))
	}
	v.LifetimeValue = &values
	if h := d.ActiveHold(); h != nil {
		v.ActiveHold = newHoldView(h)
	}
	return http.StatusOK, v, nil
}

func (a *API) updateClient(c echo.Context, r *Request) (int, any, error) {
	var in clientIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	cl, err := r.Client.UpdateClient(c.Request().Context(), r.Actor, r.Org, c.Param("id"), in.input())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newClientView(cl), nil
}

func (a *API) deleteClient(c echo.Context, r *Request) (int, any, error) {
	return http.StatusNoContent, nil, r.Client.DeleteClient(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
}

type holdIn struct {
	Action               string   `json:"action"`
	Reason               string   `json:"reason"`
	Note                 string   `json:"note"`
	AllowedProviderTypes []string `json:"allowedProviderTypes"`
	AllowedProviderIDs   []string `json:"allowedProviderIds"`
}

func (in holdIn) input() domain.HoldInput {
	return domain.HoldInput{Action: domain.HoldAction(in.Action), Reason: in.Reason, Note: in.Note,
		AllowedProviderTypes: in.AllowedProviderTypes, AllowedProviderIDs: in.AllowedProviderIDs}
}

func (a *API) listHolds(c echo.Context, r *Request) (int, any, error) {
	hs, err := r.Client.ListHolds(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, listOf(hs, newHoldView), nil
}

func (a *API) placeHold(c echo.Context, r *Request) (int, any, error) {
	var in holdIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	h, err := r.Client.PlaceHold(c.Request().Context(), r.Actor, r.Org, c.Param("id"), in.input())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, newHoldView(h), nil
}

func (a *API) changeHold(c echo.Context, r *Request) (int, any, error) {
	var in holdIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	h, err := r.Client.ChangeHold(c.Request().Context(), r.Actor, r.Org, c.Param("id"), c.Param("holdId"), in.input())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newHoldView(h), nil
}

type releaseIn struct {
	Note string `json:"note"`
}

func (a *API) releaseHold(c echo.Context, r *Request) (int, any, error) {
	var in releaseIn
	if c.Request().ContentLength != 0 {
		if _, err := httpapi.ReadJSON(c, &in); err != nil {
			return 0, nil, err
		}
	}
	h, err := r.Client.ReleaseHold(c.Request().Context(), r.Actor, r.Org, c.Param("id"), c.Param("holdId"), in.Note)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newHoldView(h), nil
}
