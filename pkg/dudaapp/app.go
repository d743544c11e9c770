package dudaapp

import (
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/riverqueue/river"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/duda"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/metrics"
	"paygate.dev/pkg/platform"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/ratelimit"
	"paygate.dev/pkg/store"
)

// Job kinds of the integration.
const (
	// KindConfirm reports a checkout's outcome to Duda (payload {"checkoutId"}).
	KindConfirm = "duda.confirm"
	// KindGateway registers our payment gateway on a Duda site after the install call could
	// not (payload {"siteId"}), retried with backoff.
	KindGateway = "duda.gateway"
	// KindResume queues the confirmations owed to a site the app was reinstalled on (payload
	// {"siteId"}).
	KindResume = "duda.resume"
)

// confirmMaxAttempts bounds a confirmation's retries: with the default backoff (doubling to an
// hour) that is more than a week of trying.
const confirmMaxAttempts = 200

// gatewayMaxAttempts bounds the retries of a gateway registration: with the default backoff
// (doubling to an hour) about three days of trying.
const gatewayMaxAttempts = 80

// maxBody bounds what Duda may POST to us; its payloads are a few kilobytes.
const maxBody = 1 << 20

// Options configure the integration.
type Options struct {
	Service *platform.Service
	Log     *slog.Logger
	Metrics *metrics.Registry
	// APIOrigins are the api_endpoint origins an install may name (default duda.DefaultAPIOrigins).
	APIOrigins []string
	// HTTPClient calls Duda (default: a plain client; each call is bounded by duda.DefaultTimeout).
	HTTPClient *http.Client
	// SignatureTolerance is how stale a lifecycle call's signature may be (default
	// duda.DefaultSignatureTolerance).
	SignatureTolerance time.Duration
	// ConfirmBackoff overrides the retry schedule of confirmations (tests).
	ConfirmBackoff func(attempt int) time.Duration
	// GatewayBackoff overrides the retry schedule of gateway registrations (default
	// queue.DefaultBackoff; tests).
	GatewayBackoff func(attempt int) time.Duration
	// RateLimit is requests per second per client address on the shopper's endpoints (default 10).
	RateLimit int
	// Limits counts RateLimit: shared through Redis by every replica, or in process (nil).
	Limits ratelimit.Limits
}

// App is the Duda integration on the main backend. It is safe for concurrent use.
type App struct {
	svc       *platform.Service
	store     *store.Store
	log       *slog.Logger
	metrics   *metrics.Registry
	origins   []string
	hc        *http.Client
	tolerance time.Duration
	backoff   func(attempt int) time.Duration
	gwBackoff func(attempt int) time.Duration
	limit     ratelimit.Limiter

	clients sync.Map // client key → *duda.Client (one per connection version and API endpoint)
}

