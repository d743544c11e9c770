package stripemock

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	stripego "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

// Overlay is a proxy in front of stripe-mock. Every request goes to stripe-mock; a test can
// mark a PaymentIntent as paid (or failed), which stripe-mock — being stateless — cannot, and
// the overlay then reports that status when the PaymentIntent is retrieved. It also builds
// signed webhook events as Stripe sends them.
type Overlay struct {
	URL string

	mu     sync.Mutex
	status map[string]paid
}

type paid struct {
	status   string
	chargeID string
	amount   int64
	currency string
}

// StartOverlay runs stripe-mock and the overlay for the test.
func StartOverlay(t testing.TB) *Overlay {
	t.Helper()
	target, _ := url.Parse(Start(t))
	o := &Overlay{status: map[string]paid{}}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = o.modify
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	o.URL = srv.URL
	return o
}

// SetPaymentIntent makes retrievals of PaymentIntent id answer with status (e.g. "succeeded",
// "requires_payment_method" after a decline, "processing"), its latest charge, amount and currency.
func (o *Overlay) SetPaymentIntent(id, status, chargeID string, amount int64, currency string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.status[id] = paid{status: status, chargeID: chargeID, amount: amount, currency: strings.ToLower(currency)}
}

func (o *Overlay) modify(res *http.Response) error {
	req := res.Request
	if req.Method != http.MethodGet || !strings.HasPrefix(req.URL.Path, "/v1/payment_intents/") || res.StatusCode != http.StatusOK {
		return nil
	}
	id := strings.TrimPrefix(req.URL.Path, "/v1/payment_intents/")
	o.mu.Lock()
	p, ok := o.status[id]
	o.mu.Unlock()
	if !ok {
		return nil
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	var pi map[string]any
	if err := json.Unmarshal(body, &pi); err != nil {
		return err
	}
	pi["status"], pi["latest_charge"], pi["amount"], pi["currency"] = p.status, p.chargeID, p.amount, p.currency
	pi["last_payment_error"] = nil
	if p.status == "requires_payment_method" {
		pi["last_payment_error"] = map[string]any{"code": "card_declined", "decline_code": "insufficient_funds", "message": "Your card has insufficient funds."}
	}
	out, _ := json.Marshal(pi)
	res.Body = io.NopCloser(bytes.NewReader(out))
	res.ContentLength = int64(len(out))
	res.Header.Set("Content-Length", strconv.Itoa(len(out)))
	return nil
}

// Event builds a Stripe event JSON of type with data.object obj.
func Event(id, typ string, obj map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"id": id, "object": "event", "type": typ, "api_version": stripego.APIVersion,
		"created": 1700000000, "livemode": false, "data": map[string]any{"object": obj}})
	return b
}

// Sign returns the Stripe-Signature header of payload for secret, at the current time
// (or at unix seconds ts when ts is not 0).
func Sign(payload []byte, secret string, ts int64) string {
	u := &webhook.UnsignedPayload{Payload: payload, Secret: secret}
	if ts != 0 {
		u.Timestamp = timeUnix(ts)
	}
	return webhook.GenerateTestSignedPayload(u).Header
}
