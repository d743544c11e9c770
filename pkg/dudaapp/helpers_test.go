package dudaapp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/duda"
	"paygate.dev/pkg/duda/dudafake"
	dudauc "paygate.dev/pkg/integration/duda"
	"paygate.dev/pkg/integration/duda/dudastore"
	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/payment"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/queue/queuetest"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var ctx = context.Background()

// world is a tenant whose site is connected to a fake Duda: the services run as the binaries
// run them (the Duda endpoints on the main backend), while the outbox and the job queue are
// driven step by step by the test (confirmations retry at once here).
type world struct {
	t      *testing.T
	s      *store.Store
	env    *apptest.Env
	tn     *apptest.Tenant
	live   *domain.Provider
	fake   *dudafake.Server
	ipns   *ipnSink
	conn   map[string]any // the connection as the Admin API shows it
	connID string

	jobs *queuetest.Runner
	disp *ipn.Dispatcher
}

func newWorld(t *testing.T, s *store.Store, opts ...dudafake.Option) *world {
	t.Helper()
	fake := dudafake.New(t, opts...)
	env := apptest.Start(t, s, apptest.Options{NoFrontend: true, MainBackend: func(c *config.MainBackend) {
		c.DudaAPIOrigins = []string{fake.URL()}
	}})
	w := &world{t: t, s: s, env: env, tn: env.NewTenant(t), fake: fake, ipns: newIPNSink(t)}
	svc := env.Services()
	name := "Bank transfer (live)"
	live, err := svc.Tenancy.CreateProvider(ctx, w.tn.Admin, w.tn.Org.ID, tenancy.ProviderInput{Type: "wire_transfer", Mode: "live", Name: &name,
		Settings: map[string]string{"bankName": "Live Bank", "accountHolder": "Shop GmbH", "iban": "DE89 3704 0044 0532 0130 00"}})
	require.NoError(t, err)
	w.live = live
	ids := []string{w.tn.Provider.ID, live.ID}
	_, err = svc.Tenancy.UpdateSite(ctx, w.tn.Admin, w.tn.Org.ID, w.tn.Site.ID, tenancy.SiteInput{ProviderIDs: &ids, DefaultProviderID: &w.tn.Provider.ID})
	require.NoError(t, err)

	creds := fake.Creds()
	res := apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/duda/connections", w.tn.LiveKey, map[string]any{
		"siteId": w.tn.Site.ID, "appUuid": creds.AppUUID, "appUser": creds.AppUser, "appPassword": creds.AppPassword,
		"appSecret": creds.AppSecret, "ipnUrl": w.ipns.srv.URL + "/ipn",
	})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	w.conn = res.JSON(t)
	w.connID = w.conn["id"].(string)

	// The test's own River client and dispatcher, with the integration's hook and job kinds.
	// Retries wait an hour: each step (runJobs) makes them due, so a failing call is made
	// once per step.
	uc := dudauc.New(dudauc.Options{Store: dudastore.New(s), Connections: env.Main.Services.DudaConn, Payments: env.Main.Services.Payment, Log: logging.Discard(), APIOrigins: []string{fake.URL()},
		ConfirmBackoff: func(int) time.Duration { return time.Hour }, GatewayBackoff: func(int) time.Duration { return time.Hour }})
	ws := river.NewWorkers()
	uc.RegisterWorkers(ws)
	env.Main.Notifier.RegisterWorkers(ws)
	w.jobs = queuetest.Stepper(t, s, map[string]int{queue.Duda: 4, queue.IPN: 4}, ws, queuetest.Options{})
	w.disp = ipn.NewDispatcher(ipn.DispatcherOptions{Store: store.PortOf[ipn.Store](s), Log: logging.Discard()})
	w.disp.Register("ipn", env.Main.Notifier.DispatchEvent)
	w.disp.Register("duda", dudastore.Hook(uc))
	// Tests share the database: leave nothing behind for the next one's worker.
	t.Cleanup(func() {
		org := w.tn.Org.ID
		_ = s.ExecAdmin(context.Background(), "UPDATE river_job SET state = 'cancelled', finalized_at = CURRENT_TIMESTAMP WHERE args ->> 'organizationId' = '"+
			org+"' AND state IN ('available', 'pending', 'retryable', 'scheduled')")
		_ = s.ExecAdmin(context.Background(), "UPDATE events SET dispatched_at = created_at WHERE organization_id = '"+org+"' AND dispatched_at IS NULL")
	})
	return w
}

// dudaSite is a Duda site as the Admin API shows it on the connection.
func (w *world) dudaSite(name string) map[string]any {
	w.t.Helper()
	res := apptest.Do(w.t, http.MethodGet, w.env.AdminURL+"/api/v1/duda/connections/"+w.connID, w.tn.TestKey, nil)
	require.Equal(w.t, http.StatusOK, res.Status, string(res.Body))
	for _, v := range res.JSON(w.t)["sites"].([]any) {
		if site := v.(map[string]any); site["siteName"] == name {
			return site
		}
	}
	w.t.Fatalf("Duda site %q is not listed", name)
	return nil
}

