package config

import (
	"net/url"
	"strings"
	"time"

	"paygate.dev/pkg/netguard"
	"paygate.dev/pkg/secrets"
)

// AdminBackend configures the admin backend: Admin API, API keys, checkout creation, Admin Panel.
type AdminBackend struct {
	Common
	// JWTSigningKey signs dashboard sessions (HS256).
	JWTSigningKey []byte
	SessionTTL    time.Duration
	// SeedDemo creates the demo organisation on first start (development default: on).
	SeedDemo bool
	// IdempotencyTTL is how long Idempotency-Key answers are kept (at least 24 hours).
	IdempotencyTTL time.Duration
	// IdempotencyLease is how long a claimed Idempotency-Key of a request calling a provider
	// blocks duplicates without its holder renewing it (tests only; 0: 60 s).
	IdempotencyLease time.Duration
	// RateLimit is requests per second allowed per API key (burst 2×).
	RateLimit int
	// TrustProxy takes the client IP from X-Forwarded-For (set behind the reverse proxy).
	TrustProxy bool
	// IPNAllowPrivateTargets accepts ipnUrls on loopback and private addresses when checkouts
	// and Duda connections are created (IPN_ALLOW_PRIVATE_TARGETS, the main backend's setting
	// for sending them; development only). Off, they are refused with 400 IPN_URL_PRIVATE.
	IPNAllowPrivateTargets bool
	// IPNResolver resolves ipnUrl host names for that check (tests only; not read from the
	// environment; default the system resolver).
	IPNResolver netguard.Resolver
	// Mail sends invitations and password-reset links. Production requires an SMTP server
	// unless MAIL_DISABLED=true; development without one uses a logging mailer.
	Mail Mail
}

// LoadAdminBackend reads and validates the admin backend's configuration.
func LoadAdminBackend(e *Env) (AdminBackend, error) {
	c := AdminBackend{Common: readCommon(e, "ADMIN_BACKEND_PORT", 8080)}
	jwtKey := e.Secret("JWT_SIGNING_KEY")
	switch {
	case jwtKey == "" && c.Dev() && c.MasterKey != nil:
		c.JWTSigningKey = secrets.Derive(c.MasterKey, "dev-jwt-signing-key")
	case jwtKey == "":
		e.Fail("JWT_SIGNING_KEY", "is required: at least 32 random bytes (e.g. `openssl rand -base64 48`)")
	case len(jwtKey) < 32:
		e.Fail("JWT_SIGNING_KEY", "must be at least 32 characters")
	default:
		c.JWTSigningKey = []byte(jwtKey)
	}
	c.SessionTTL = e.Duration("SESSION_TTL", 15*time.Minute, time.Minute, 12*time.Hour)
	c.SeedDemo = e.Bool("SEED_DEMO", c.Dev())
	c.IdempotencyTTL = e.Duration("IDEMPOTENCY_TTL", 48*time.Hour, 24*time.Hour, 30*24*time.Hour)
	c.RateLimit = e.Int("API_RATE_LIMIT", 100, 1, 100000)
	c.TrustProxy = e.Bool("TRUST_PROXY", false)
	c.IPNAllowPrivateTargets = e.Bool("IPN_ALLOW_PRIVATE_TARGETS", false)
	c.Mail = readMail(e, c.AppEnv, true)
	return c, e.Err()
}

// LogAttrs describes the configuration without secrets.
func (c AdminBackend) LogAttrs() []any {
	return append(c.Common.LogAttrs(), "jwt_signing_key", "set", "session_ttl", c.SessionTTL.String(), "seed_demo", c.SeedDemo,
		"ipn_allow_private_targets", c.IPNAllowPrivateTargets, "mail", c.Mail.Mode(c.AppEnv))
}

// MainBackend configures the main backend: provider webhooks, the checkout runtime API, workers.
type MainBackend struct {
	Common
	// IPNAllowPrivateTargets lets IPNs go to loopback and private addresses (development only),
	// for checkouts that were created while it was on too (see domain.Checkout.IPNAllowPrivate);
	// checkouts this backend creates (Duda) are checked against it.
	IPNAllowPrivateTargets bool
	// CORSOrigins may call the runtime API from a browser (default: the main frontend).
	CORSOrigins []string
	// Workers runs background jobs in this process (IPN delivery, expiry, reconciliation).
	Workers bool
	// WorkerCount is the ipn queue's concurrency (WORKER_CONCURRENCY): how many notifications
	// this process sends at once. The other queues have fixed concurrency (queue.Concurrency).
	WorkerCount int
	// JobPollInterval is how often each queue looks for due jobs when nothing woke it (tests
	// only; default 1s).
	JobPollInterval time.Duration
	// VIESURL is the EU VAT-number service's REST base URL.
	VIESURL    string
	RateLimit  int
	TrustProxy bool
	// InternalToken authenticates the main frontend's server-side calls, which forward the
	// buyer's address for rate limiting.
	InternalToken string
	// IPNBackoff overrides the notification retry schedule (tests only; not read from the
	// environment).
	IPNBackoff func(attempt int) time.Duration
	// DudaAPIOrigins are the api_endpoint origins a Duda install may name: the app credentials
	// and site tokens are sent only there (DUDA_API_ORIGINS; default Duda's production and sandbox).
	DudaAPIOrigins []string
}

