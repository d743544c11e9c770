// Package adminapi is the Admin REST API of the admin backend, served under /api/v1 and, with
// the same handlers, /v1 (payment-gateway.app compatibility). Handlers bind and validate input,
// call one platform function and render its result; authentication, rate limits, idempotency
// and the error envelope are handled once, around every route.
package adminapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/client"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/idempotency"
	"paygate.dev/pkg/integration/dudaconn"
	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/payment"
	"paygate.dev/pkg/ratelimit"
	"paygate.dev/pkg/tenancy"
)

// Prefixes under which every route is served.
var Prefixes = []string{"/api/v1", "/v1"}

// Services are the use cases (and the ports) the API's handlers call, each capability's own.
// Wiring builds them; Deps.InTx hands a request the same set bound to one database transaction.
type Services struct {
	Tenancy  *tenancy.Service
	Checkout *checkout.Service
	Payment  *payment.Service
	DudaConn *dudaconn.Service
	Client   *client.Service
	Invoice  *invoice.Service
	// Keys keeps Idempotency-Key records (idempotency.Store, the store implements it).
	Keys idempotency.Store
	// Receipts switches a site's buyer receipts (the site object's receiptsEnabled); nil
	// refuses a request that asks to change it.
	Receipts ReceiptSwitch
}

// Deps are the API's collaborators.
type Deps struct {
	Services
	// InTx runs fn with the services bound to one database transaction: what they write in fn
	// (a Local route's effect and its Idempotency-Key answer) commits together. Wiring, which
	// knows the store, provides it.
	InTx func(ctx context.Context, fn func(Services) error) error
	// Modes tells the mode of the objects that paths address (the store implements it).
	Modes    ObjectModes
	KeyAuth  *auth.KeyAuthenticator
	Sessions *auth.Sessions
	Log      *slog.Logger
	// RateLimit is requests per second per API key or user (burst: twice that).
	RateLimit int
	// Limits counts the request and failed-authentication limits: shared through Redis by
	// every replica, or in process (nil: in process).
	Limits ratelimit.Limits
	// IdempotencyTTL is how long answers to Idempotency-Key requests are kept (≥ 24h).
	IdempotencyTTL time.Duration
	// IdempotencyLease is how long an External route's claim blocks duplicates unrenewed (its
	// process died); its holder renews it while it runs (default 60 s).
	IdempotencyLease time.Duration
	Now              func() time.Time
	// Extra routes added by other packages (IPN attempts, refunds ...), mounted like the rest.
	Extra []Route
}

// ObjectModes is the port admit reads an addressed object's mode through: NOT_FOUND when the
// organisation has no such object.
type ObjectModes interface {
	ObjectMode(ctx context.Context, kind domain.ModedKind, orgID, id string) (domain.Mode, error)
}

// ReceiptSwitch turns a site's buyer receipts on or off (package receipt: site:update, audited).
type ReceiptSwitch interface {
	SetEnabled(ctx context.Context, actor domain.Actor, orgID, siteID string, enabled bool) error
}

// API is the mounted Admin API.
type API struct {
	d         Deps
	keyLimit  ratelimit.Limiter
	failLimit *ratelimit.FailLimiter // failed authentications per (IP, API key id) and per IP
	// signInLimit is failed sign-ins (POST /auth/token) per (IP, e-mail address) and per IP.
	signInLimit *ratelimit.FailLimiter
	routes      []Route
	idem        *idempotency.Layer
}

// Handler serves one route: it returns the status and the value to render as JSON, or an error.
type Handler func(c echo.Context, r *Request) (int, any, error)

// Request is what a handler works with.
type Request struct {
	Actor domain.Actor
	// Services are the use cases, bound to the request's transaction on an idempotent Local route.
	Services
	Org string // the actor's organisation
	// Claim is set for an InUseCase route called with an Idempotency-Key: the handler writes
	// the key's answer (filling Status and Body) in the same statement as its effect.
	Claim *domain.IdempotencyClaim
	// inTx runs a function with the services bound to one transaction: the request's own when
	// it already runs in one (an idempotent Local route), else a new one (Deps.InTx).
	inTx func(ctx context.Context, fn func(Services) error) error
}

