package adminapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/logging"
)

type tokenIn struct {
	Email          string `json:"email"`
	Password       string `json:"password"`
	OrganizationID string `json:"organizationId"`
}

type tokenView struct {
	Token          string    `json:"token"`
	TokenType      string    `json:"tokenType"`
	ExpiresAt      time.Time `json:"expiresAt"`
	OrganizationID string    `json:"organizationId,omitempty"`
	Role           string    `json:"role,omitempty"`
	UserID         string    `json:"userId"`
	Email          string    `json:"email"`
	PlatformAdmin  bool      `json:"platformAdmin"`
}

// issueToken signs a dashboard user in and returns a short-lived bearer token for the
// management API (the same session the Admin Panel keeps in a cookie).
func (a *API) issueToken(c echo.Context, _ *Request) (int, any, error) {
	var in tokenIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	// Failures count per (IP, address), so a client guessing one account's password from a
	// shared address does not stop the others there from signing in.
	ip, email := c.RealIP(), domain.NormalizeEmail(in.Email)
	ctx := c.Request().Context()
	if blocked, wait := a.signInLimit.Blocked(ctx, ip, email); blocked {
		return 0, nil, &httpapi.RetryAfterError{Seconds: httpapi.RetryAfterSeconds(wait), Message: "too many failed sign-ins from this address; wait before retrying"}
	}
	u, err := a.d.Tenancy.SignIn(ctx, in.Email, in.Password)
	if err != nil {
		if domain.ErrorKind(err) == domain.KindUnauthorized {
			a.signInLimit.Fail(ctx, ip, email)
		}
		return 0, nil, err
	}
	org := in.OrganizationID
	if org == "" {
		orgs, err := a.d.Tenancy.UserOrganizations(ctx, u.ID)
		if err != nil {
			return 0, nil, err
		}
		if len(orgs) > 0 {
			org = orgs[0].Organization.ID
		}
	}
	return a.tokenFor(c, u, org)
}

func (a *API) tokenFor(c echo.Context, u *domain.User, org string) (int, any, error) {
	actor, err := a.d.Tenancy.UserActor(c.Request().Context(), u, org)
	if err != nil {
		return 0, nil, err
	}
	logging.SetTenant(c.Request().Context(), org, "")
	tok, exp, err := a.d.Sessions.IssueFor(u, org)
	if err != nil {
		return 0, nil, domain.Internal(err, "sign session")
	}
	return http.StatusOK, tokenView{Token: tok, TokenType: "Bearer", ExpiresAt: exp, OrganizationID: org, Role: string(actor.Role),
		UserID: u.ID, Email: u.Email, PlatformAdmin: u.PlatformAdmin}, nil
}

type refreshIn struct {
	OrganizationID string `json:"organizationId"`
}

// refreshToken renews a session token, optionally switching organisation (platform
// administrators to any, others to one they belong to).
func (a *API) refreshToken(c echo.Context, r *Request) (int, any, error) {
	if r.Actor.Type != domain.ActorUser {
		return 0, nil, domain.Forbidden(domain.CodeForbidden, "only dashboard sessions can be refreshed")
	}
	var in refreshIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	u, err := a.d.Tenancy.SessionUser(c.Request().Context(), r.Actor.ID)
	if err != nil {
		return 0, nil, err
	}
	org := r.Org
	if in.OrganizationID != "" {
		org = in.OrganizationID
	}
	return a.tokenFor(c, u, org)
}

// logout ends every session of the signed-in user: this bearer token, other tokens and the
// Admin Panel's cookies stop working at once.
func (a *API) logout(c echo.Context, r *Request) (int, any, error) {
	if err := r.Tenancy.SignOut(c.Request().Context(), r.Actor); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

type meView struct {
	Type           string   `json:"type"`
	ID             string   `json:"id"`
	Label          string   `json:"label"`
	OrganizationID string   `json:"organizationId"`
	Role           string   `json:"role,omitempty"`
	Scopes         []string `json:"scopes,omitempty"`
	Mode           string   `json:"mode,omitempty"`
	PlatformAdmin  bool     `json:"platformAdmin"`
}

func (a *API) me(c echo.Context, r *Request) (int, any, error) {
	x := r.Actor
	return http.StatusOK, meView{Type: x.Type, ID: x.ID, Label: x.Label, OrganizationID: x.OrganizationID, Role: string(x.Role),
		Scopes: x.Scopes, Mode: string(x.Mode), PlatformAdmin: x.PlatformAdmin}, nil
}
