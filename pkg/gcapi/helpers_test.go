package gcapi_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/gcapi"
	"paygate.dev/pkg/gcapi/gcfake"
)

// t0 is a whole second so RateLimit-Reset (second precision) lands exactly 2s ahead.
var t0 = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return t0 }

// sleepRecorder stands in for time.Sleep: it records each wait and returns at once.
type sleepRecorder struct {
	mu     sync.Mutex
	waits  []time.Duration
	onCall func(n int) // optional hook, called with the 1-based call number
}

func (s *sleepRecorder) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	n, hook := len(s.waits), s.onCall
	s.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	return ctx.Err()
}

func (s *sleepRecorder) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// newFake starts a fake on the fixed clock.
func newFake(t *testing.T, opts ...gcfake.Option) *gcfake.Server {
	t.Helper()
	return gcfake.New(t, append([]gcfake.Option{gcfake.WithClock(fixedClock)}, opts...)...)
}

// newClient returns a sandbox client for gc whose sleeps are recorded, not slept.
func newClient(t *testing.T, gc *gcfake.Server, mods ...func(*gcapi.Config)) (*gcapi.Client, *sleepRecorder) {
	t.Helper()
	rec := &sleepRecorder{}
	cfg := gcapi.Config{
		AccessToken: gc.AccessToken(),
		Environment: gcapi.EnvironmentSandbox,
		BaseURL:     gc.URL(),
		Sleep:       rec.Sleep,
		Now:         fixedClock,
		Timeout:     5 * time.Second,
	}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := gcapi.New(cfg)
	require.NoError(t, err)
	return c, rec
}

func gbpPayment(amount int64) gcapi.BillingRequestCreate {
	return gcapi.BillingRequestCreate{
		PaymentRequest: &gcapi.PaymentRequestCreate{
			Amount: amount, Currency: "GBP", Description: "Order 42",
			Metadata: map[string]string{"transaction_id": "txn_42"},
		},
		Metadata: map[string]string{"site": "shop-1"},
	}
}

// paidPayment walks a billing request to a confirmed payment and returns the payment id.
func paidPayment(t *testing.T, gc *gcfake.Server, c *gcapi.Client, amount int64) string {
	t.Helper()
	ctx := context.Background()
	br, err := c.CreateBillingRequest(ctx, gbpPayment(amount), "")
	require.NoError(t, err)
	require.NoError(t, gc.Simulate(ctx, gcfake.ScenarioBillingRequestFulfilled, br.ID))
	br, err = c.GetBillingRequest(ctx, br.ID)
	require.NoError(t, err)
	require.NoError(t, gc.Simulate(ctx, gcfake.ScenarioPaymentConfirmed, br.Links.PaymentRequestPayment))
	return br.Links.PaymentRequestPayment
}

// noRedirects is an HTTP client that lets tests see the fake's redirects.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func postsTo(gc *gcfake.Server, path string) []gcfake.Request {
	return gc.RequestsTo(http.MethodPost, path)
}