// InTx runs fn with the use cases bound to one database transaction, so that writes through
// several capabilities (an invoice's payment link and its checkout) commit or roll back
// together, with or without an Idempotency-Key.
func (r *Request) InTx(ctx context.Context, fn func(Services) error) error {
	if r.inTx == nil {
		return fn(r.Services)
	}
	return r.inTx(ctx, fn)
}

// Route is one endpoint of the API.
type Route struct {
	Method string
	Path   string // without prefix, Echo syntax (/checkouts/:id)
	// Public routes need no authentication (the OpenAPI document, sign-in).
	Public bool
	// Idem is where a POST route's Idempotency-Key answer is written (every authenticated POST
	// declares one; New refuses a route without): idempotency.InUseCase routes make their whole
	// change in one statement and write the answer in it (Request.Claim); Local routes run in
	// one database transaction with it; External routes call other systems (providers) with
	// no transaction open, under a claim renewed until the answer is stored.
	Idem idempotency.Strategy
	// Perm is the permission (resource:action) the route needs, checked right after
	// authentication, before anything else runs (an idempotent replay included); "" for
	// routes that decide themselves (sign-in, one's own session, the organisations list).
	Perm string
	// Object is the object with a mode that the route's path addresses, if any: an API key of
	// the other mode gets NOT_FOUND, like another organisation's object, before anything runs.
	Object *Object
	// Secret routes answer with something shown once (an API key, a webhook secret, an
	// invitation link, a session token): their idempotency answers are stored sealed with the
	// organisation's data key, never in plaintext.
	Secret  bool
	Handler Handler
}

// Object names the path parameter that holds an object with a mode, and its kind.
type Object struct {
	Kind  domain.ModedKind
	Param string
}

// The objects with a mode that paths address.
var (
	checkoutID    = &Object{Kind: domain.ModedCheckout, Param: "id"}
	transactionID = &Object{Kind: domain.ModedTransaction, Param: "id"}
	providerID    = &Object{Kind: domain.ModedProvider, Param: "id"}
	apiKeyID      = &Object{Kind: domain.ModedAPIKey, Param: "keyId"}
)

// New builds the API.
func New(d Deps) *API {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.RateLimit == 0 {
		d.RateLimit = 100
	}
	if d.IdempotencyTTL == 0 {
		d.IdempotencyTTL = 48 * time.Hour
	}
	if d.Limits == nil {
		d.Limits = ratelimit.NewLocal()
	}
	a := &API{d: d,
		keyLimit: d.Limits.New("api-key", ratelimit.PerSecond(d.RateLimit, 2*d.RateLimit)),
		// 10 failures per (IP, key), then one per 6 s; 100 per IP over all keys, then one per second.
		failLimit: ratelimit.NewFailLimiter(d.Limits, "api-auth-fail",
			ratelimit.Limit{Rate: 10, Period: time.Minute, Burst: 10}, ratelimit.Limit{Rate: 1, Period: time.Second, Burst: 100}),
		// 10 wrong passwords per (IP, address), then one per 6 s; 100 per IP over all addresses
		// (password spraying), then one per 6 s. The account lockout bounds guesses per account.
		signInLimit: ratelimit.NewFailLimiter(d.Limits, "api-signin-fail",
			ratelimit.Limit{Rate: 10, Period: time.Minute, Burst: 10}, ratelimit.Limit{Rate: 10, Period: time.Minute, Burst: 100}),
	}
	a.routes = append(append(a.coreRoutes(), a.clientRoutes()...), d.Extra...)
	for _, r := range a.routes {
		if r.Method == http.MethodPost && !r.Public && r.Idem == 0 {
			panic("adminapi: route POST " + r.Path + " declares no idempotency strategy")
		}
		if r.Secret && r.Idem != idempotency.Local {
			panic("adminapi: route " + r.Method + " " + r.Path + " answers a secret: its idempotency answer must be Local (sealed in its transaction)")
		}
	}
	a.idem = newIdempotency(d)
	return a
}

// Routes lists every route (without prefix).
func (a *API) Routes() []Route { return a.routes }

// Register mounts every route under both prefixes, and the JSON 404 for unknown API paths.
func (a *API) Register(e *echo.Echo) {
	e.Pre(apiHeaders)
	for _, prefix := range Prefixes {
		g := e.Group(prefix)
		for _, r := range a.routes {
			g.Add(r.Method, r.Path, a.wrap(r))
		}
	}
}

