package ipn_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/app"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/metrics"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/queue/queuetest"
	"paygate.dev/pkg/secrets"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild()) // a main backend re-executed by TestKill9..., until it is killed
	}
	storetest.Main(m)
}

var ctx = context.Background()

func ptr[T any](v T) *T { return &v }

// clock is a fake clock tests move by hand; the merchant reads it too, so signature timestamps
// stay within its 300 s window however far the test moves time.
type clock struct {
	mu   sync.Mutex
	t    time.Time
	real bool // the wall clock (tests across processes)
}

func (c *clock) Now() time.Time {
	if c.real {
		return store.Now()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}

// received is one request as the merchant got it.
type received struct {
	Header http.Header
	Body   []byte
	Code   int    // what the merchant answered
	Reject string // why it refused it ("" when the request was valid)
}

func (r received) field(name string) any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m[name]
}

// merchant is an IPN receiver that checks requests the way the WooCommerce plugin does
// (timestamp within 300 s, constant-time comparison of the hex HMAC of "<ts>.<raw body>",
// HTTP 200 only when valid) and, for v2, the envelope as the contract describes it. It applies
// each notification once: by deliveryId (v2) or by status (v1).
type merchant struct {
	t   testing.TB
	srv *httptest.Server
	now func() time.Time
	v2  bool

	mu       sync.Mutex
	secret   string
	script   []int // answers to valid requests, in order; 200 once exhausted
	requests []received
	applied  []received // the notifications that changed the order, in order
	problems []string   // protocol violations (out of order, changed body, ...)
	lastVer  map[string]float64
	bodies   map[string]string // deliveryId → body
	statuses map[string]bool   // v1: "txn/status" applied

	// hold, when set, makes the next request wait until it is closed; arrived is closed when
	// that request has arrived.
	hold    chan struct{}
	arrived chan struct{}
}

func newMerchant(t testing.TB, secret string, now func() time.Time, v2 bool) *merchant {
	m := &merchant{t: t, secret: secret, now: now, v2: v2, lastVer: map[string]float64{}, bodies: map[string]string{}, statuses: map[string]bool{}}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *merchant) URL() string { return m.srv.URL + "/wc-api/paygate_ipn" }

func (m *merchant) setSecret(s string) { m.mu.Lock(); m.secret = s; m.mu.Unlock() }

func (m *merchant) answer(codes ...int) {
	m.mu.Lock()
	m.script = append(m.script, codes...)
	m.mu.Unlock()
}

// holdNext makes the next request wait until release is called (at the latest when the test
// ends); arrived is closed when that request has arrived.
func (m *merchant) holdNext() (arrived chan struct{}, release func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	hold := make(chan struct{})
	m.hold, m.arrived = hold, make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(hold) }) }
	m.t.Cleanup(release)
	return m.arrived, release
}

func (m *merchant) snapshot() (requests, applied []received, problems []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]received(nil), m.requests...), append([]received(nil), m.applied...), append([]string(nil), m.problems...)
}

