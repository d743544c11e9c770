package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"paygate.dev/pkg/secrets"

	"paygate.dev/pkg/providers"
)

// AppEnv is the deployment kind.
type AppEnv string

// Deployment kinds. Development defaults apply only in AppDevelopment.
const (
	AppDevelopment AppEnv = "development"
	AppProduction  AppEnv = "production"
)

// Hosts are the three public host names and the scheme they are reached by.
type Hosts struct {
	AdminBackendDomain string // e.g. api.example.com
	MainBackendDomain  string // e.g. webhook.example.com
	MainFrontendDomain string // e.g. secure.example.com
	Scheme             string // https (http only in development)
}

// AdminURL is the admin backend's public base URL.
func (h Hosts) AdminURL() string { return h.Scheme + "://" + h.AdminBackendDomain }

// MainBackendURL is the main backend's public base URL.
func (h Hosts) MainBackendURL() string { return h.Scheme + "://" + h.MainBackendDomain }

// MainFrontendURL is the main frontend's public base URL.
func (h Hosts) MainFrontendURL() string { return h.Scheme + "://" + h.MainFrontendDomain }

// PaymentURL is the hosted page of a checkout.
func (h Hosts) PaymentURL(shortCode string) string {
	return h.MainFrontendURL() + "/checkout/" + shortCode
}

// Common holds what every service with a database reads.
type Common struct {
	AppEnv            AppEnv
	LogLevel          slog.Level
	DataDir           string
	DatabaseURL       string // empty: SQLite in DataDir
	DB                DBPool // connection pool (DB_MAX_CONNS ...)
	MasterKey         []byte
	MasterKeyPrevious []byte
	Hosts             Hosts
	ListenAddr        string
	ShutdownTimeout   time.Duration
	// StripeAPIURL overrides Stripe's API base (tests point it at stripe-mock).
	StripeAPIURL string
	// GoCardlessAPIURL overrides GoCardless's API base (tests point it at a fake).
	GoCardlessAPIURL string
	// MollieAPIURL overrides Mollie's API base (tests point it at a fake).
	MollieAPIURL string
	// PayPalAPIURL overrides PayPal's API base (tests point it at paypalfake); unset, a
	// provider's mode picks it (test: the sandbox, live: live).
	PayPalAPIURL string
	// Providers are payment providers registered in code after the built-in ones (a test's
	// fake provider); never read from the environment.
	Providers providers.Registry
	// Redis shares rate limits between replicas (REDIS_URL); unset, each process counts alone.
	Redis Redis
	Ops
}

// Ops says where /metrics and /ready's reason are served (every service).
type Ops struct {
	// InternalListen (INTERNAL_LISTEN, e.g. 127.0.0.1:9090) is a second listener serving
	// /health, /ready with its reason, and /metrics without a token; empty: none.
	InternalListen string
	// MetricsToken (METRICS_TOKEN or METRICS_TOKEN_FILE) is a bearer token that unlocks
	// /metrics and /ready's reason on the public listener; empty: they are not served there
	// (outside development).
	MetricsToken string
}

func readOps(e *Env) Ops {
	o := Ops{InternalListen: e.String("INTERNAL_LISTEN", ""), MetricsToken: e.Secret("METRICS_TOKEN")}
	if o.InternalListen != "" {
		host, port, err := net.SplitHostPort(o.InternalListen)
		if err != nil || port == "" || (host != "" && host != "localhost" && net.ParseIP(host) == nil) {
			e.Fail("INTERNAL_LISTEN", "must be an address like 127.0.0.1:9090, got %q", o.InternalListen)
		}
	}
	if o.MetricsToken != "" && len(o.MetricsToken) < 24 {
		e.Fail("METRICS_TOKEN", "must be at least 24 characters")
	}
	return o
}

// Dev reports whether development defaults are in force.
func (c Common) Dev() bool { return c.AppEnv == AppDevelopment }

// SQLitePath is where the embedded database lives when DATABASE_URL is unset.
func (c Common) SQLitePath() string { return filepath.Join(c.DataDir, "paygate.db") }

// DatabaseKind says which database a configuration uses, for logs.
func (c Common) DatabaseKind() string {
	if c.DatabaseURL == "" {
		return "sqlite:" + c.SQLitePath()
	}
	if u, err := url.Parse(c.DatabaseURL); err == nil {
		return u.Scheme + "://" + u.Host + u.Path
	}
	return "postgres"
}

// Keyring builds the secrets keyring from the master keys.
func (c Common) Keyring() (*secrets.Keyring, error) {
	return secrets.NewKeyring(c.MasterKey, c.MasterKeyPrevious)
}

func readAppEnv(e *Env) AppEnv {
	v := AppEnv(e.String("APP_ENV", string(AppProduction)))
	if v != AppDevelopment && v != AppProduction {
		e.Fail("APP_ENV", "must be development or production, got %q", v)
		return AppProduction
	}
	return v
}

func readLogLevel(e *Env) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(e.String("LOG_LEVEL", "info"))); err != nil {
		e.Fail("LOG_LEVEL", "must be debug, info, warn or error")
	}
	return l
}

var domainRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$`)

func readHosts(e *Env, env AppEnv) Hosts {
	dev := env == AppDevelopment
	h := Hosts{Scheme: "https"}
	if dev {
		h.Scheme = e.String("PUBLIC_SCHEME", "http")
	} else if s := e.String("PUBLIC_SCHEME", "https"); s != "https" {
		e.Fail("PUBLIC_SCHEME", "must be https outside development")
	}
	if h.Scheme != "http" && h.Scheme != "https" {
		e.Fail("PUBLIC_SCHEME", "must be http or https")
	}
	for _, d := range []struct {
		name, def, example string
		dst                *string
	}{
		{"ADMIN_BACKEND_DOMAIN", "localhost:8080", "api.example.com", &h.AdminBackendDomain},
		{"MAIN_BACKEND_DOMAIN", "localhost:8081", "webhook.example.com", &h.MainBackendDomain},
		{"MAIN_FRONTEND_DOMAIN", "localhost:8082", "secure.example.com", &h.MainFrontendDomain},
	} {
		def := ""
		if dev {
			def = d.def
		}
		v := strings.ToLower(e.String(d.name, def))
		switch {
		case v == "":
			e.Fail(d.name, "is required (a host name such as %s)", d.example)
		case strings.Contains(v, "://") || strings.Contains(v, "/"):
			e.Fail(d.name, "must be a host name without scheme or path, got %q", v)
		case !domainRE.MatchString(v):
			e.Fail(d.name, "is not a valid host name: %q", v)
		}
		*d.dst = v
	}
	return h
}

func readListen(e *Env, env AppEnv, portVar string, defPort int) string {
	host := e.String("LISTEN_HOST", map[AppEnv]string{AppDevelopment: "127.0.0.1", AppProduction: "0.0.0.0"}[env])
	port := e.Int(portVar, defPort, 1, 65535)
	if net.ParseIP(host) == nil && host != "localhost" {
		e.Fail("LISTEN_HOST", "must be an IP address, got %q", host)
	}
	return net.JoinHostPort(host, fmt.Sprint(port))
}

// readCommon reads the settings shared by the two backends.
func readCommon(e *Env, portVar string, defPort int) Common {
	c := Common{AppEnv: readAppEnv(e)}
	c.LogLevel = readLogLevel(e)
	c.DataDir = e.String("DATA_DIR", "var")
	c.DatabaseURL = e.Secret("DATABASE_URL")
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") && !strings.HasPrefix(c.DatabaseURL, "sqlite:") {
		e.Fail("DATABASE_URL", "must start with postgres://, postgresql:// or sqlite:")
	}
	c.DB = readDBPool(e, c.DatabaseURL)
	c.Hosts = readHosts(e, c.AppEnv)
	c.ListenAddr = readListen(e, c.AppEnv, portVar, defPort)
	c.ShutdownTimeout = e.Duration("SHUTDOWN_TIMEOUT", 20*time.Second, time.Second, 5*time.Minute)
	c.Ops = readOps(e)
	c.Redis = readRedis(e)
	c.MasterKey = readMasterKey(e, c)
	c.StripeAPIURL = e.String("STRIPE_API_URL", "")
	c.GoCardlessAPIURL = e.String("GOCARDLESS_API_URL", "")
	c.MollieAPIURL = e.String("MOLLIE_API_URL", "")
	c.PayPalAPIURL = e.String("PAYPAL_API_URL", "")
	for name, v := range map[string]string{"STRIPE_API_URL": c.StripeAPIURL, "GOCARDLESS_API_URL": c.GoCardlessAPIURL, "MOLLIE_API_URL": c.MollieAPIURL,
		"PAYPAL_API_URL": c.PayPalAPIURL} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			e.Fail(name, "must be an absolute http(s) URL, got %q", v)
		}
	}
	if prev := e.Secret("MASTER_KEY_PREVIOUS"); prev != "" {
		k, err := secrets.ParseKey(prev)
		if err != nil {
			e.Fail("MASTER_KEY_PREVIOUS", "%v", err)
		}
		c.MasterKeyPrevious = k
	}
	return c
}

// readMasterKey reads MASTER_KEY; in development only, a missing key is created once in
// DATA_DIR/dev-master.key and reused by every service.
func readMasterKey(e *Env, c Common) []byte {
	raw := e.Secret("MASTER_KEY")
	if raw == "" && c.Dev() {
		k, err := devMasterKey(filepath.Join(c.DataDir, "dev-master.key"))
		if err != nil {
			e.Fail("MASTER_KEY", "not set, and the development key could not be created: %v", err)
			return nil
		}
		raw = k
	}
	if raw == "" {
		e.Fail("MASTER_KEY", "is required: 32 random bytes as base64 (generate one with `openssl rand -base64 32`)")
		return nil
	}
	k, err := secrets.ParseKey(raw)
	if err != nil {
		e.Fail("MASTER_KEY", "%v", err)
	}
	return k
}

func devMasterKey(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		// Another service created it first: wait for its content.
		for i := 0; i < 50; i++ {
			if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
				return strings.TrimSpace(string(b)), nil
			}
			time.Sleep(20 * time.Millisecond)
		}
		return "", fmt.Errorf("%s exists but is empty", path)
	}
	if err != nil {
		return "", err
	}
	key := secrets.GenerateKey()
	if _, err := f.WriteString(key + "\n"); err != nil {
		f.Close()
		return "", err
	}
	return key, f.Close()
}

// LogAttrs describes the common settings for the start-up log line, without secrets.
func (c Common) LogAttrs() []any {
	return append([]any{
		"app_env", c.AppEnv, "listen", c.ListenAddr, "internal_listen", c.InternalListen, "metrics_token", c.MetricsToken != "", "database", c.DatabaseKind(),
		"admin_backend", c.Hosts.AdminURL(), "main_backend", c.Hosts.MainBackendURL(), "main_frontend", c.Hosts.MainFrontendURL(),
		"master_key", "set", "master_key_previous", c.MasterKeyPrevious != nil,
		"rate_limits", c.Redis.Describe(),
	}, c.DB.LogAttrs()...)
}