// apiHeaders marks every answer under the API's prefixes — results, errors, idempotent replays,
// 404s of unknown paths — as not to be cached (answers carry secrets and personal data) nor
// content-sniffed. It runs before routing, so no answer escapes it.
func apiHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if isAPIPath(c.Request().URL.Path) {
			h := c.Response().Header()
			h.Set(echo.HeaderCacheControl, "no-store")
			h.Set(echo.HeaderXContentTypeOptions, "nosniff")
		}
		return next(c)
	}
}

// isAPIPath tells the API's paths (under one of Prefixes) from the rest of the server's.
func isAPIPath(path string) bool {
	for _, prefix := range Prefixes {
		if path == prefix || strings.HasPrefix(path, prefix+"/") {
			return true
		}
	}
	return false
}

func (a *API) coreRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/openapi.json", Public: true, Handler: a.openAPI},
		{Method: http.MethodPost, Path: "/auth/token", Public: true, Handler: a.issueToken},
		{Method: http.MethodPost, Path: "/auth/refresh", Secret: true, Idem: idempotency.Local, Handler: a.refreshToken},
		{Method: http.MethodPost, Path: "/auth/logout", Idem: idempotency.Local, Handler: a.logout},
		{Method: http.MethodGet, Path: "/auth/me", Handler: a.me},

		{Method: http.MethodPost, Path: "/checkouts/:siteId/create", Perm: "checkout:create", Idem: idempotency.InUseCase, Handler: a.createCheckout},
		{Method: http.MethodGet, Path: "/checkouts", Perm: "checkout:read", Handler: a.listCheckouts},
		{Method: http.MethodGet, Path: "/checkouts/:id", Perm: "checkout:read", Object: checkoutID, Handler: a.getCheckout},
		{Method: http.MethodPatch, Path: "/checkouts/:id", Perm: "checkout:update", Object: checkoutID, Handler: a.updateCheckout},
		{Method: http.MethodPost, Path: "/checkouts/:id/expire", Perm: "checkout:update", Object: checkoutID, Idem: idempotency.Local, Handler: a.expireCheckout},

		{Method: http.MethodGet, Path: "/transactions", Perm: "transaction:read", Handler: a.listTransactions},
		{Method: http.MethodGet, Path: "/transactions/:id", Perm: "transaction:read", Object: transactionID, Handler: a.getTransaction},
		{Method: http.MethodPost, Path: "/transactions/:id/mark-paid", Perm: "transaction:update", Object: transactionID, Idem: idempotency.Local, Handler: a.markPaid},
		{Method: http.MethodPost, Path: "/transactions/:id/refunds", Perm: "refund:create", Object: transactionID, Idem: idempotency.External, Handler: a.createRefund},
		{Method: http.MethodGet, Path: "/transactions/:id/refunds", Perm: "refund:read", Object: transactionID, Handler: a.listRefunds},

		{Method: http.MethodGet, Path: "/sites", Perm: "site:read", Handler: a.listSites},
		{Method: http.MethodPost, Path: "/sites", Perm: "site:create", Secret: true, Idem: idempotency.Local, Handler: a.createSite},
		{Method: http.MethodGet, Path: "/sites/:id", Perm: "site:read", Handler: a.getSite},
		{Method: http.MethodPatch, Path: "/sites/:id", Perm: "site:update", Handler: a.updateSite},
		{Method: http.MethodDelete, Path: "/sites/:id", Perm: "site:delete", Handler: a.deleteSite},
		{Method: http.MethodPut, Path: "/sites/:id/providers", Perm: "site:update", Handler: a.setSiteProviders},
		{Method: http.MethodPost, Path: "/sites/:id/webhook-secret/regenerate", Perm: "site:update", Secret: true, Idem: idempotency.Local, Handler: a.regenerateWebhookSecret},

		{Method: http.MethodGet, Path: "/providers", Perm: "provider:read", Handler: a.listProviders},
		{Method: http.MethodPost, Path: "/providers", Perm: "provider:create", Idem: idempotency.Local, Handler: a.createProvider},
		{Method: http.MethodGet, Path: "/providers/:id", Perm: "provider:read", Object: providerID, Handler: a.getProvider},
		{Method: http.MethodPatch, Path: "/providers/:id", Perm: "provider:update", Object: providerID, Handler: a.updateProvider},
		{Method: http.MethodDelete, Path: "/providers/:id", Perm: "provider:delete", Object: providerID, Handler: a.deleteProvider},
		{Method: http.MethodPost, Path: "/providers/:id/test", Perm: "provider:execute", Object: providerID, Idem: idempotency.External, Handler: a.testProvider},

		{Method: http.MethodGet, Path: "/organizations", Handler: a.listOrganizations},
		{Method: http.MethodPost, Path: "/organizations", Idem: idempotency.Local, Handler: a.createOrganization},
		{Method: http.MethodGet, Path: "/organizations/:orgId", Perm: "organization:read", Handler: a.getOrganization},
		{Method: http.MethodPatch, Path: "/organizations/:orgId", Perm: "organization:update", Handler: a.updateOrganization},

		{Method: http.MethodGet, Path: "/organizations/:orgId/api-keys", Perm: "api_key:read", Handler: a.listAPIKeys},
		{Method: http.MethodPost, Path: "/organizations/:orgId/api-keys", Perm: "api_key:create", Secret: true, Idem: idempotency.Local, Handler: a.createAPIKey},
		{Method: http.MethodGet, Path: "/organizations/:orgId/api-keys/:keyId", Perm: "api_key:read", Object: apiKeyID, Handler: a.getAPIKey},
		{Method: http.MethodDelete, Path: "/organizations/:orgId/api-keys/:keyId", Perm: "api_key:delete", Object: apiKeyID, Handler: a.deleteAPIKey},
		{Method: http.MethodPost, Path: "/organizations/:orgId/api-keys/:keyId/revoke", Perm: "api_key:update", Object: apiKeyID, Idem: idempotency.Local, Handler: a.revokeAPIKey},
		{Method: http.MethodPost, Path: "/organizations/:orgId/api-keys/:keyId/rotate", Perm: "api_key:update", Object: apiKeyID, Secret: true, Idem: idempotency.Local, Handler: a.rotateAPIKey},

		{Method: http.MethodGet, Path: "/organizations/:orgId/members", Perm: "user:read", Handler: a.listMembers},
		{Method: http.MethodPost, Path: "/organizations/:orgId/members", Perm: "user:create", Secret: true, Idem: idempotency.Local, Handler: a.inviteMember},
		{Method: http.MethodPatch, Path: "/organizations/:orgId/members/:userId", Perm: "user:update", Handler: a.changeMember},
		{Method: http.MethodDelete, Path: "/organizations/:orgId/members/:userId", Perm: "user:delete", Handler: a.removeMember},

		{Method: http.MethodGet, Path: "/audit-log", Perm: "audit:read", Handler: a.listAudit},
	}
}

