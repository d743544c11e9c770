package panel

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
)

// csrfField is the hidden form field carrying the CSRF token.
const csrfField = "csrf"

// csrfMaxAge bounds how far back a form's token may come from an earlier (renewed) session of
// the same user: a page left open across a renewal can still be submitted.
const csrfMaxAge = 12 * time.Hour

func (p *Panel) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, p.csrfKey)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return m.Sum(nil)
}

// sessionToken is the CSRF token of a session: its issue time and an HMAC of the user id and
// that time. It changes with every session and cannot be made without the server's key.
func (p *Panel) sessionToken(c *auth.SessionClaims) string {
	iat := strconv.FormatInt(issuedAt(c), 10)
	return iat + "." + hex.EncodeToString(p.mac("session", c.Subject, iat))
}

// validCSRF checks a submitted token against the request's session in constant time. Tokens
// of the same user's earlier sessions are accepted for csrfMaxAge (a page open across a
// renewal), never from before the last password change.
func (p *Panel) validCSRF(r *request, token string) bool {
	iatText, sig, ok := strings.Cut(token, ".")
	if !ok || len(iatText) > 20 {
		return false
	}
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, p.mac("session", r.Claims.Subject, iatText)) {
		return false
	}
	iat, err := strconv.ParseInt(iatText, 10, 64)
	if err != nil {
		return false
	}
	cur := issuedAt(r.Claims)
	if iat > cur || cur-iat > int64(csrfMaxAge/time.Second) {
		return false
	}
	if pw := r.User.PasswordChangedAt; pw != nil && iat < pw.Unix() {
		return false
	}
	return true
}

// anonToken returns the CSRF token of the forms shown before sign-in (sign-in, forgotten and
// new password), setting the random cookie it is bound to when the browser has none.
func (p *Panel) anonToken(c echo.Context) string {
	v := ""
	if ck, err := c.Cookie(anonCookie); err == nil && len(ck.Value) >= 32 {
		v = ck.Value
	} else {
		v = domain.RandomString(40)
		c.SetCookie(p.cookie(anonCookie, v, time.Time{}))
	}
	return hex.EncodeToString(p.mac("anon", v))
}

// validAnon checks a pre-sign-in form's token against its cookie in constant time.
func (p *Panel) validAnon(c echo.Context) bool {
	ck, err := c.Cookie(anonCookie)
	if err != nil || len(ck.Value) < 32 {
		return false
	}
	got, err := hex.DecodeString(c.FormValue(csrfField))
	return err == nil && hmac.Equal(got, p.mac("anon", ck.Value))
}

// sameOrigin reports whether a POST comes from the panel's own pages: its Origin header (or,
// without one, its Referer) must be the admin origin. Requests with neither are refused.
func (p *Panel) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		return strings.EqualFold(strings.TrimRight(o, "/"), p.origin)
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		u, err := url.Parse(ref)
		return err == nil && strings.EqualFold(u.Scheme+"://"+u.Host, p.origin)
	}
	return false
}

func (p *Panel) forbiddenCrossSite(c echo.Context) error {
	return p.errorPage(c, http.StatusForbidden, "Request refused",
		"This form was sent from another site, so it was not carried out. Open the dashboard at "+p.origin+" and try again.")
}

func (p *Panel) forbiddenCSRF(c echo.Context) error {
	return p.errorPage(c, http.StatusForbidden, "Form expired",
		"The form could not be verified (it is too old, or from another session), so nothing was changed. Go back, reload the page and try again.")
}

// issuedAt is a session's issue time in Unix seconds (0 for a token without one).
func issuedAt(c *auth.SessionClaims) int64 {
	if c.IssuedAt == nil {
		return 0
	}
	return c.IssuedAt.Unix()
}
