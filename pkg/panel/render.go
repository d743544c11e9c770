package panel

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/httpapi"
)

// pageNames are the page templates; each is parsed with layout.html and parts.html.
var pageNames = []string{
	"login", "forgot", "reset", "logout", "error",
	"overview", "dashboard", "confirm", "checkouts", "checkout", "checkout_new", "transactions", "transaction", "clients", "client",
	"client_form",
	"invoices", "invoice", "invoice_form", "invoice_settings", "credit_notes", "credit_note",
	"sites", "site", "providers", "provider", "provider_new",
	"duda_connections", "duda_connection", "api_keys", "users", "audit", "organizations",
}

// parseTemplates parses every page with the template helpers; kinds name the provider types
// (label of a registered type is its name).
func parseTemplates(files fs.FS, kinds []domain.ProviderKind) (map[string]*template.Template, error) {
	fm := template.FuncMap{}
	for k, v := range funcs {
		fm[k] = v
	}
	names := map[string]string{}
	for _, k := range kinds {
		names[string(k.Type)] = k.Name
	}
	fm["label"] = func(v any) string {
		if n, ok := names[fmt.Sprint(v)]; ok {
			return n
		}
		return label(v)
	}
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(fm).Option("missingkey=error").
			ParseFS(files, "templates/layout.html", "templates/parts.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

// view is what every page template gets: the page's own data in Data, and the frame around it.
type view struct {
	Title  string
	Nav    string // which navigation entry is current
	Req    *request
	Assets assetURLs
	CSRF   string
	Notice string
	// Alert is an error message for the whole page (role=alert); AlertFor the id of the field
	// it is about, which the message links to.
	Alert     string
	AlertFor  string
	RequestID string
	Data      any
	// Invoicing says the invoice screens are there (the navigation's entry).
	Invoicing bool
}

// Can reports whether the signed-in user may perform "resource:action" (to show or hide a
// control; the platform checks again on the server).
func (v *view) Can(perm string) bool {
	if v.Req == nil {
		return false
	}
	res, act, _ := strings.Cut(perm, ":")
	return auth.Can(v.Req.Actor, res, act)
}

// render writes a page with the layout around it.
func (p *Panel) render(c echo.Context, r *request, status int, name, title, nav string, data any) error {
	v := &view{Title: title, Nav: nav, Req: r, Assets: urlsOf(p.assets), Data: data, RequestID: httpapi.RequestID(c),
		Notice: notices[c.QueryParam("notice")], Invoicing: p.d.Invoice != nil}
	if r != nil {
		v.CSRF = r.CSRF
	}
	v.setAlert(data)
	return p.write(c, status, name, v)
}

// renderAnon writes a page shown before sign-in, with its CSRF token.
func (p *Panel) renderAnon(c echo.Context, status int, name, title string, data any) error {
	v := &view{Title: title, Assets: urlsOf(p.assets), Data: data, RequestID: httpapi.RequestID(c),
		Notice: notices[c.QueryParam("notice")], CSRF: p.anonToken(c)}
	v.setAlert(data)
	return p.write(c, status, name, v)
}

func (p *Panel) write(c echo.Context, status int, name string, v *view) error {
	t := p.pages[name]
	if t == nil {
		return domain.Internal(nil, "no template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return domain.Internal(err, "render %s", name)
	}
	p.setPageHeaders(c)
	if status == http.StatusTooManyRequests && c.Response().Header().Get("Retry-After") == "" {
		// Every 429 says when to come back; the pages that know the wait have set it.
		c.Response().Header().Set("Retry-After", "1")
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// alerter is page data that carries a message for the whole page.
type alerter interface{ alert() string }

// targeted is page data whose message is about one field.
type targeted interface{ alertTarget() string }

func (v *view) setAlert(data any) {
	if a, ok := data.(alerter); ok {
		v.Alert = a.alert()
	}
	if t, ok := data.(targeted); ok && v.Alert != "" {
		v.AlertFor = t.alertTarget()
	}
}

// setPageHeaders sets the security headers of every panel response: a strict CSP (scripts and
// styles only from this origin, no inline code), no framing, no caching of pages.
func (p *Panel) setPageHeaders(c echo.Context) {
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), usb=()")
	if strings.HasPrefix(p.origin, "https://") {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
}

// errorData is the error page's content.
type errorData struct {
	Status  int
	Heading string
	Message string
}

// errorPage renders an error page with the navigation when the user is signed in.
func (p *Panel) errorPage(c echo.Context, status int, heading, message string) error {
	r, _ := c.Get(requestKey).(*request)
	return p.render(c, r, status, "error", heading, "", errorData{Status: status, Heading: heading, Message: message})
}

// renderError turns a handler's error into an HTML error page: domain errors by kind (403, 404,
// 409 ...), anything else as a 500 logged with the request id.
func (p *Panel) renderError(c echo.Context, err error) {
	if c.Response().Committed {
		return
	}
	status, body := httpapi.ErrorResponse(err, httpapi.RequestID(c), p.log, c.Request().Context())
	var he *echo.HTTPError
	if errors.As(err, &he) && he.Code == http.StatusMethodNotAllowed {
		body.Message = "This address does not accept that kind of request."
	}
	heading := http.StatusText(status)
	switch status {
	case http.StatusForbidden:
		heading = "Not allowed"
		body.Message = body.Message + ". Ask an administrator of your organisation if you need this."
	case http.StatusNotFound:
		heading = "Not found"
		if body.Code == domain.CodeRouteNotFound {
			body.Message = "There is no page at this address."
		}
	case http.StatusConflict, http.StatusUnprocessableEntity:
		heading = "That cannot be done now"
	case http.StatusInternalServerError:
		heading = "Something went wrong"
		body.Message = fmt.Sprintf("The request could not be completed. If it keeps happening, report the request id %s.", body.RequestID)
	}
	if status == http.StatusTooManyRequests {
		if secs, ok := httpapi.RetryAfterOf(err); ok {
			c.Response().Header().Set("Retry-After", fmt.Sprint(secs))
		}
	}
	if rerr := p.errorPage(c, status, heading, capitalize(body.Message)); rerr != nil {
		p.log.ErrorContext(c.Request().Context(), "render error page", "error", rerr.Error())
		_ = c.String(status, heading)
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// notices are the fixed messages a redirect can ask a page to show (?notice=key).
var notices = map[string]string{
	"signed-out":             "You are signed out.",
	"expired":                "Your session has ended. Sign in again to continue.",
	"password-changed":       "Your password was changed, so you were signed out. Sign in with the new password.",
	"no-organization":        "Your account does not belong to any organisation. Ask an administrator to invite you.",
	"password-set":           "Your password is set. Sign in with it now.",
	"choose-org":             "Choose or create an organisation to work in.",
	"org-switched":           "You are now working in this organisation.",
	"org-created":            "Organisation created.",
	"org-saved":              "Organisation settings saved.",
	"checkout-created":       "Checkout created. Send the payment link to the buyer.",
	"checkout-expired":       "The checkout was ended; its link no longer takes payments.",
	"checkout-extended":      "The payment link now stays open longer.",
	"marked-paid":            "The transfer is marked as paid.",
	"client-created":         "Client created.",
	"client-saved":           "Client saved.",
	"hold-placed":            "The hold is placed: it applies to the client's next checkouts.",
	"hold-changed":           "The hold is changed: its new terms apply to the client's next checkouts.",
	"hold-released":          "The hold is released: the client's next checkouts are no longer refused or restricted.",
	"refunded":               "The refund was recorded.",
	"refund-pending":         "The refund was sent to the provider; it is pending.",
	"ipn-resent":             "The notification is queued to be sent again.",
	"receipt-resent":         "The receipt is queued to be sent to the buyer again.",
	"site-saved":             "Site saved.",
	"site-deleted":           "Site deleted.",
	"provider-created":       "Provider created. Assign it to a site to offer it to buyers.",
	"provider-saved":         "Provider saved.",
	"provider-deleted":       "Provider deleted.",
	"duda-created":           "Duda connection created. Paste its install and uninstall URLs into Duda's developer portal.",
	"duda-saved":             "Duda connection saved.",
	"duda-enabled":           "The Duda connection is enabled: Duda stores offer its payment methods again.",
	"duda-disabled":          "The Duda connection is disabled: Duda stores no longer offer its payment methods.",
	"duda-deleted":           "Duda connection deleted.",
	"key-revoked":            "The API key is revoked; it stops working at once.",
	"key-deleted":            "The API key is deleted.",
	"role-changed":           "Role changed.",
	"member-removed":         "The member was removed from the organisation.",
	"reset-requested":        "If an account exists for that address, a link to choose a new password is on its way. It is valid for one hour.",
	"invalid-reset-link":     "This link is invalid, used or expired. Ask for a new one below.",
	"invoice-created":        "Draft invoice created. Check it, then issue it to give it its number.",
	"invoice-saved":          "Draft invoice saved.",
	"invoice-deleted":        "The draft invoice was deleted.",
	"credit-note-issued":     "The credit note is issued: it offsets the invoice, which itself does not change.",
	"invoice-issued":         "The invoice is issued: it has its number and can no longer change.",
	"payment-link-created":   "Payment link created. Send its URL to the client; the payment settles the invoice.",
	"invoice-settings-saved": "Invoicing settings saved.",
}