// wrap runs the common steps around a handler: authenticate, rate-limit, idempotency, render.
func (a *API) wrap(r Route) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := &Request{Services: a.d.Services, inTx: a.d.InTx}
		if !r.Public {
			actor, err := a.authenticate(c)
			if err != nil {
				return err
			}
			// From here on the request's lines name the caller's organisation (a session
			// without one names none); the site, once a lookup names it (store).
			logging.SetTenant(c.Request().Context(), actor.OrganizationID, "")
			if ok, wait := a.keyLimit.Allow(c.Request().Context(), actor.Type+":"+actor.ID); !ok {
				return &httpapi.RetryAfterError{Seconds: httpapi.RetryAfterSeconds(wait), Message: "rate limit exceeded for this API key; slow down"}
			}
			req.Actor, req.Org = actor, actor.OrganizationID
			c.SetRequest(c.Request().WithContext(withActor(c.Request().Context(), actor)))
			if err := a.admit(c, r, actor); err != nil {
				return err
			}
		}
		if !r.Public && idempotency.Applies(c.Request()) {
			return a.idempotent(c, r, req)
		}
		status, out, err := r.Handler(c, req)
		if err != nil || c.Response().Committed {
			return err
		}
		return render(c, status, out)
	}
}

// admit decides, before anything else runs, whether actor may call the route at all: its
// permission, and for an API key the mode of the object its path addresses (the other mode's
// objects do not exist for it). This is the one place where modes are enforced for objects
// addressed by id; lists filter by the key's mode in the use cases, and auth.Authorize keeps
// test keys from changing what both modes share.
func (a *API) admit(c echo.Context, r Route, actor domain.Actor) error {
	if r.Perm != "" {
		resource, action, _ := strings.Cut(r.Perm, ":")
		if err := auth.Authorize(actor, resource, action); err != nil {
			return err
		}
	}
	if r.Object == nil || actor.Mode == "" {
		return nil
	}
	m, err := a.d.Modes.ObjectMode(c.Request().Context(), r.Object.Kind, actor.OrganizationID, c.Param(r.Object.Param))
	if err != nil {
		return err
	}
	if !actor.Sees(m) {
		return domain.NotFound(string(r.Object.Kind))
	}
	return nil
}