// LoadMainBackend reads and validates the main backend's configuration.
func LoadMainBackend(e *Env) (MainBackend, error) {
	c := MainBackend{Common: readCommon(e, "MAIN_BACKEND_PORT", 8081)}
	c.IPNAllowPrivateTargets = e.Bool("IPN_ALLOW_PRIVATE_TARGETS", false)
	c.CORSOrigins = e.List("CORS_ORIGINS", []string{c.Hosts.MainFrontendURL()})
	for _, o := range c.CORSOrigins {
		if u, err := url.Parse(o); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.Path != "" {
			e.Fail("CORS_ORIGINS", "must be comma-separated origins like https://secure.example.com, got %q", o)
		}
	}
	c.Workers = e.Bool("WORKERS", true)
	c.WorkerCount = e.Int("WORKER_CONCURRENCY", 4, 1, 256)
	c.VIESURL = e.String("VIES_URL", "https://ec.europa.eu/taxation_customs/vies/rest-api")
	if u, err := url.Parse(c.VIESURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		e.Fail("VIES_URL", "must be an absolute http(s) URL, got %q", c.VIESURL)
	}
	c.RateLimit = e.Int("RUNTIME_RATE_LIMIT", 20, 1, 100000)
	c.TrustProxy = e.Bool("TRUST_PROXY", false)
	c.InternalToken = readInternalToken(e, c.AppEnv)
	c.DudaAPIOrigins = e.List("DUDA_API_ORIGINS", []string{"https://api.duda.co", "https://api-sandbox.duda.co"})
	for _, o := range c.DudaAPIOrigins {
		if u, err := url.Parse(o); err != nil || u.Host == "" || (u.Scheme != "https" && !(c.Dev() && u.Scheme == "http")) || (u.Path != "" && u.Path != "/") {
			e.Fail("DUDA_API_ORIGINS", "must be comma-separated https origins like https://api.duda.co, got %q", o)
		}
	}
	return c, e.Err()
}

// devInternalToken is the development default of RUNTIME_INTERNAL_TOKEN (development only).
const devInternalToken = "development-internal-token-not-secret"

func readInternalToken(e *Env, env AppEnv) string {
	t := e.Secret("RUNTIME_INTERNAL_TOKEN")
	if t == "" && env == AppDevelopment {
		return devInternalToken
	}
	if t != "" && len(t) < 24 {
		e.Fail("RUNTIME_INTERNAL_TOKEN", "must be at least 24 characters")
	}
	return t
}

// LogAttrs describes the configuration without secrets.
func (c MainBackend) LogAttrs() []any {
	return append(c.Common.LogAttrs(), "workers", c.Workers, "ipn_allow_private_targets", c.IPNAllowPrivateTargets, "cors_origins", strings.Join(c.CORSOrigins, ","))
}

// MainFrontend configures the hosted checkout pages. It has no database credentials: it reads
// and writes only through the main backend's runtime API.
type MainFrontend struct {
	AppEnv          AppEnv
	LogLevel        LogLevel
	Hosts           Hosts
	ListenAddr      string
	ShutdownTimeout time.Duration
	// MainBackendInternalURL is how this service reaches the runtime API (server to server).
	MainBackendInternalURL string
	// StripeJSURL is where the page loads Stripe.js from (tests serve a stand-in).
	StripeJSURL string
	// FrameAncestors allows embedding the pages (CSP frame-ancestors); empty means 'none'.
	FrameAncestors string
	TrustProxy     bool
	// InternalToken lets the main backend rate-limit page loads by the buyer's address.
	InternalToken string
	Ops
}

// LogLevel is a slog level that keeps its text form.
type LogLevel = string

// LoadMainFrontend reads and validates the main frontend's configuration.
func LoadMainFrontend(e *Env) (MainFrontend, error) {
	c := MainFrontend{AppEnv: readAppEnv(e)}
	_ = readLogLevel(e)
	c.LogLevel = e.String("LOG_LEVEL", "info")
	c.Hosts = readHosts(e, c.AppEnv)
	c.ListenAddr = readListen(e, c.AppEnv, "MAIN_FRONTEND_PORT", 8082)
	c.ShutdownTimeout = e.Duration("SHUTDOWN_TIMEOUT", 20*time.Second, time.Second, 5*time.Minute)
	c.Ops = readOps(e)
	def := ""
	if c.AppEnv == AppDevelopment {
		def = "http://127.0.0.1:8081"
	}
	c.MainBackendInternalURL = strings.TrimRight(e.String("MAIN_BACKEND_INTERNAL_URL", def), "/")
	if c.MainBackendInternalURL == "" {
		c.MainBackendInternalURL = c.Hosts.MainBackendURL()
	}
	if u, err := url.Parse(c.MainBackendInternalURL); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		e.Fail("MAIN_BACKEND_INTERNAL_URL", "must be an absolute http(s) URL, got %q", c.MainBackendInternalURL)
	}
	c.StripeJSURL = e.String("STRIPE_JS_URL", "https://js.stripe.com/v3")
	if u, err := url.Parse(c.StripeJSURL); err != nil || u.Host == "" || (u.Scheme != "https" && !(c.AppEnv == AppDevelopment && u.Scheme == "http")) {
		e.Fail("STRIPE_JS_URL", "must be an absolute https URL, got %q", c.StripeJSURL)
	}
	c.FrameAncestors = e.String("FRAME_ANCESTORS", "")
	c.TrustProxy = e.Bool("TRUST_PROXY", false)
	c.InternalToken = readInternalToken(e, c.AppEnv)
	return c, e.Err()
}

// LogAttrs describes the configuration.
func (c MainFrontend) LogAttrs() []any {
	return []any{"app_env", c.AppEnv, "listen", c.ListenAddr, "internal_listen", c.InternalListen, "metrics_token", c.MetricsToken != "", "main_frontend", c.Hosts.MainFrontendURL(), "main_backend_internal", c.MainBackendInternalURL, "stripe_js", c.StripeJSURL}
}