func (m *merchant) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m.mu.Lock()
	hold, arrived := m.hold, m.arrived
	m.hold, m.arrived = nil, nil
	m.mu.Unlock()
	if hold != nil {
		close(arrived)
		select {
		case <-hold:
		case <-r.Context().Done():
			// The sender gave up before we answered: nothing was accepted.
			m.mu.Lock()
			m.requests = append(m.requests, received{Header: r.Header.Clone(), Body: body, Code: 0, Reject: "sender went away"})
			m.mu.Unlock()
			return
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	rec := received{Header: r.Header.Clone(), Body: body}
	code, reject := m.check(r, body)
	if reject == "" && len(m.script) > 0 {
		code, m.script = m.script[0], m.script[1:]
	}
	rec.Code, rec.Reject = code, reject
	if reject == "" && code == http.StatusOK {
		m.apply(r, rec)
	}
	m.requests = append(m.requests, rec)
	w.WriteHeader(code)
	_, _ = fmt.Fprintf(w, `{"received":%t}`, reject == "")
}

// check verifies a request; it returns the status to answer and why it was refused.
func (m *merchant) check(r *http.Request, body []byte) (int, string) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return http.StatusBadRequest, "not a JSON POST"
	}
	ts, sig := r.Header.Get("X-Signature-Timestamp"), r.Header.Get("X-Signature-HMAC-SHA256")
	if ts == "" || sig == "" {
		return http.StatusUnauthorized, "signature headers missing"
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return http.StatusUnauthorized, "bad timestamp"
	}
	if d := m.now().Unix() - sec; d > 300 || d < -300 {
		return http.StatusUnauthorized, "timestamp outside the 300 s window"
	}
	mac := hmac.New(sha256.New, []byte(m.secret))
	mac.Write([]byte(ts + "." + string(body)))
	if !hmac.Equal([]byte(hex.EncodeToString(mac.Sum(nil))), []byte(sig)) {
		return http.StatusUnauthorized, "bad signature"
	}
	var f map[string]json.RawMessage
	if err := json.Unmarshal(body, &f); err != nil {
		return http.StatusBadRequest, "body is not a JSON object"
	}
	for _, k := range []string{"id", "externalReference", "status"} {
		if _, ok := f[k]; !ok {
			return http.StatusBadRequest, "missing " + k
		}
	}
	if !m.v2 {
		if r.Header.Get("X-IPN-Version") != "" {
			return http.StatusBadRequest, "v1 receiver got a versioned notification"
		}
		return http.StatusOK, ""
	}
	if r.Header.Get("X-IPN-Version") != "2" {
		return http.StatusBadRequest, "X-IPN-Version is not 2"
	}
	for _, k := range []string{"transactionId", "gatewayTransactionId", "paymentStatus", "disputeStatus", "chargebackStatus", "external_reference", "chargeback"} {
		if _, ok := f[k]; ok {
			return http.StatusBadRequest, "legacy key " + k
		}
	}
	var v struct {
		SchemaVersion     *int    `json:"schemaVersion"`
		DeliveryID        *string `json:"deliveryId"`
		EventVersion      *int    `json:"eventVersion"`
		OccurredAt        *string `json:"occurredAt"`
		ID                *string `json:"id"`
		ExternalReference *string `json:"externalReference"`
		Status            *int    `json:"status"`
		SessionPublicID   *string `json:"sessionPublicId"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return http.StatusBadRequest, "bad v2 field types: " + err.Error()
	}
	switch {
	case v.SchemaVersion == nil || *v.SchemaVersion != 2:
		return http.StatusBadRequest, "schemaVersion is not 2"
	case v.DeliveryID == nil || len(*v.DeliveryID) < 1 || len(*v.DeliveryID) > 128 || strings.IndexFunc(*v.DeliveryID, unicode.IsControl) >= 0:
		return http.StatusBadRequest, "bad deliveryId"
	case r.Header.Get("X-IPN-Delivery-ID") != *v.DeliveryID:
		return http.StatusBadRequest, "X-IPN-Delivery-ID differs from the body's deliveryId"
	case v.EventVersion == nil || *v.EventVersion <= 0:
		return http.StatusBadRequest, "bad eventVersion"
	case v.OccurredAt == nil:
		return http.StatusBadRequest, "no occurredAt"
	case v.ID == nil || *v.ID == "" || len(*v.ID) > 64:
		return http.StatusBadRequest, "bad id"
	case v.ExternalReference == nil || *v.ExternalReference == "" || len(*v.ExternalReference) > 64:
		return http.StatusBadRequest, "bad externalReference"
	case v.Status == nil || *v.Status < -2 || *v.Status > 4:
		return http.StatusBadRequest, "bad status"
	case v.SessionPublicID == nil || *v.SessionPublicID == "":
		return http.StatusBadRequest, "no sessionPublicId"
	}
	if _, err := time.Parse(time.RFC3339, *v.OccurredAt); err != nil {
		return http.StatusBadRequest, "occurredAt is not RFC 3339"
	}
	return http.StatusOK, ""
}

// apply changes the (imaginary) order once per notification; duplicates are acknowledged.
func (m *merchant) apply(r *http.Request, rec received) {
	id, _ := rec.field("id").(string)
	status, _ := rec.field("status").(float64)
	if !m.v2 {
		key := fmt.Sprintf("%s/%v", id, status)
		if m.statuses[key] {
			return
		}
		m.statuses[key] = true
		m.applied = append(m.applied, rec)
		return
	}
	did := r.Header.Get("X-IPN-Delivery-ID")
	if prev, ok := m.bodies[did]; ok {
		if prev != string(rec.Body) {
			m.problems = append(m.problems, "delivery "+did+" arrived again with a different body")
		}
		return
	}
	m.bodies[did] = string(rec.Body)
	ver, _ := rec.field("eventVersion").(float64)
	if ver <= m.lastVer[id] {
		m.problems = append(m.problems, fmt.Sprintf("transaction %s: eventVersion %v arrived after %v", id, ver, m.lastVer[id]))
		return
	}
	m.lastVer[id] = ver
	m.applied = append(m.applied, rec)
}

// verifies reports whether a request's signature is valid under secret.
func verifies(r received, secret string) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(r.Header.Get("X-Signature-Timestamp") + "." + string(r.Body)))
	return hmac.Equal([]byte(hex.EncodeToString(mac.Sum(nil))), []byte(r.Header.Get("X-Signature-HMAC-SHA256")))
}

// env is one main backend (notifier, worker, dispatcher) on its own database.
type env struct {
	t         *testing.T
	s         *store.Store
	svc       app.Services
	clock     *clock
	org       *domain.Organization
	admin     domain.Actor
	provider  *domain.Provider
	site      *domain.Site
	secret    string
	opts      envOptions
	masterKey []byte
	*backend  // the first main backend
}

// backend is one main-backend process as far as the database can tell: its own notifier,
// River client (with its own id) and dispatcher.
type backend struct {
	e *env
	n *ipn.Notifier
	r *queuetest.Runner
	d *ipn.Dispatcher
	m *metrics.Registry
	// stuck is how many of the database's running jobs the test keeps stuck on purpose (a
	// frozen backend's): step does not wait for them.
	stuck int
}

type envOptions struct {
	ipnVersion     int
	attemptTimeout time.Duration
	staleAfter     time.Duration
	strictGuard    bool // refuse internal targets (IPN_ALLOW_PRIVATE_TARGETS=false)
	resolver       ipn.Resolver
	transport      http.RoundTripper
	concurrency    int  // the first backend's ipn workers (default 4)
	noBackend      bool // no backend at first (newBackend starts them)
	realClock      bool
}

// each runs fn once per database, each time on a database of its own: dispatchers and workers
// take every due row of a database, so tests sharing one would take each other's work.
func each(t *testing.T, fn func(t *testing.T, d store.Dialect)) {
	t.Helper()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) { fn(t, d) })
	}
}

func newEnv(t *testing.T, d store.Dialect, o envOptions) *env {
	t.Helper()
	s := storetest.Fresh(t, d)
	// Free the connections when the test ends (storetest drops the database only when the
	// package's tests are done; dozens of idle pools would exhaust PostgreSQL's connections).
	t.Cleanup(func() { _ = s.Close() })
	_, err := s.Migrate(ctx, -1)
	require.NoError(t, err)
	mk, err := secrets.ParseKey(secrets.GenerateKey())
	require.NoError(t, err)
	keys, err := secrets.NewKeyring(mk, nil)
	require.NoError(t, err)
	c := &clock{t: store.Now(), real: o.realClock}
	e := &env{t: t, s: s, clock: c, opts: o, masterKey: mk}
	// Checkouts made through e.svc are accepted under the strict policy (IPN_ALLOW_PRIVATE_TARGETS
	// off where they are created), whatever the env's backends allow when sending.
	e.svc = app.NewServices(app.ServiceDeps{Store: s, Keys: keys, Log: logging.Discard(), Now: c.Now, IPNResolver: o.resolver,
		Hosts: config.Hosts{AdminBackendDomain: "api.example.com", MainBackendDomain: "webhook.example.com", MainFrontendDomain: "secure.example.com", Scheme: "https"}})
	e.org, err = e.svc.Tenancy.CreateOrganization(ctx, domain.SystemActor(""), tenancy.OrganizationInput{Name: ptr("Shop Ltd")})
	require.NoError(t, err)
	e.admin = domain.Actor{Type: domain.ActorUser, ID: "usr_admin", Label: "admin@example.com", OrganizationID: e.org.ID, Role: domain.RoleAdmin}
	e.provider = storetest.Provider(t, s, e.org.ID, domain.ModeTest)
	version := o.ipnVersion
	if version == 0 {
		version = 2
	}
	e.site, e.secret, err = e.svc.Tenancy.CreateSite(ctx, e.admin, e.org.ID, tenancy.SiteInput{Name: ptr("Shop"), IPNVersion: &version})
	require.NoError(t, err)
	conc := o.concurrency
	if conc == 0 {
		conc = 4
	}
	if !o.noBackend {
		e.backend = e.newBackend("backend-1", conc)
	}
	return e
}

// newBackend starts another main backend on the same database and clock, its River client
// working the ipn queue with concurrency workers (tests step it: dispatch, sweep, drain).
func (e *env) newBackend(name string, concurrency int) *backend {
	b := &backend{e: e, m: metrics.New()}
	// The merchant runs on 127.0.0.1: allowed unless the test is about the guard.
	b.n = ipn.New(ipn.Options{Store: store.PortOf[ipn.Store](e.s), Secrets: e.svc.Tenancy, Log: logging.Discard(), Metrics: b.m, Now: e.clock.Now,
		AllowPrivate: !e.opts.strictGuard, Resolver: e.opts.resolver, Transport: e.opts.transport, AttemptTimeout: e.opts.attemptTimeout,
		StaleAfter: e.opts.staleAfter})
	ws := river.NewWorkers()
	b.n.RegisterWorkers(ws)
	b.r = queuetest.Start(e.t, e.s, map[string]int{queue.IPN: concurrency}, ws, queuetest.Options{ID: name + "-" + domain.RandomString(4), Metrics: b.m})
	b.d = ipn.NewDispatcher(ipn.DispatcherOptions{Store: store.PortOf[ipn.Store](e.s), Log: logging.Discard(), Metrics: b.m, Now: e.clock.Now})
	b.d.Register("ipn", b.n.DispatchEvent)
	return b
}

// step dispatches events, sweeps and runs the jobs due now (and those they queue), until none
// is left; it returns how many job runs this backend made.
func (b *backend) step() int {
	t := b.e.t
	t.Helper()
	total := 0
	for i := 0; i < 100; i++ {
		_, err := b.d.DispatchOnce(ctx)
		require.NoError(t, err)
		_, err = b.n.Sweep(ctx)
		require.NoError(t, err)
		n := b.r.Drain(t, b.stuck)
		if n == 0 {
			return total
		}
		total += n
	}
	t.Fatal("jobs keep coming")
	return total
}

// settle steps, moving the clock to each next due attempt, until nothing is due within horizon.
func (b *backend) settle(horizon time.Duration) {
	e := b.e
	e.t.Helper()
	end := e.clock.Now().Add(horizon)
	for i := 0; i < 500; i++ {
		b.step()
		next, err := e.s.NextIPNAttemptAt(ctx, e.clock.Now())
		if domain.IsNotFound(err) {
			return
		}
		require.NoError(e.t, err)
		if next.After(end) {
			return
		}
		e.clock.Set(next)
	}
	e.t.Fatal("did not settle")
}

// checkout creates an open checkout notifying url, accepted under the env's policy (the
// merchant's loopback URL was accepted because private targets are allowed, unless strictGuard).
func (e *env) checkout(url string) *domain.Checkout {
	e.t.Helper()
	return e.checkoutUnder(!e.opts.strictGuard, url)
}

// checkoutUnder creates an open checkout notifying url, recorded as accepted with private
// targets allowed or not.
func (e *env) checkoutUnder(allowPrivate bool, url string) *domain.Checkout {
	e.t.Helper()
	c := &domain.Checkout{IPNAllowPrivate: allowPrivate,
		ID: domain.NewID(domain.PrefixCheckout), OrganizationID: e.org.ID, SiteID: e.site.ID, Mode: domain.ModeTest,
		ShortCode: domain.NewShortCode(), SessionPublicID: domain.NewSessionPublicID(), Status: domain.CheckoutOpen,
		Amount: 4990, Currency: "EUR", Email: "buyer@example.com", ExternalReference: "order-" + domain.RandomString(5),
		IPNURL: url, Origin: domain.OriginAPI, ExpiresAt: time.Now().Add(24 * time.Hour),
		Items: []domain.Item{{Name: "Thing", Quantity: 1, UnitPrice: 4990, ItemType: domain.ItemGoods}},
	}
	require.NoError(e.t, e.s.CreateCheckout(ctx, c))
	return c
}

// transaction starts a payment attempt (initiated, event version 1) on a new checkout.
func (e *env) transaction(url string) *domain.Transaction {
	e.t.Helper()
	return storetest.Transaction(e.t, e.s, e.checkout(url), e.provider)
}

func (e *env) move(txn *domain.Transaction, to domain.TransactionStatus) {
	e.t.Helper()
	_, err := e.s.TransitionTransaction(ctx, domain.Transition{OrganizationID: txn.OrganizationID, TransactionID: txn.ID, To: to})
	require.NoError(e.t, err)
}

func (e *env) deliveries(txn *domain.Transaction) []ipn.Delivery {
	e.t.Helper()
	out, err := e.n.ListDeliveries(ctx, e.admin, e.org.ID, txn.ID)
	require.NoError(e.t, err)
	return out
}

func (e *env) attempts(txn *domain.Transaction) []ipn.Attempt {
	e.t.Helper()
	out, err := e.n.ListAttempts(ctx, e.admin, e.org.ID, txn.ID)
	require.NoError(e.t, err)
	return out
}

func (e *env) metric(name string) float64 {
	e.t.Helper()
	got, err := e.m.Gather()
	require.NoError(e.t, err)
	return got[name]
}

func statuses(rs []received) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i], _ = r.field("status").(float64)
	}
	return out
}

// port is the merchant server's TCP port.
func (m *merchant) port() string { return strconv.Itoa(m.srv.Listener.Addr().(*net.TCPAddr).Port) }

func platformSiteVersion(v int) tenancy.SiteInput { return tenancy.SiteInput{IPNVersion: &v} }

func platformOrg(name string) tenancy.OrganizationInput {
	return tenancy.OrganizationInput{Name: &name}
}