// authenticate turns the Authorization header into an actor: an API key (sk_...) or a
// dashboard session token. Valid credentials are never refused here, whatever else comes from
// the same address; failed attempts count per (client IP, API key id) — a malformed or session
// token counts in a fixed bucket of its kind — and per IP over all keys, and once either budget
// is spent failures are answered 429 with Retry-After.
func (a *API) authenticate(c echo.Context) (domain.Actor, error) {
	ip := c.RealIP()
	header := c.Request().Header.Get(echo.HeaderAuthorization)
	actor, err := a.identify(c.Request().Context(), header)
	if err != nil {
		if domain.ErrorKind(err) == domain.KindUnauthorized {
			if over, wait := a.failLimit.Fail(c.Request().Context(), ip, credentialBucket(header)); over {
				return domain.Actor{}, &httpapi.RetryAfterError{Seconds: httpapi.RetryAfterSeconds(wait), Message: "too many failed authentications with this credential from this address; wait before retrying"}
			}
		}
		return domain.Actor{}, err
	}
	actor.IP, actor.RequestID = ip, httpapi.RequestID(c)
	return actor, nil
}

// credentialBucket names what an Authorization header tried, for counting failures: the API
// key id, or a fixed bucket for session tokens and for anything malformed or missing.
func credentialBucket(header string) string {
	token, ok := auth.BearerToken(header)
	switch {
	case !ok:
		return "missing"
	case strings.HasPrefix(token, "sk_"):
		if _, keyID, _, ok := auth.ParseToken(token); ok {
			return "key:" + keyID
		}
		return "malformed"
	}
	return "session"
}

func (a *API) identify(ctx context.Context, header string) (domain.Actor, error) {
	token, ok := auth.BearerToken(header)
	if !ok {
		return domain.Actor{}, &domain.Error{Kind: domain.KindUnauthorized, Code: domain.CodeUnauthorized,
			Message: "missing credentials: send Authorization: Bearer sk_live_... (or sk_test_...)"}
	}
	if strings.HasPrefix(token, "sk_") {
		return a.d.KeyAuth.Authenticate(ctx, token)
	}
	claims, err := a.d.Sessions.Verify(token)
	if err != nil {
		return domain.Actor{}, &domain.Error{Kind: domain.KindUnauthorized, Code: domain.CodeUnauthorized, Message: "invalid or expired token"}
	}
	u, err := a.d.Tenancy.SessionUser(ctx, claims.Subject)
	if err != nil || auth.Current(claims, u) != nil {
		// Unknown user, or the session ended (password changed, signed out): the same answer.
		return domain.Actor{}, &domain.Error{Kind: domain.KindUnauthorized, Code: domain.CodeUnauthorized, Message: "invalid or expired token"}
	}
	return a.d.Tenancy.UserActor(ctx, u, claims.Org)
}

type actorKey struct{}

func withActor(ctx context.Context, a domain.Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// render writes a handler's result as JSON (204 writes nothing).
func render(c echo.Context, status int, out any) error {
	if status == http.StatusNoContent || out == nil {
		return c.NoContent(status)
	}
	b, err := marshal(out)
	if err != nil {
		return domain.Internal(err, "encode response")
	}
	return c.Blob(status, echo.MIMEApplicationJSON, b)
}

// rawJSON is a response body already encoded (the bytes stored as an idempotency answer).
type rawJSON []byte

// orgParam checks the :orgId of an organisation-scoped path against the actor: another
// organisation is NOT_FOUND (platform administrators may act on any).
func orgParam(c echo.Context, r *Request) (string, error) {
	id := c.Param("orgId")
	if id != r.Org && !r.Actor.PlatformAdmin {
		return "", domain.NotFound("organization")
	}
	logging.SetTenant(c.Request().Context(), id, "")
	return id, nil
}
