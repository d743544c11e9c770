package mollieapi_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/mollieapi"
	"paygate.dev/pkg/mollieapi/molliefake"
)

var ctx = context.Background()

type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func client(t *testing.T, f *molliefake.Server, key string) (*mollieapi.Client, *sleeps) {
	t.Helper()
	s := &sleeps{}
	c, err := mollieapi.New(mollieapi.Config{APIKey: key, BaseURL: f.URL(), Sleep: s.sleep})
	require.NoError(t, err)
	return c, s
}

func eur(t *testing.T, minor int64) mollieapi.Amount {
	t.Helper()
	a, err := mollieapi.AmountOf(minor, "EUR")
	require.NoError(t, err)
	return a
}

func create(t *testing.T, c *mollieapi.Client, minor int64, key string) *mollieapi.Payment {
	t.Helper()
	p, err := c.CreatePayment(ctx, mollieapi.PaymentCreate{Amount: eur(t, minor), Description: "Order 1", RedirectURL: "https://shop.example/back",
		WebhookURL: "https://hooks.example/mollie", Metadata: map[string]string{"transaction_id": "txn_1"}}, key)
	require.NoError(t, err)
	return p
}

func TestNewChecksTheKey(t *testing.T) {
	for _, k := range []string{"", "sk_test_x", "test_", "test_abc\n", "LIVE_abc"} {
		_, err := mollieapi.New(mollieapi.Config{APIKey: k})
		require.ErrorIs(t, err, mollieapi.ErrInvalidConfig, k)
	}
	c, err := mollieapi.New(mollieapi.Config{APIKey: "live_abc"})
	require.NoError(t, err)
	require.Equal(t, mollieapi.ModeLive, c.Mode())
	_, err = mollieapi.New(mollieapi.Config{APIKey: "test_abc", BaseURL: "ftp://x"})
	require.ErrorIs(t, err, mollieapi.ErrInvalidConfig)
}

func TestAmountsAreExactPerCurrency(t *testing.T) {
	for _, tc := range []struct {
		minor int64
		cur   string
		want  string
	}{{1050, "EUR", "10.50"}, {5, "EUR", "0.05"}, {1050, "JPY", "1050"}, {1050, "ISK", "1050"}, {1, "USD", "0.01"}} {
		a, err := mollieapi.AmountOf(tc.minor, tc.cur)
		require.NoError(t, err)
		require.Equal(t, tc.want, a.Value, tc.cur)
		back, err := a.Minor()
		require.NoError(t, err)
		require.Equal(t, tc.minor, back)
	}
	_, err := mollieapi.AmountOf(1, "XXQ")
	require.Error(t, err)
	_, err = mollieapi.Amount{Currency: "EUR", Value: "10.505"}.Minor()
	require.Error(t, err, "more decimals than the currency has")
}

func TestPaymentsCreateGetCancel(t *testing.T) {
	f := molliefake.New(t)
	c, _ := client(t, f, f.TestKey())
	p := create(t, c, 1999, "k1")
	require.Equal(t, mollieapi.PaymentOpen, p.Status)
	require.Equal(t, "test", p.Mode)
	require.Equal(t, mollieapi.Amount{Currency: "EUR", Value: "19.99"}, p.Amount)
	require.Equal(t, f.URL()+"/checkout/"+p.ID, p.CheckoutURL())
	require.Equal(t, "txn_1", p.Metadata["transaction_id"])

	got, err := c.GetPayment(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, p.ID, got.ID)
	require.True(t, got.IsCancelable)

	cancelled, err := c.CancelPayment(ctx, p.ID, "cancel-1")
	require.NoError(t, err)
	require.Equal(t, mollieapi.PaymentCanceled, cancelled.Status)
	_, err = c.CancelPayment(ctx, p.ID, "cancel-2")
	var ae *mollieapi.APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, http.StatusUnprocessableEntity, ae.StatusCode)
	require.True(t, mollieapi.IsUnprocessable(err))
}

func TestIdempotencyKeyReturnsTheSamePayment(t *testing.T) {
	f := molliefake.New(t)
	c, _ := client(t, f, f.TestKey())
	a, b := create(t, c, 500, "same-key"), create(t, c, 500, "same-key")
	require.Equal(t, a.ID, b.ID)
	require.Equal(t, 2, f.Requests("POST /v2/payments"))
	_, err := c.CreatePayment(ctx, mollieapi.PaymentCreate{Amount: eur(t, 600), Description: "Order 1", RedirectURL: "https://shop.example/back"}, "same-key")
	require.True(t, mollieapi.IsUnprocessable(err), "the key with a different request: %v", err)
}

