// Package apptest starts the platform's services in-process for tests: real HTTP servers on
// loopback listeners, over a real (test) database, wired exactly as the binaries wire them.
package apptest

import (
	"context"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/app"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/logging/logtest"
	"paygate.dev/pkg/mail/mailtest"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/secrets"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

// internalToken authenticates the test frontend's calls to the test backend.
const internalToken = "test-internal-token-0123456789abcdef"

// Env is a running set of services.
type Env struct {
	Store     *store.Store
	MasterKey []byte
	Hosts     config.Hosts

	Admin       *app.AdminBackend
	AdminURL    string
	Main        *app.MainBackend
	MainURL     string
	Frontend    *app.MainFrontend
	FrontendURL string

	// Mail is the loopback SMTP server (STARTTLS, AUTH) the admin backend sends e-mail to.
	Mail *mailtest.Server
	// Logs holds every line the services logged, each naming its service as the binaries do;
	// at the end of the test a line that carries a credential (an API key, a reset or
	// invitation token, a JWT, a signing secret, a provider key, or a value registered with
	// Logs.Forbid) fails it.
	Logs *logtest.Capture
}

// Options adjust the environment.
type Options struct {
	// RateLimit per API key (default 1000/s so tests are not throttled).
	RateLimit int
	// NoFrontend skips the main frontend; NoMain skips the main backend.
	NoFrontend, NoMain bool
	// Workers runs the main backend's background workers. They need a database of the test's
	// own (storetest.EachOwn, storetest.Own): River's clients on one database work each other's
	// jobs, with each other's provider fakes and settings.
	Workers bool
	// AdminBackend adjusts the admin backend's configuration before it starts.
	AdminBackend func(*config.AdminBackend)
	// MainBackend adjusts the main backend's configuration before it starts.
	MainBackend func(*config.MainBackend)
	// Frontend adjusts the main frontend's configuration before it starts.
	Frontend func(*config.MainFrontend)
	// MasterKey reuses a master key (a restarted "process" on the same database).
	MasterKey []byte
	// StripeAPIURL, GoCardlessAPIURL, MollieAPIURL and PayPalAPIURL point the providers at
	// test servers.
	StripeAPIURL, GoCardlessAPIURL, MollieAPIURL, PayPalAPIURL string
	// Providers are registered after the built-in ones (a fake provider: one line).
	Providers providers.Registry
	// Mail adjusts the loopback SMTP server (default: STARTTLS with AUTH).
	Mail *mailtest.Options
	// Redis shares the backends' rate limits through Redis (redistest.Config); services
	// started with the same Redis and MasterKey are replicas that share their counts. Unset:
	// each counts in process.
	Redis config.Redis
}

// From is the sender address of the test services' e-mail.
const From = "Paygate <no-reply@paygate.test>"

// tokenRE finds one-time tokens in e-mailed links.
var tokenRE = regexp.MustCompile(`token=([0-9A-Za-z]+)`)

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	return ln
}

// Start runs the services on s until the test ends.
func Start(t testing.TB, s *store.Store, o Options) *Env {
	t.Helper()
	mk := o.MasterKey
	if mk == nil {
		mk, _ = secrets.ParseKey(secrets.GenerateKey())
	}
	adminLn, mainLn, frontLn := listen(t), listen(t), listen(t)
	hosts := config.Hosts{Scheme: "http", AdminBackendDomain: adminLn.Addr().String(), MainBackendDomain: mainLn.Addr().String(), MainFrontendDomain: frontLn.Addr().String()}
	common := config.Common{AppEnv: config.AppProduction, MasterKey: mk, Hosts: hosts, ShutdownTimeout: 5 * time.Second,
		StripeAPIURL: o.StripeAPIURL, GoCardlessAPIURL: o.GoCardlessAPIURL, MollieAPIURL: o.MollieAPIURL, PayPalAPIURL: o.PayPalAPIURL, Providers: o.Providers, Redis: o.Redis}
	logs := logtest.New()
	// Runs last (cleanups run in reverse), once every service has stopped logging.
	t.Cleanup(func() { logs.Check(t) })
	mailSrv := startMail(t, o.Mail, logs)
	env := &Env{Store: s, MasterKey: mk, Hosts: hosts, Mail: mailSrv, Logs: logs}
	sv := startServers(t)
	env.startAdmin(t, sv, o, common, adminLn)
	if !o.NoMain {
		env.startMain(t, sv, o, common, mainLn)
	} else {
		mainLn.Close()
	}
	if !o.NoFrontend {
		env.startFrontend(t, sv, o, frontLn)
	} else {
		frontLn.Close()
	}
	return env
}

