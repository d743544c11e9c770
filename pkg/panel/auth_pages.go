package panel

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/tenancy"
)

type loginData struct {
	formState
	Email string
	Next  string
}

func (p *Panel) loginForm(c echo.Context, _ *request) error {
	if r, err := p.loadSession(c); err == nil && r != nil {
		return c.Redirect(http.StatusSeeOther, localPath(c.QueryParam("next")))
	}
	return p.renderAnon(c, http.StatusOK, "login", "Sign in", &loginData{Next: localPath(c.QueryParam("next"))})
}

// login checks the e-mail address and password (platform.SignIn: argon2id, lockout with
// backoff after repeated failures) and starts a session in the user's organisation.
func (p *Panel) login(c echo.Context, _ *request) error {
	f := form(c)
	d := &loginData{Email: trimmed(f, "email"), Next: localPath(f.Get("next"))}
	if !p.validAnon(c) {
		return p.forbiddenCSRF(c)
	}
	ip, email := c.RealIP(), domain.NormalizeEmail(d.Email)
	if blocked, wait := p.failLimit.Blocked(c.Request().Context(), ip, email); blocked {
		d.Message = "Too many failed sign-ins from your network. Wait " + waitText(wait) + " and try again."
		c.Response().Header().Set("Retry-After", strconv.Itoa(httpapi.RetryAfterSeconds(wait)))
		return p.renderAnon(c, http.StatusTooManyRequests, "login", "Sign in", d)
	}
	if d.Email == "" || f.Get("password") == "" {
		if d.Email == "" {
			d.set("email", "Enter your e-mail address")
		}
		if f.Get("password") == "" {
			d.set("password", "Enter your password")
		}
		return p.renderAnon(c, http.StatusBadRequest, "login", "Sign in", d)
	}
	u, err := p.d.Tenancy.SignIn(c.Request().Context(), d.Email, f.Get("password"))
	if err != nil {
		switch {
		case domain.ErrorCode(err) == tenancy.CodeAccountLocked:
			d.Message = capitalize(errMessage(err)) + ". You can also choose a new password with “Forgot your password?”."
			if secs, ok := httpapi.RetryAfterOf(err); ok {
				c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
			}
			return p.renderAnon(c, http.StatusTooManyRequests, "login", "Sign in", d)
		case domain.ErrorKind(err) == domain.KindUnauthorized:
			p.failLimit.Fail(c.Request().Context(), ip, email)
			d.Message = "Wrong e-mail address or password."
			return p.renderAnon(c, http.StatusUnauthorized, "login", "Sign in", d)
		}
		return err
	}
	orgID, err := p.defaultOrg(c.Request().Context(), u)
	if errors.Is(err, errNoMembers) {
		d.Message = notices["no-organization"]
		return p.renderAnon(c, http.StatusForbidden, "login", "Sign in", d)
	}
	if err != nil {
		return err
	}
	if _, err := p.startSession(c, u, orgID); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, d.Next)
}