func TestRetriesOn5xxAnd429WithTheSameKey(t *testing.T) {
	f := molliefake.New(t)
	c, s := client(t, f, f.TestKey())
	f.FailNext(http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusBadGateway)
	p := create(t, c, 700, "retry-key")
	require.Equal(t, 4, f.Requests("POST /v2/payments"))
	require.Len(t, s.d, 3)
	require.Equal(t, time.Second, s.d[1], "429 waits Retry-After")
	again := create(t, c, 700, "retry-key")
	require.Equal(t, p.ID, again.ID, "the retried creation made one payment")

	f.FailNext(500, 500, 500, 500)
	_, err := c.GetPayment(ctx, p.ID)
	var ae *mollieapi.APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, 500, ae.StatusCode)
	require.Contains(t, err.Error(), "giving up after 4 attempts")
}

func TestTypedErrors(t *testing.T) {
	f := molliefake.New(t)
	c, _ := client(t, f, f.TestKey())
	_, err := c.GetPayment(ctx, "tr_nothere")
	require.True(t, mollieapi.IsNotFound(err), "%v", err)

	bad, err := mollieapi.New(mollieapi.Config{APIKey: "test_wrongwrongwrongwrongwrongwr", BaseURL: f.URL()})
	require.NoError(t, err)
	_, err = bad.ListMethods(ctx, nil)
	require.True(t, mollieapi.IsUnauthorized(err), "%v", err)

	// The fake insists on exact decimals; the client never sends anything else.
	_, err = c.CreatePayment(ctx, mollieapi.PaymentCreate{Amount: mollieapi.Amount{Currency: "EUR", Value: "1.5"}, Description: "x", RedirectURL: "https://a.example/"}, "")
	var ve *mollieapi.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, 0, f.Requests("POST /v2/payments"))

	_, err = c.CreatePayment(ctx, mollieapi.PaymentCreate{Amount: eur(t, 100), Description: "x", RedirectURL: "not a url"}, "")
	var ae *mollieapi.APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "redirectUrl", ae.Field)
	require.Equal(t, "Unprocessable Entity", ae.Title)
	require.NotEmpty(t, ae.DocumentationURL)
	require.False(t, errors.Is(err, mollieapi.ErrInvalidConfig))
}

func TestAKeyOfTheOtherModeSeesNothing(t *testing.T) {
	f := molliefake.New(t)
	c, _ := client(t, f, f.TestKey())
	live, _ := client(t, f, f.LiveKey())
	p := create(t, c, 100, "")
	_, err := live.GetPayment(ctx, p.ID)
	require.True(t, mollieapi.IsNotFound(err))
}

func TestRefundsChargebacksAndMethods(t *testing.T) {
	f := molliefake.New(t)
	f.HoldWebhooks(true)
	c, _ := client(t, f, f.TestKey())
	p := create(t, c, 1000, "")
	_, err := c.CreateRefund(ctx, p.ID, mollieapi.RefundCreate{Amount: eur(t, 100)}, "r0")
	require.True(t, mollieapi.IsUnprocessable(err), "an open payment cannot be refunded")
	require.NoError(t, f.SetStatus(ctx, p.ID, "paid"))

	r1, err := c.CreateRefund(ctx, p.ID, mollieapi.RefundCreate{Amount: eur(t, 300), Metadata: map[string]string{"refund_id": "ref_1"}}, "r1")
	require.NoError(t, err)
	require.Equal(t, mollieapi.RefundPending, r1.Status)
	again, err := c.CreateRefund(ctx, p.ID, mollieapi.RefundCreate{Amount: eur(t, 300), Metadata: map[string]string{"refund_id": "ref_1"}}, "r1")
	require.NoError(t, err)
	require.Equal(t, r1.ID, again.ID)
	_, err = c.CreateRefund(ctx, p.ID, mollieapi.RefundCreate{Amount: eur(t, 701)}, "r2")
	require.True(t, mollieapi.IsUnprocessable(err), "more than remains")
	require.NoError(t, f.SettleRefunds(ctx, p.ID))

	rfs, err := c.ListRefunds(ctx, p.ID)
	require.NoError(t, err)
	require.Len(t, rfs, 1)
	require.Equal(t, mollieapi.RefundRefunded, rfs[0].Status)
	require.Equal(t, "ref_1", rfs[0].Metadata["refund_id"])

	_, err = f.Chargeback(ctx, p.ID, 700)
	require.NoError(t, err)
	got, err := c.GetPayment(ctx, p.ID)
	require.NoError(t, err)
	cb, err := mollieapi.MinorOf(got.AmountChargedBack)
	require.NoError(t, err)
	require.EqualValues(t, 700, cb)
	cbs, err := c.ListChargebacks(ctx, p.ID)
	require.NoError(t, err)
	require.Len(t, cbs, 1)
	require.Nil(t, cbs[0].ReversedAt)

	ms, err := c.ListMethods(ctx, nil)
	require.NoError(t, err)
	require.NotEmpty(t, ms)
}
