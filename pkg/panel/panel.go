package panel

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/frontend"
	"paygate.dev/pkg/assets"
	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/client"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/export"
	"paygate.dev/pkg/integration/dudaconn"
	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/payment"
	"paygate.dev/pkg/ratelimit"
	"paygate.dev/pkg/reporting"
	"paygate.dev/pkg/tenancy"
)

// Deps are the panel's collaborators.
type Deps struct {
	// The capabilities' use cases the pages call.
	Tenancy  *tenancy.Service
	Checkout *checkout.Service
	Payment  *payment.Service
	DudaConn *dudaconn.Service
	Client   *client.Service
	// Invoice serves the invoice screens (nil: none); InvoiceTx runs fn with the invoice and
	// checkout services bound to one database transaction (a payment link's checkout and the
	// link are written together).
	Invoice   *invoice.Service
	InvoiceTx func(ctx context.Context, fn func(inv *invoice.Service, co invoice.Checkouts) error) error
	// Reporting computes the dashboard's figures.
	Reporting *reporting.Service
	Sessions  *auth.Sessions
	// SigningKey is the session signing key; the CSRF key is derived from it.
	SigningKey []byte
	Hosts      config.Hosts
	Log        *slog.Logger
	// Dev shows one-time links (invitations) on the page as well as in the log.
	Dev bool
	// Notifications lists and resends a transaction's IPN attempts; nil shows
	// "no notifications yet" and no resend button.
	Notifications Notifications
	// Exports streams the lists as CSV; nil: no export links.
	Exports *export.Service
	// Receipts lists and resends buyers' receipts and holds each site's switch; nil shows
	// neither.
	Receipts Receipts
	// Files overrides the embedded templates and assets (tests); nil means frontend.Panel().
	Files fs.FS
	// Now is the clock (default time.Now).
	Now func() time.Time
	// ProviderKinds are the provider types this server offers (providers.Set.Kinds): the
	// provider screens are built from them.
	ProviderKinds []domain.ProviderKind
	// Limits counts failed sign-ins and reset mails: shared through Redis by every replica, or
	// in process (nil: in process).
	Limits ratelimit.Limits
}

// Panel serves the Admin Panel's pages.
type Panel struct {
	d       Deps
	log     *slog.Logger
	pages   map[string]*template.Template
	assets  *assets.Set
	csrfKey []byte
	// origin is the admin backend's public origin (scheme://host[:port]); POSTs must come from it.
	origin string
	// secureCookies marks cookies Secure (everywhere except plain http on a non-loopback host,
	// where a Secure cookie could never be sent back).
	secureCookies bool
	// failLimit slows down repeated failed sign-ins per (client IP, e-mail address), so one
	// client guessing behind a shared address does not lock the others there out, and per IP
	// over all addresses with a looser budget, against spraying many accounts (the account
	// lockout is the platform's).
	failLimit *ratelimit.FailLimiter
	// mailLimit bounds password-reset requests per address.
	mailLimit ratelimit.Limiter
}

// New parses the templates and loads the assets. It fails when a template is malformed or a
// file the layout needs is missing.
func New(d Deps) (*Panel, error) {
	if d.Tenancy == nil || d.Checkout == nil || d.Payment == nil || d.DudaConn == nil || d.Reporting == nil || d.Sessions == nil {
		return nil, errors.New("panel: Tenancy, Checkout, Payment, DudaConn, Reporting and Sessions are required")
	}
	if len(d.SigningKey) < 16 {
		return nil, errors.New("panel: SigningKey is required")
	}
	if d.Files == nil {
		d.Files = frontend.Panel()
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Limits == nil {
		d.Limits = ratelimit.NewLocal()
	}
	p := &Panel{d: d, log: d.Log,
		// 10 failures per (IP, e-mail address), then one per 6 s; 100 per IP, then one per 3 s.
		failLimit: ratelimit.NewFailLimiter(d.Limits, "panel-signin-fail",
			ratelimit.Limit{Rate: 10, Period: time.Minute, Burst: 10}, ratelimit.Limit{Rate: 20, Period: time.Minute, Burst: 100}),
		// 5 reset mails per IP, then one per 12 minutes.
		mailLimit: d.Limits.New("panel-reset-mail", ratelimit.Limit{Rate: 5, Period: time.Hour, Burst: 5}),
	}
	mac := hmac.New(sha256.New, d.SigningKey)
	mac.Write([]byte("paygate admin panel csrf v1"))
	p.csrfKey = mac.Sum(nil)
	u, err := url.Parse(d.Hosts.AdminURL())
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("panel: the admin URL %q is not absolute", d.Hosts.AdminURL())
	}
	p.origin = strings.ToLower(u.Scheme + "://" + u.Host)
	p.secureCookies = u.Scheme == "https" || isLoopback(u.Hostname())
	if p.assets, err = loadAssets(d.Files); err != nil {
		return nil, fmt.Errorf("panel: %w", err)
	}
	if p.pages, err = parseTemplates(d.Files, d.ProviderKinds); err != nil {
		return nil, fmt.Errorf("panel: %w", err)
	}
	return p, nil
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Register mounts the panel's routes at the root of e, the HTML 404 page for unknown panel
// paths, and HTML error pages for the panel's own errors. Paths of the APIs (/api, /v1) and of
// the operational endpoints keep their JSON answers.
func (p *Panel) Register(e *echo.Echo) {
	for _, r := range append(p.routes(), p.documentRoutes()...) {
		e.Add(r.method, r.path, p.wrap(r))
		if r.method == http.MethodGet {
			// HEAD answers as GET would, headers only (net/http drops the body of a HEAD answer).
			e.Add(http.MethodHead, r.path, p.wrap(r))
		}
	}
	e.RouteNotFound("/*", p.notFound)
	next := e.HTTPErrorHandler
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		var he *echo.HTTPError
		if !ownsPath(c.Request().URL.Path) || (errors.As(err, &he) && he.Code == http.StatusNotFound && c.Path() == "/*") {
			next(err, c) // the APIs' JSON, also for unknown paths asked for without Accept: text/html
			return
		}
		p.renderError(c, err)
	}
}

// ownsPath tells panel paths from the APIs and the operational endpoints.
func ownsPath(path string) bool {
	for _, prefix := range []string{"/api/", "/v1/"} {
		if strings.HasPrefix(path, prefix) {
			return false
		}
	}
	switch path {
	case "/api", "/v1", "/health", "/ready", "/metrics":
		return false
	}
	return true
}

// notFound answers unknown paths with the HTML 404 page when a browser asks (Accept:
// text/html); API paths, and clients that do not ask for HTML, get the API's JSON 404.
func (p *Panel) notFound(c echo.Context) error {
	if !ownsPath(c.Request().URL.Path) || !strings.Contains(c.Request().Header.Get("Accept"), "text/html") {
		return echo.ErrNotFound
	}
	p.setPageHeaders(c)
	if r, err := p.loadSession(c); err == nil {
		c.Set(requestKey, r)
	}
	return p.errorPage(c, 404, "Page not found", "There is no page at this address. Check the link, or start again from the overview.")
}
