package dudaapp

import (
	"html/template"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/httpapi"
	dudauc "paygate.dev/pkg/integration/duda"
	"paygate.dev/pkg/metrics"
	"paygate.dev/pkg/ratelimit"
)

// maxBody bounds what Duda may POST to us; its payloads are a few kilobytes.
const maxBody = 1 << 20

// Options configure the endpoints.
type Options struct {
	// Duda holds the use cases the endpoints call.
	Duda    *dudauc.Service
	Log     *slog.Logger
	Metrics *metrics.Registry
	// RateLimit is requests per second per client address on the shopper's endpoints (default 10).
	RateLimit int
	// Limits counts RateLimit: shared through Redis by every replica, or in process (nil).
	Limits ratelimit.Limits
}

// App is the Duda gateway app's HTTP endpoints on the main backend. It is safe for concurrent use.
type App struct {
	uc      *dudauc.Service
	log     *slog.Logger
	metrics *metrics.Registry
	limit   ratelimit.Limiter
}

// New builds the endpoints.
func New(o Options) *App {
	a := &App{uc: o.Duda, log: o.Log, metrics: o.Metrics}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.metrics == nil {
		a.metrics = metrics.New()
	}
	rate := o.RateLimit
	if rate <= 0 {
		rate = 10
	}
	if o.Limits == nil {
		o.Limits = ratelimit.NewLocal()
	}
	a.limit = o.Limits.New("duda-shopper", ratelimit.PerSecond(rate, 2*rate))
	return a
}

// Register mounts the endpoints Duda and the shopper's browser call (under /duda on the main
// backend), makes Duda's return URL the place a paid (or pending) shopper goes back to, and
// routes the page's cancel link through us so that Duda hears of the cancel.
func (a *App) Register(e *echo.Echo) {
	g := e.Group("/duda")
	g.POST("/:connectionId/lifecycle/install", a.install)
	g.POST("/:connectionId/lifecycle/uninstall", a.uninstall)
	g.POST("/:connectionId/payment-methods/:mode", a.paymentMethods)
	g.GET("/:connectionId/checkout", a.arrive, a.rateLimit)
	g.GET("/:connectionId/return/:checkoutId", a.returnToStore, a.rateLimit)
	g.GET("/:connectionId/cancel/:checkoutId/:token", a.cancel, a.rateLimit)
	g.POST("/:connectionId/refunds/:transactionId/:token", a.refund)
	g.GET("/icons/:name", a.icon)
	a.uc.RegisterCheckoutRules()
}

// rateLimit bounds the shopper's endpoints per client address: each arrival may cost a call
// to Duda.
func (a *App) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if ok, wait := a.limit.Allow(c.Request().Context(), c.RealIP()); !ok {
			c.Response().Header().Set("Retry-After", strconv.Itoa(httpapi.RetryAfterSeconds(wait)))
			return page(c, http.StatusTooManyRequests, "Too many requests", "Please wait a moment and try again.", "", "", false)
		}
		return next(c)
	}
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
{{if .Refresh}}<meta http-equiv="refresh" content="5">{{end}}<title>{{.Title}}</title></head>
<body><main><h1>{{.Title}}</h1><p>{{.Message}}</p>{{if .LinkURL}}<p><a href="{{.LinkURL}}">{{.LinkText}}</a></p>{{end}}</main></body></html>
`))

// page answers the shopper's browser with a short page (the hosted page lives on the main
// frontend; these are only the stops on the way there and back).
func page(c echo.Context, status int, title, message, linkURL, linkText string, refresh bool) error {
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(status)
	return pageTemplate.Execute(c.Response(), map[string]any{"Title": title, "Message": message, "LinkURL": linkURL, "LinkText": linkText, "Refresh": refresh})
}

// redirect sends the browser on without leaking our URL (with its session id) as the referrer.
func redirect(c echo.Context, to string) error {
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusFound, to)
}

// answer writes a JSON answer for Duda's servers.
func answer(c echo.Context, status int, v any) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, v)
}

func errorBody(msg string) map[string]string { return map[string]string{"error": msg} }