// New builds the integration.
func New(o Options) *App {
	a := &App{svc: o.Service, store: o.Service.Store(), log: o.Log, metrics: o.Metrics, origins: o.APIOrigins, hc: o.HTTPClient,
		tolerance: o.SignatureTolerance, backoff: o.ConfirmBackoff, gwBackoff: o.GatewayBackoff}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.metrics == nil {
		a.metrics = metrics.New()
	}
	if len(a.origins) == 0 {
		a.origins = duda.DefaultAPIOrigins
	}
	if a.hc == nil {
		a.hc = &http.Client{}
	}
	if a.gwBackoff == nil {
		a.gwBackoff = queue.DefaultBackoff
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
	a.svc.RegisterReturnURL(domain.OriginDuda, a.returnURL)
	a.svc.RegisterCancelURL(domain.OriginDuda, a.cancelURL)
	a.svc.RegisterReturnOnPending(domain.OriginDuda)
}

// RegisterWorkers adds the integration's job kinds to ws.
func (a *App) RegisterWorkers(ws *river.Workers) {
	river.AddWorker[ConfirmArgs](ws, &confirmWorker{a: a})
	river.AddWorker[GatewayArgs](ws, &gatewayWorker{a: a})
	river.AddWorker[ResumeArgs](ws, &resumeWorker{a: a})
}

// ConfirmArgs is a KindConfirm job: report checkout CheckoutID's outcome to Duda. Key (the
// checkout, the state and the transaction) makes it unique: one job per outcome to confirm.
type ConfirmArgs struct {
	CheckoutID     string `json:"checkoutId"`
	Key            string `json:"key,omitempty" river:"unique"`
	OrganizationID string `json:"organizationId,omitempty"`
}

// Kind implements river.JobArgs.
func (ConfirmArgs) Kind() string { return KindConfirm }

// InsertOpts: the duda queue, confirmMaxAttempts attempts, unique by key.
func (ConfirmArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queue.Duda, MaxAttempts: confirmMaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// GatewayArgs is a KindGateway job: register the payment gateway on Duda site SiteID; Key (the
// site and its install) makes it unique per install.
type GatewayArgs struct {
	SiteID         string `json:"siteId"`
	Key            string `json:"key,omitempty" river:"unique"`
	OrganizationID string `json:"organizationId,omitempty"`
}

// Kind implements river.JobArgs.
func (GatewayArgs) Kind() string { return KindGateway }

// InsertOpts: the duda queue, unique by key. The job keeps its own count of attempts (on the
// site, which the operator sees) and waits between them by snoozing.
func (GatewayArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queue.Duda, MaxAttempts: gatewayMaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// ResumeArgs is a KindResume job: queue the confirmations a reinstalled site is owed; Key (the
// site and its install) makes it unique per install.
type ResumeArgs struct {
	SiteID         string `json:"siteId"`
	Key            string `json:"key,omitempty" river:"unique"`
	OrganizationID string `json:"organizationId,omitempty"`
}

// Kind implements river.JobArgs.
func (ResumeArgs) Kind() string { return KindResume }

// InsertOpts: the duda queue, 25 attempts, unique by key.
func (ResumeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queue.Duda, MaxAttempts: 25, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type confirmWorker struct {
	river.WorkerDefaults[ConfirmArgs]
	a *App
}

func (w *confirmWorker) Timeout(*river.Job[ConfirmArgs]) time.Duration { return 2 * time.Minute }
func (w *confirmWorker) NextRetry(job *river.Job[ConfirmArgs]) time.Time {
	return queue.Retry(w.a.backoff, job.Attempt)
}
func (w *confirmWorker) Work(ctx context.Context, job *river.Job[ConfirmArgs]) error {
	return w.a.runConfirm(ctx, job.Args.CheckoutID)
}

type gatewayWorker struct {
	river.WorkerDefaults[GatewayArgs]
	a *App
}

func (w *gatewayWorker) Timeout(*river.Job[GatewayArgs]) time.Duration { return 2 * time.Minute }
func (w *gatewayWorker) NextRetry(job *river.Job[GatewayArgs]) time.Time {
	return queue.Retry(w.a.gwBackoff, job.Attempt)
}
func (w *gatewayWorker) Work(ctx context.Context, job *river.Job[GatewayArgs]) error {
	return w.a.runGateway(ctx, job.Args.SiteID)
}

type resumeWorker struct {
	river.WorkerDefaults[ResumeArgs]
	a *App
}

func (w *resumeWorker) Timeout(*river.Job[ResumeArgs]) time.Duration { return 5 * time.Minute }
func (w *resumeWorker) Work(ctx context.Context, job *river.Job[ResumeArgs]) error {
	return w.a.runResume(ctx, job.Args.SiteID)
}

func (a *App) gatewayBackoff(attempt int) time.Duration { return a.gwBackoff(attempt) }

func (a *App) base(connectionID string) string { return a.svc.DudaBaseURL(connectionID) }

func (a *App) iconURL(name string) string {
	return a.svc.Hosts().MainBackendURL() + "/duda/icons/" + name + ".svg"
}

// connection loads a connection by id with its decrypted credentials.
func (a *App) connection(ctx context.Context, id string) (*platform.DudaApp, error) {
	c, err := a.store.GetDudaConnectionByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return a.svc.OpenDudaConnection(ctx, c)
}

// client returns the Duda client of a connection for one API endpoint. Clients are kept so that
// each site's token refreshes stay serialised in this process; an edited connection gets a new one.
func (a *App) client(app *platform.DudaApp, endpoint string) (*duda.Client, error) {
	if err := duda.CheckAPIEndpoint(endpoint, a.origins...); err != nil {
		return nil, err
	}
	c := app.Connection
	key := c.ID + "\x00" + endpoint + "\x00" + strconv.FormatInt(c.UpdatedAt.UnixNano(), 10)
	if v, ok := a.clients.Load(key); ok {
		return v.(*duda.Client), nil
	}
	cl := duda.NewClient(endpoint, app.Credentials, &tokenStore{a: a, conn: c}, duda.WithHTTPClient(a.hc), duda.WithClock(a.svc.Now))
	v, _ := a.clients.LoadOrStore(key, cl)
	return v.(*duda.Client), nil
}

// siteClient is the client for an installed Duda site of a connection.
func (a *App) siteClient(app *platform.DudaApp, site *store.DudaSite) (*duda.Client, error) {
	return a.client(app, site.APIEndpoint)
}

// tokenStore keeps a connection's Duda site tokens sealed in duda_sites.
type tokenStore struct {
	a    *App
	conn *store.DudaConnection
}

// Load implements duda.TokenStore.
func (t *tokenStore) Load(ctx context.Context, siteName string) (duda.Tokens, error) {
	site, err := t.a.store.GetDudaSite(ctx, t.conn.ID, siteName)
	if domain.IsNotFound(err) {
		return duda.Tokens{}, fmt.Errorf("site %q: %w", siteName, duda.ErrNoTokens)
	}
	if err != nil {
		return duda.Tokens{}, err
	}
	return t.a.svc.DudaTokens(ctx, site)
}

// Save implements duda.TokenStore.
func (t *tokenStore) Save(ctx context.Context, siteName string, tok duda.Tokens) error {
	site, err := t.a.store.GetDudaSite(ctx, t.conn.ID, siteName)
	if err != nil {
		return err
	}
	return t.a.svc.SaveDudaTokens(ctx, t.conn, site, tok)
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