// url is one of the connection's main-backend URLs.
func (w *world) url(path string) string { return w.env.MainURL + "/duda/" + w.connID + path }

// dispatch hands the outbox to the hooks until it is empty.
func (w *world) dispatch() {
	w.t.Helper()
	for i := 0; i < 20; i++ {
		n, err := w.disp.DispatchOnce(ctx)
		require.NoError(w.t, err)
		if n == 0 {
			return
		}
	}
	w.t.Fatal("the outbox does not drain")
}

// runJobs makes the waiting jobs due, runs them (and the jobs they queue) and says how many
// runs there were.
func (w *world) runJobs() int {
	w.t.Helper()
	return w.jobs.Step(w.t)
}

// settle dispatches and runs jobs until nothing is left to do.
func (w *world) settle() {
	w.t.Helper()
	for i := 0; i < 30; i++ {
		w.dispatch()
		if w.runJobs() == 0 {
			return
		}
	}
	w.t.Fatal("the jobs do not settle")
}

// send makes a request Duda would make.
func send(t *testing.T, req *http.Request) *apptest.Response {
	t.Helper()
	res, err := noRedirects.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return &apptest.Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

var noRedirects = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// install installs the app on a new Duda site, as Duda does.
func (w *world) install(site string) duda.InstallPayload {
	w.t.Helper()
	p := w.fake.AddSite(site)
	res := send(w.t, w.fake.SignedLifecycleRequest(http.MethodPost, w.url("/lifecycle/install"), p))
	require.Equal(w.t, http.StatusOK, res.Status, string(res.Body))
	return p
}

// methods POSTs Duda's payment-methods request and returns the buttons.
func (w *world) methods(mode string, req duda.PaymentMethodsRequest) []duda.PaymentMethod {
	w.t.Helper()
	res := send(w.t, w.fake.PaymentMethodsRequest(w.url("/payment-methods/"+mode), req))
	require.Equal(w.t, http.StatusOK, res.Status, string(res.Body))
	var out []duda.PaymentMethod
	require.NoError(w.t, json.Unmarshal(res.Body, &out), string(res.Body))
	require.NotNil(w.t, out, "a JSON array, never null")
	return out
}

// arrive sends the shopper to our checkout_url for a session and returns the answer.
func (w *world) arrive(site, sessionID string) *apptest.Response {
	w.t.Helper()
	return apptest.Do(w.t, http.MethodGet, dudafake.CheckoutRedirectURL(w.url("/checkout?provider="+w.tn.Provider.ID), sessionID, site), "", nil)
}

// checkoutFor arrives and follows the redirect to the checkout it names.
func (w *world) checkoutFor(site, sessionID string) *domain.Checkout {
	w.t.Helper()
	res := w.arrive(site, sessionID)
	require.Equal(w.t, http.StatusFound, res.Status, string(res.Body))
	loc, err := url.Parse(res.Header.Get("Location"))
	require.NoError(w.t, err)
	require.Equal(w.t, w.env.Hosts.MainFrontendDomain, loc.Host, "the hosted page")
	c, err := w.s.GetCheckoutByOrigin(ctx, w.tn.Org.ID, domain.OriginDuda, sessionID)
	require.NoError(w.t, err)
	require.Equal(w.t, w.env.Hosts.PaymentURL(c.ShortCode)+"?provider="+w.tn.Provider.ID, res.Header.Get("Location"), "the hosted page, told the method the shopper picked")
	return c
}

// payByWire starts a bank transfer for the checkout, as the hosted page does.
func (w *world) payByWire(c *domain.Checkout, p *domain.Provider) *domain.Transaction {
	w.t.Helper()
	st, err := w.env.Main.Services.Payment.StartTransaction(ctx, payment.StartInput{SessionPublicID: c.SessionPublicID, ProviderID: p.ID,
		Buyer: payment.Buyer{BillingDetails: domain.BillingDetails{Name: "Jane Doe", Country: "DE"}}})
	require.NoError(w.t, err)
	require.Equal(w.t, domain.TxnPendingProvider, st.Transaction.Status)
	return st.Transaction
}

// markPaid is the operator recording the transfer.
func (w *world) markPaid(txnID string) {
	w.t.Helper()
	_, err := w.env.Services().Payment.MarkPaid(ctx, w.tn.Admin, w.tn.Org.ID, txnID, "bank statement")
	require.NoError(w.t, err)
}

// ipnSink is a merchant's notification endpoint that accepts everything.
type ipnSink struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
}

func newIPNSink(t *testing.T) *ipnSink {
	s := &ipnSink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		s.mu.Lock()
		s.bodies = append(s.bodies, m)
		s.mu.Unlock()
		rw.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *ipnSink) statuses() []float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []float64
	for _, b := range s.bodies {
		if v, ok := b["status"].(float64); ok {
			out = append(out, v)
		}
	}
	return out
}