// startMail starts the loopback SMTP server (opts, else STARTTLS with AUTH); its password and
// every token e-mailed through it are forbidden in the logs.
func startMail(t testing.TB, opts *mailtest.Options, logs *logtest.Capture) *mailtest.Server {
	t.Helper()
	mo := mailtest.Options{TLS: config.SMTPStartTLS, Username: "paygate", Password: "smtp-" + domain.RandomString(16)}
	if opts != nil {
		mo = *opts
	}
	logs.Forbid(mo.Password)
	next := mo.OnMessage
	mo.OnMessage = func(m mailtest.Message) {
		// A token that was e-mailed must never be logged, in a link or alone.
		for _, sub := range tokenRE.FindAllStringSubmatch(m.Text, -1) {
			logs.Forbid(sub[1])
		}
		if next != nil {
			next(m)
		}
	}
	return mailtest.Start(t, mo)
}

// servers runs the services until the test ends: its cleanup cancels ctx and waits for each
// one started with run or serve to return.
type servers struct {
	ctx     context.Context
	done    chan struct{}
	running int
}

func startServers(t testing.TB) *servers {
	ctx, cancel := context.WithCancel(context.Background())
	sv := &servers{ctx: ctx, done: make(chan struct{}, 3)}
	t.Cleanup(func() {
		cancel()
		for i := 0; i < sv.running; i++ {
			<-sv.done
		}
	})
	return sv
}

// run runs f in a goroutine until it returns; f should return once ctx is done.
func (sv *servers) run(f func(ctx context.Context)) {
	sv.running++
	go func() {
		f(sv.ctx)
		sv.done <- struct{}{}
	}()
}

// serve serves h on ln, shutting the server down when the test ends.
func (sv *servers) serve(ln net.Listener, h http.Handler) {
	sv.run(func(ctx context.Context) {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			<-ctx.Done()
			sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
			_ = srv.Shutdown(sctx)
			c()
		}()
		_ = srv.Serve(ln)
	})
}

// startAdmin runs the admin backend on ln.
func (e *Env) startAdmin(t testing.TB, sv *servers, o Options, common config.Common, ln net.Listener) {
	t.Helper()
	rate := o.RateLimit
	if rate == 0 {
		rate = 1000
	}
	// Merchant fakes listen on 127.0.0.1: loopback ipnUrls are allowed, as `make run` allows them
	// (IPN_ALLOW_PRIVATE_TARGETS=true), unless a test turns it off (Options.AdminBackend).
	acfg := config.AdminBackend{Common: common, JWTSigningKey: secrets.Derive(e.MasterKey, "test-jwt"), SessionTTL: 15 * time.Minute,
		IdempotencyTTL: 48 * time.Hour, RateLimit: rate, IPNAllowPrivateTargets: true, Mail: e.Mail.Config(From)}
	if o.AdminBackend != nil {
		o.AdminBackend(&acfg)
	}
	admin, err := app.AdminBackendOn(acfg, e.Logs.Logger("admin-backend"), e.Store)
	if err != nil {
		t.Fatalf("admin backend: %v", err)
	}
	e.Admin, e.AdminURL = admin, "http://"+e.Hosts.AdminBackendDomain
	t.Cleanup(func() { _ = admin.Limits.Close() })
	sv.serve(ln, admin.Handler())
}

// startMain runs the main backend on ln, with its workers when o.Workers is set.
func (e *Env) startMain(t testing.TB, sv *servers, o Options, common config.Common, ln net.Listener) {
	t.Helper()
	if o.Workers && storetest.IsShared(e.Store) {
		t.Fatal("apptest: a main backend with workers needs a database of the test's own (storetest.EachOwn or storetest.Own), not the shared one")
	}
	mcfg := config.MainBackend{Common: common, CORSOrigins: []string{e.Hosts.MainFrontendURL()}, Workers: o.Workers, WorkerCount: 2, JobPollInterval: 50 * time.Millisecond,
		RateLimit: 1000, IPNAllowPrivateTargets: true, InternalToken: internalToken}
	if o.MainBackend != nil {
		o.MainBackend(&mcfg)
	}
	mb, err := app.MainBackendOn(sv.ctx, mcfg, e.Logs.Logger("main-backend"), e.Store)
	if err != nil {
		t.Fatalf("main backend: %v", err)
	}
	e.Main, e.MainURL = mb, "http://"+e.Hosts.MainBackendDomain
	sv.run(func(ctx context.Context) { _ = mb.Serve(ctx, ln) })
}

