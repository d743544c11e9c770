package panel

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// access says who may reach a route.
type access int

const (
	// public routes need no session (sign-in, password reset, assets).
	public access = iota
	// signedIn routes need a session, with or without a current organisation.
	signedIn
	// inOrg routes need a session working in an organisation.
	inOrg
)

// handler serves one page or action for a request with a session (nil for public routes).
type handler func(c echo.Context, r *request) error

type route struct {
	method string
	path   string
	access access
	h      handler
}

// routes is the panel's one route table. Roles are enforced by the platform functions each
// handler calls; the table only says whether a session is needed.
//
//nolint:funlen // one line a route: the table reads best as one list
func (p *Panel) routes() []route {
	get, post := http.MethodGet, http.MethodPost
	return append([]route{
		{get, "/assets/:file", public, p.asset},
		{get, "/login", public, p.loginForm},
		{post, "/login", public, p.login},
		{get, "/logout", public, p.logoutForm},
		{post, "/logout", public, p.logout},
		{get, "/forgot-password", public, p.forgotForm},
		{post, "/forgot-password", public, p.forgot},
		{get, "/reset-password", public, p.resetForm},
		{post, "/reset-password", public, p.reset},

		{get, "/", inOrg, p.overview},
		{get, "/dashboard", inOrg, p.dashboard},

		{get, "/checkouts", inOrg, p.checkouts},
		{get, "/checkouts/new", inOrg, p.checkoutNew},
		{get, "/checkouts/export.csv", inOrg, p.checkoutsExport},
		{post, "/checkouts", inOrg, p.checkoutCreate},
		{get, "/checkouts/:id", inOrg, p.checkout},
		{post, "/checkouts/:id/expire", inOrg, p.checkoutExpire},
		{post, "/checkouts/:id/extend", inOrg, p.checkoutExtend},

		{get, "/transactions", inOrg, p.transactions},
		{get, "/transactions/export.csv", inOrg, p.transactionsExport},
		{get, "/refunds/export.csv", inOrg, p.refundsExport},
		{get, "/transactions/:id", inOrg, p.transaction},
		{post, "/transactions/:id/mark-paid", inOrg, p.markPaid},
		{post, "/transactions/:id/refund", inOrg, p.refund},
		{post, "/transactions/:id/resend-ipn", inOrg, p.resendIPN},
		{post, "/transactions/:id/resend-receipt", inOrg, p.resendReceipt},

		{get, "/clients", inOrg, p.clients},
		{get, "/clients/new", inOrg, p.clientNew},
		{post, "/clients", inOrg, p.clientCreate},
		{get, "/clients/:id", inOrg, p.clientPage},
		{get, "/clients/:id/edit", inOrg, p.clientEdit},
		{post, "/clients/:id", inOrg, p.clientUpdate},
		{post, "/clients/:id/holds", inOrg, p.holdPlace},
		{post, "/clients/:id/holds/:holdId", inOrg, p.holdChange},
		{post, "/clients/:id/holds/:holdId/release", inOrg, p.holdRelease},

		{get, "/sites", inOrg, p.sites},
		{get, "/sites/new", inOrg, p.siteNew},
		{post, "/sites", inOrg, p.siteCreate},
		{get, "/sites/:id", inOrg, p.site},
		{post, "/sites/:id", inOrg, p.siteUpdate},
		{post, "/sites/:id/webhook-secret", inOrg, p.siteRegenerateSecret},
		{post, "/sites/:id/delete", inOrg, p.siteDelete},

		{get, "/providers", inOrg, p.providers},
		{get, "/providers/new", inOrg, p.providerNew},
		{post, "/providers", inOrg, p.providerCreate},
		{get, "/providers/:id", inOrg, p.provider},
		{post, "/providers/:id", inOrg, p.providerUpdate},
		{post, "/providers/:id/delete", inOrg, p.providerDelete},

		{get, "/duda", inOrg, p.dudaConnections},
		{get, "/duda/new", inOrg, p.dudaNew},
		{post, "/duda", inOrg, p.dudaCreate},
		{get, "/duda/:id", inOrg, p.dudaConnection},
		{post, "/duda/:id", inOrg, p.dudaUpdate},
		{post, "/duda/:id/delete", inOrg, p.dudaDelete},

		{get, "/api-keys", inOrg, p.apiKeys},
		{post, "/api-keys", inOrg, p.apiKeyCreate},
		{post, "/api-keys/:id/revoke", inOrg, p.apiKeyRevoke},
		{post, "/api-keys/:id/rotate", inOrg, p.apiKeyRotate},
		{post, "/api-keys/:id/delete", inOrg, p.apiKeyDelete},

		{get, "/users", inOrg, p.users},
		{post, "/users", inOrg, p.userInvite},
		{post, "/users/:id/role", inOrg, p.userRole},
		{post, "/users/:id/remove", inOrg, p.userRemove},
		{get, "/audit", inOrg, p.audit},

		{get, "/organizations", signedIn, p.organizations},
		{post, "/organizations", signedIn, p.organizationCreate},
		{post, "/organizations/switch", signedIn, p.organizationSwitch},
		{post, "/organizations/settings", inOrg, p.organizationUpdate},
	}, append(p.invoiceRoutes(), p.creditNoteRoutes()...)...)
}

// invoiceRoutes are the invoice screens' routes (invoices.go, invoice_form.go,
// invoice_settings.go).
func (p *Panel) invoiceRoutes() []route {
	get, post := http.MethodGet, http.MethodPost
	return []route{
		{get, "/invoices", inOrg, p.invoices},
		{get, "/invoices/new", inOrg, p.invoiceNew},
		{post, "/invoices", inOrg, p.invoiceSave},
		{get, "/invoices/settings", inOrg, p.invoiceSettings},
		{post, "/invoices/settings", inOrg, p.invoiceSettingsSave},
		{get, "/invoices/:id", inOrg, p.invoicePage},
		{get, "/invoices/:id/edit", inOrg, p.invoiceEdit},
		{post, "/invoices/:id", inOrg, p.invoiceSave},
		{post, "/invoices/:id/delete", inOrg, p.invoiceDelete},
		{post, "/invoices/:id/issue", inOrg, p.invoiceIssue},
		{post, "/invoices/:id/payment-link", inOrg, p.invoicePaymentLink},
	}
}

// wrap runs the common steps around a handler: security headers, the cross-site check of
// every POST, the session (with renewal) and its CSRF token, and the organisation check.
func (p *Panel) wrap(rt route) echo.HandlerFunc {
	return func(c echo.Context) error {
		if rt.access == public && rt.path == "/assets/:file" {
			return rt.h(c, nil)
		}
		p.setPageHeaders(c)
		isPost := c.Request().Method == http.MethodPost
		if isPost && !p.sameOrigin(c.Request()) {
			return p.forbiddenCrossSite(c)
		}
		if rt.access == public {
			return rt.h(c, nil)
		}
		r, err := p.loadSession(c)
		if err != nil {
			return p.toLogin(c, err)
		}
		c.Set(requestKey, r)
		if isPost && !p.validCSRF(r, c.FormValue(csrfField)) {
			return p.forbiddenCSRF(c)
		}
		if rt.access == inOrg && r.Org == nil {
			return c.Redirect(http.StatusSeeOther, "/organizations?notice=choose-org")
		}
		return rt.h(c, r)
	}
}