func (p *Panel) logoutForm(c echo.Context, _ *request) error {
	r, err := p.loadSession(c)
	if err != nil {
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	c.Set(requestKey, r)
	return p.render(c, r, http.StatusOK, "logout", "Sign out", "", nil)
}

// logout ends the session, on the server: every session of the user (other browsers, bearer
// tokens of the Admin API) stops working at once. With a valid session the form's token must
// match it; an expired or missing session is simply cleared.
func (p *Panel) logout(c echo.Context, _ *request) error {
	if r, err := p.loadSession(c); err == nil {
		if !p.validCSRF(r, c.FormValue(csrfField)) {
			c.Set(requestKey, r)
			return p.forbiddenCSRF(c)
		}
		if err := p.d.Tenancy.SignOut(c.Request().Context(), r.Actor); err != nil {
			return err
		}
	}
	p.clearSession(c)
	return seeOther(c, "/login", "signed-out")
}

type forgotData struct {
	formState
	Email string
	Sent  bool
}

func (p *Panel) forgotForm(c echo.Context, _ *request) error {
	return p.renderAnon(c, http.StatusOK, "forgot", "Forgot your password?", &forgotData{Email: c.QueryParam("email")})
}

// forgot sends a one-time link to choose a new password (through the platform's mailer; in
// development without SMTP it is printed to the log). It answers the same whether the address
// is known; on an installation without e-mail (MAIL_DISABLED) it says that e-mail is off.
func (p *Panel) forgot(c echo.Context, _ *request) error {
	f := form(c)
	d := &forgotData{Email: trimmed(f, "email")}
	if !p.validAnon(c) {
		return p.forbiddenCSRF(c)
	}
	if err := domain.ValidateEmail("email", d.Email); err != nil {
		d.set("email", "Enter your e-mail address, like name@example.com")
		return p.renderAnon(c, http.StatusBadRequest, "forgot", "Forgot your password?", d)
	}
	if ok, wait := p.mailLimit.Allow(c.Request().Context(), c.RealIP()); !ok {
		d.Message = "Too many requests from your network. Wait " + waitText(wait) + " and try again."
		c.Response().Header().Set("Retry-After", strconv.Itoa(httpapi.RetryAfterSeconds(wait)))
		return p.renderAnon(c, http.StatusTooManyRequests, "forgot", "Forgot your password?", d)
	}
	if err := p.d.Tenancy.RequestPasswordReset(c.Request().Context(), d.Email); err != nil {
		switch domain.ErrorCode(err) {
		case tenancy.CodeMailDisabled, tenancy.CodeMailFailed:
			// Said plainly, never dropped: no link exists anywhere but in the database.
			d.Message = capitalize(errMessage(err)) + "."
			return p.renderAnon(c, http.StatusServiceUnavailable, "forgot", "Forgot your password?", d)
		}
		return err
	}
	return seeOther(c, "/login", "reset-requested")
}

type resetData struct {
	formState
	Token     string
	MinLength int
}

func (p *Panel) resetForm(c echo.Context, _ *request) error {
	// The token is in the address: the panel's Referrer-Policy (same-origin) keeps it from
	// leaving in a Referer header; no-referrer would also blank the Origin of the POST below.
	tok := c.QueryParam("token")
	if tok == "" || len(tok) > 200 {
		return seeOther(c, "/forgot-password", "invalid-reset-link")
	}
	return p.renderAnon(c, http.StatusOK, "reset", "Choose a password", &resetData{Token: tok, MinLength: auth.MinPasswordLength})
}

// reset consumes a one-time link (password reset or invitation) and sets the password, which
// ends every older session of the user.
func (p *Panel) reset(c echo.Context, _ *request) error {
	f := form(c)
	d := &resetData{Token: f.Get("token"), MinLength: auth.MinPasswordLength}
	if !p.validAnon(c) {
		return p.forbiddenCSRF(c)
	}
	pw := f.Get("password")
	switch {
	case pw == "":
		d.set("password", "Choose a password")
	case pw != f.Get("confirm"):
		d.set("confirm", "The two passwords are not the same")
	}
	if d.failed() {
		return p.renderAnon(c, http.StatusBadRequest, "reset", "Choose a password", d)
	}
	_, err := p.d.Tenancy.ResetPassword(c.Request().Context(), d.Token, pw)
	if err != nil {
		if domain.ErrorCode(err) == "INVALID_RESET_LINK" {
			return seeOther(c, "/forgot-password", "invalid-reset-link")
		}
		if st, status, ok := formFailure(err, nil); ok {
			d.formState = *st
			return p.renderAnon(c, status, "reset", "Choose a password", d)
		}
		return err
	}
	p.clearSession(c)
	return seeOther(c, "/login", "password-set")
}

// waitText says how long to wait, for people ("40 seconds", "3 minutes").
func waitText(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	switch {
	case s <= 1:
		return "a second"
	case s < 90:
		return strconv.Itoa(s) + " seconds"
	}
	return strconv.Itoa((s+59)/60) + " minutes"
}