// startFrontend runs the main frontend on ln.
func (e *Env) startFrontend(t testing.TB, sv *servers, o Options, ln net.Listener) {
	t.Helper()
	fcfg := config.MainFrontend{AppEnv: config.AppProduction, Hosts: e.Hosts, ShutdownTimeout: 5 * time.Second,
		MainBackendInternalURL: "http://" + e.Hosts.MainBackendDomain, StripeJSURL: "https://js.stripe.com/v3", InternalToken: internalToken}
	if o.Frontend != nil {
		o.Frontend(&fcfg)
	}
	fe, err := app.NewMainFrontend(sv.ctx, fcfg, e.Logs.Logger("main-frontend"))
	if err != nil {
		t.Fatalf("main frontend: %v", err)
	}
	e.Frontend, e.FrontendURL = fe, "http://"+e.Hosts.MainFrontendDomain
	sv.serve(ln, fe.Handler())
}

// Services are the admin backend's capability services (for setting up fixtures directly).
func (e *Env) Services() app.Services { return e.Admin.Services }

// Tenant is an organisation with an admin user, an all-scopes test key and a live key, and a
// site with a test-mode wire-transfer provider.
type Tenant struct {
	Org       *domain.Organization
	Admin     domain.Actor
	Site      *domain.Site
	Provider  *domain.Provider
	SiteHook  string // the site's IPN signing secret
	TestKey   string
	LiveKey   string
	AdminUser *domain.User
	Password  string
}

// NewTenant creates a tenant with everything a checkout needs.
func (e *Env) NewTenant(t testing.TB) *Tenant {
	t.Helper()
	tn := CreateTenant(t, e.Services().Tenancy, e.Store)
	e.Logs.Forbid(tn.Password, tn.SiteHook, tn.TestKey, tn.LiveKey)
	return tn
}

// CreateTenant creates a tenant through svc (tenancy's use cases) on the database s: an organisation with an admin,
// a bank-transfer provider, a site and a test and a live API key (for services started
// elsewhere, e.g. other processes on the same database).
func CreateTenant(t testing.TB, svc *tenancy.Service, s *store.Store) *Tenant {
	t.Helper()
	ctx := context.Background()
	sys := domain.SystemActor("")
	name := "Tenant " + domain.RandomString(6)
	country, oss := "DE", true
	org, err := svc.CreateOrganization(ctx, sys, tenancy.OrganizationInput{Name: &name, SellerCountry: &country, OSSRegistered: &oss})
	if err != nil {
		t.Fatalf("organization: %v", err)
	}
	password := "pw-" + domain.RandomString(16)
	email := "admin." + strings.ToLower(domain.RandomString(8)) + "@example.com"
	u, err := svc.CreateUser(ctx, sys, tenancy.CreateUserInput{Email: email, Password: password})
	if err != nil {
		t.Fatalf("user: %v", err)
	}
	if err := s.AddMembership(ctx, &domain.Membership{OrganizationID: org.ID, UserID: u.ID, Role: domain.RoleAdmin}); err != nil {
		t.Fatalf("membership: %v", err)
	}
	admin := domain.Actor{Type: domain.ActorUser, ID: u.ID, Label: u.Email, OrganizationID: org.ID, Role: domain.RoleAdmin}
	pname := "Bank transfer"
	prov, err := svc.CreateProvider(ctx, admin, org.ID, tenancy.ProviderInput{Type: "wire_transfer", Mode: "test", Name: &pname,
		Settings: map[string]string{"bankName": "Test Bank", "accountHolder": "Shop GmbH", "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX",
			"instructions": "Use the reference."}})
	if err != nil {
		t.Fatalf("provider: %v", err)
	}
	sname := "Shop"
	hosts := []string{"shop.example.com", "localhost", "127.0.0.1"}
	ids := []string{prov.ID}
	site, hook, err := svc.CreateSite(ctx, admin, org.ID, tenancy.SiteInput{Name: &sname, AllowedHosts: &hosts, ProviderIDs: &ids, DefaultProviderID: &prov.ID})
	if err != nil {
		t.Fatalf("site: %v", err)
	}
	_, testKey, err := svc.CreateAPIKey(ctx, admin, org.ID, tenancy.APIKeyInput{Name: "test", Mode: "test", Scopes: []string{"*:*"}})
	if err != nil {
		t.Fatalf("test key: %v", err)
	}
	_, liveKey, err := svc.CreateAPIKey(ctx, admin, org.ID, tenancy.APIKeyInput{Name: "live", Mode: "live", Scopes: []string{"*:*"}})
	if err != nil {
		t.Fatalf("live key: %v", err)
	}
	return &Tenant{Org: org, Admin: admin, Site: site, Provider: prov, SiteHook: hook, TestKey: testKey, LiveKey: liveKey, AdminUser: u, Password: password}
}

// Echo is the admin backend's router (to list its routes).
func (e *Env) Echo() *echo.Echo { return e.Admin.Echo }
