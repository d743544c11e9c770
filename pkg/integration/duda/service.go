package duda

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"paygate.dev/pkg/domain"
	dudaapi "paygate.dev/pkg/duda"
	"paygate.dev/pkg/integration/dudaconn"
	"paygate.dev/pkg/queue"
)

// Options configure the use cases.
type Options struct {
	Store Store
	// Connections and Payments are the capabilities the use cases drive.
	Connections Connections
	Payments    Payments
	Log         *slog.Logger
	// APIOrigins are the api_endpoint origins an install may name (default dudaapi.DefaultAPIOrigins).
	APIOrigins []string
	// HTTPClient calls Duda (default: a plain client; each call is bounded by dudaapi.DefaultTimeout).
	HTTPClient *http.Client
	// SignatureTolerance is how stale a signed call from Duda may be (default
	// dudaapi.DefaultSignatureTolerance).
	SignatureTolerance time.Duration
	// ConfirmBackoff overrides the retry schedule of confirmations (tests).
	ConfirmBackoff func(attempt int) time.Duration
	// GatewayBackoff overrides the retry schedule of gateway registrations (default
	// queue.DefaultBackoff; tests).
	GatewayBackoff func(attempt int) time.Duration
}

// Service holds the Duda use cases. It is safe for concurrent use.
type Service struct {
	store     Store
	conns     Connections
	payments  Payments
	log       *slog.Logger
	origins   []string
	hc        *http.Client
	tolerance time.Duration
	backoff   func(attempt int) time.Duration
	gwBackoff func(attempt int) time.Duration

	clients sync.Map // client key → *dudaapi.Client (one per connection version and API endpoint)
}

// New builds the use cases.
func New(o Options) *Service {
	s := &Service{store: o.Store, conns: o.Connections, payments: o.Payments, log: o.Log, origins: o.APIOrigins, hc: o.HTTPClient,
		tolerance: o.SignatureTolerance, backoff: o.ConfirmBackoff, gwBackoff: o.GatewayBackoff}
	if s.log == nil {
		s.log = slog.Default()
	}
	if len(s.origins) == 0 {
		s.origins = dudaapi.DefaultAPIOrigins
	}
	if s.hc == nil {
		s.hc = &http.Client{}
	}
	if s.gwBackoff == nil {
		s.gwBackoff = queue.DefaultBackoff
	}
	return s
}

// RegisterCheckoutRules makes Duda's return URL the place a paid (or pending) shopper goes back
// to, and routes the hosted page's cancel link through us so that Duda hears of the cancel.
func (s *Service) RegisterCheckoutRules() {
	s.payments.RegisterReturnURL(domain.OriginDuda, s.returnURL)
	s.payments.RegisterCancelURL(domain.OriginDuda, s.cancelURL)
	s.payments.RegisterReturnOnPending(domain.OriginDuda)
}

// PaymentURL is the hosted page of a checkout.
func (s *Service) PaymentURL(shortCode string) string {
	return s.conns.Hosts().PaymentURL(shortCode)
}

// BaseURL is where a connection's endpoints live on the main backend.
func (s *Service) BaseURL(connectionID string) string { return s.conns.DudaBaseURL(connectionID) }

func (s *Service) gatewayBackoff(attempt int) time.Duration { return s.gwBackoff(attempt) }

func (s *Service) iconURL(name string) string {
	return s.conns.Hosts().MainBackendURL() + "/duda/icons/" + name + ".svg"
}

// connection loads a connection by id with its decrypted credentials.
func (s *Service) connection(ctx context.Context, id string) (*dudaconn.DudaApp, error) {
	c, err := s.store.GetDudaConnectionByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.conns.OpenDudaConnection(ctx, c)
}

// client returns the Duda client of a connection for one API endpoint. Clients are kept so that
// each site's token refreshes stay serialised in this process; an edited connection gets a new one.
func (s *Service) client(app *dudaconn.DudaApp, endpoint string) (*dudaapi.Client, error) {
	if err := dudaapi.CheckAPIEndpoint(endpoint, s.origins...); err != nil {
		return nil, err
	}
	c := app.Connection
	key := c.ID + "\x00" + endpoint + "\x00" + strconv.FormatInt(c.UpdatedAt.UnixNano(), 10)
	if v, ok := s.clients.Load(key); ok {
		return v.(*dudaapi.Client), nil
	}
	cl := dudaapi.NewClient(endpoint, app.Credentials, &tokenStore{s: s, conn: c}, dudaapi.WithHTTPClient(s.hc), dudaapi.WithClock(s.payments.Now))
	v, _ := s.clients.LoadOrStore(key, cl)
	return v.(*dudaapi.Client), nil
}

// siteClient is the client for an installed Duda site of a connection.
func (s *Service) siteClient(app *dudaconn.DudaApp, site *domain.DudaSite) (*dudaapi.Client, error) {
	return s.client(app, site.APIEndpoint)
}

// tokenStore keeps a connection's Duda site tokens sealed in duda_sites.
type tokenStore struct {
	s    *Service
	conn *domain.DudaConnection
}

// Load implements dudaapi.TokenStore.
func (t *tokenStore) Load(ctx context.Context, siteName string) (dudaapi.Tokens, error) {
	site, err := t.s.store.GetDudaSite(ctx, t.conn.ID, siteName)
	if domain.IsNotFound(err) {
		return dudaapi.Tokens{}, fmt.Errorf("site %q: %w", siteName, dudaapi.ErrNoTokens)
	}
	if err != nil {
		return dudaapi.Tokens{}, err
	}
	return t.s.conns.DudaTokens(ctx, site)
}

// Save implements dudaapi.TokenStore.
func (t *tokenStore) Save(ctx context.Context, siteName string, tok dudaapi.Tokens) error {
	site, err := t.s.store.GetDudaSite(ctx, t.conn.ID, siteName)
	if err != nil {
		return err
	}
	return t.s.conns.SaveDudaTokens(ctx, t.conn, site, tok)
}
