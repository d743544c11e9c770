package panel

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/logging"
)

// Cookie names.
const (
	sessionCookie = "pg_session"
	// anonCookie holds the random value the sign-in and password forms' CSRF token is bound to.
	anonCookie = "pg_csrf"
	requestKey = "panel.request"
)

// request is a signed-in user's request: who acts, in which organisation, and the session's
// CSRF token for the page's forms.
type request struct {
	User   *domain.User
	Actor  domain.Actor
	Org    *domain.Organization // nil while a platform administrator has no organisation chosen
	Claims *auth.SessionClaims
	CSRF   string
}

// OrgID is the organisation the request works in.
func (r *request) OrgID() string { return r.Actor.OrganizationID }

var (
	errNoSession  = errors.New("no session")
	errNoMembers  = errors.New("no organisation")
	errSessionOld = errors.New("session ended by a password change")
	errSignedOut  = errors.New("session ended by signing out")
)

// loadSession verifies the session cookie, loads its user and builds the actor in the
// session's organisation, renewing the cookie when less than half its life is left. A user who
// has left the organisation is moved to another of theirs.
func (p *Panel) loadSession(c echo.Context) (*request, error) {
	ck, err := c.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, errNoSession
	}
	claims, err := p.d.Sessions.Verify(ck.Value)
	if err != nil {
		return nil, errNoSession
	}
	ctx := c.Request().Context()
	u, err := p.d.Tenancy.SessionUser(ctx, claims.Subject)
	if domain.IsNotFound(err) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	switch err := auth.Current(claims, u); {
	case errors.Is(err, auth.ErrSessionPasswordChanged):
		return nil, errSessionOld
	case errors.Is(err, auth.ErrSessionSignedOut):
		return nil, errSignedOut
	case err != nil:
		return nil, errNoSession
	}
	orgID := claims.Org
	actor, err := p.d.Tenancy.UserActor(ctx, u, orgID)
	if domain.ErrorKind(err) == domain.KindForbidden {
		// Removed from the organisation meanwhile: continue in another one, if any.
		if orgID, err = p.defaultOrg(ctx, u); err != nil {
			return nil, err
		}
		actor, err = p.d.Tenancy.UserActor(ctx, u, orgID)
	}
	if err != nil {
		return nil, err
	}
	if orgID != claims.Org || p.d.Sessions.NeedsRenewal(claims) {
		if claims, err = p.startSession(c, u, orgID); err != nil {
			return nil, err
		}
	}
	actor.IP, actor.RequestID = c.RealIP(), httpapi.RequestID(c)
	r := &request{User: u, Actor: actor, Claims: claims, CSRF: p.sessionToken(claims)}
	if orgID != "" {
		if r.Org, err = p.d.Tenancy.GetOrganization(ctx, actor, orgID); err != nil {
			return nil, err
		}
	}
	// The rest of the request's lines name the organisation the user works in.
	logging.SetTenant(ctx, orgID, "")
	return r, nil
}

// defaultOrg is where a user works after signing in: their first organisation by name; for a
// platform administrator without memberships, the first organisation of all ("" when there is
// none yet). A user without any organisation gets errNoMembers.
func (p *Panel) defaultOrg(ctx context.Context, u *domain.User) (string, error) {
	mine, err := p.d.Tenancy.UserOrganizations(ctx, u.ID)
	if err != nil {
		return "", err
	}
	if len(mine) > 0 {
		return mine[0].Organization.ID, nil
	}
	if !u.PlatformAdmin {
		return "", errNoMembers
	}
	all, err := p.d.Tenancy.ListOrganizations(ctx, domain.Actor{Type: domain.ActorUser, ID: u.ID, Label: u.Email, PlatformAdmin: true})
	if err != nil || len(all) == 0 {
		return "", err
	}
	return all[0].ID, nil
}

// startSession issues a session token for u working in orgID and sets the cookie.
func (p *Panel) startSession(c echo.Context, u *domain.User, orgID string) (*auth.SessionClaims, error) {
	tok, exp, err := p.d.Sessions.IssueFor(u, orgID)
	if err != nil {
		return nil, domain.Internal(err, "issue session")
	}
	claims, err := p.d.Sessions.Verify(tok)
	if err != nil {
		return nil, domain.Internal(err, "verify a fresh session")
	}
	c.SetCookie(p.cookie(sessionCookie, tok, exp))
	logging.SetTenant(c.Request().Context(), orgID, "") // signed in, or switched organisation
	return claims, nil
}

// cookie builds one of the panel's cookies: HttpOnly, Secure, SameSite=Strict, whole site.
// A zero expiry makes a browser-session cookie.
func (p *Panel) cookie(name, value string, expires time.Time) *http.Cookie {
	ck := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: p.secureCookies, SameSite: http.SameSiteStrictMode}
	if !expires.IsZero() {
		ck.Expires = expires
	}
	return ck
}

// clearSession removes the session cookie.
func (p *Panel) clearSession(c echo.Context) {
	ck := p.cookie(sessionCookie, "", time.Time{})
	ck.MaxAge = -1
	ck.Expires = time.Unix(0, 0)
	c.SetCookie(ck)
}

// toLogin answers a request without a valid session: pages go to the sign-in form (and come
// back afterwards); an invalid cookie is cleared.
func (p *Panel) toLogin(c echo.Context, err error) error {
	notice := ""
	switch {
	case errors.Is(err, errNoSession):
		if ck, cerr := c.Cookie(sessionCookie); cerr == nil && ck.Value != "" {
			notice = "expired"
		}
	case errors.Is(err, errSessionOld):
		notice = "password-changed"
	case errors.Is(err, errSignedOut):
		notice = "signed-out"
	case errors.Is(err, errNoMembers):
		notice = "no-organization"
	default:
		return err
	}
	p.clearSession(c)
	q := url.Values{}
	if c.Request().Method == http.MethodGet && c.Request().URL.Path != "/" {
		q.Set("next", c.Request().URL.RequestURI())
	}
	if notice != "" {
		q.Set("notice", notice)
	}
	target := "/login"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	return c.Redirect(http.StatusSeeOther, target)
}

// localPath keeps a post-sign-in destination on this site: an absolute path, never a
// scheme-relative or backslash trick.
func localPath(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n\\") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}
