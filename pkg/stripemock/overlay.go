package stripemock

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"math/big"
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
//
// Like Stripe (and unlike stripe-mock, whose fixture secret is the same for every
// PaymentIntent), a PaymentIntent's client_secret is "{id}_secret_{random}": the overlay
// rewrites it in every PaymentIntent it returns, and remembers the amount and currency each
// PaymentIntent was created with, so that a retrieval answers with them too.
type Overlay struct {
	URL string

	mu      sync.Mutex
	status  map[string]paid
	created map[string]PaymentIntent
	// retrieved lists the ids of the PaymentIntents retrieved (GET /v1/payment_intents/{id}), in order.
	retrieved []string
}

type paid struct {
	status   string
	chargeID string
	amount   int64
	currency string
	err      *PaymentError
}

// PaymentIntent is what the overlay knows of a PaymentIntent created through it.
type PaymentIntent struct {
	ID           string
	ClientSecret string
	Amount       int64
	Currency     string // lower case, as Stripe writes it
	// Status is the status set with SetPaymentIntent or FailPaymentIntent, else
	// "requires_payment_method" (a new PaymentIntent).
	Status string
}

// PaymentError is the last_payment_error of a PaymentIntent whose payment attempt failed.
type PaymentError struct {
	Code        string // e.g. card_declined, payment_intent_authentication_failure
	DeclineCode string // e.g. generic_decline; may be empty
	Message     string // what Stripe tells the buyer
}

// StartOverlay runs stripe-mock and the overlay for the test.
func StartOverlay(t testing.TB) *Overlay {
	t.Helper()
	target, _ := url.Parse(Start(t))
	o := &Overlay{status: map[string]paid{}, created: map[string]PaymentIntent{}}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = o.modify
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	o.URL = srv.URL
	return o
}

// SetPaymentIntent makes retrievals of PaymentIntent id answer with status (e.g. "succeeded",
// "processing", "requires_payment_method" with no attempt made), its latest charge, amount and
// currency, and no last_payment_error (FailPaymentIntent reports a decline).
func (o *Overlay) SetPaymentIntent(id, status, chargeID string, amount int64, currency string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.status[id] = paid{status: status, chargeID: chargeID, amount: amount, currency: strings.ToLower(currency)}
}

// FailPaymentIntent makes retrievals of PaymentIntent id answer as Stripe does after a failed
// payment attempt: requires_payment_method with e as last_payment_error. The amount and
// currency are those it was created with.
func (o *Overlay) FailPaymentIntent(id string, e PaymentError) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.created[id]
	o.status[id] = paid{status: "requires_payment_method", amount: c.Amount, currency: c.Currency, err: &e}
}

// Retrieved returns the ids of the PaymentIntents retrieved so far, in order (one per GET
// /v1/payment_intents/{id}): who asked Stripe about what.
func (o *Overlay) Retrieved() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.retrieved...)
}

// PaymentIntent returns what the overlay knows of a PaymentIntent created through it.
func (o *Overlay) PaymentIntent(id string) (PaymentIntent, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	pi, ok := o.created[id]
	if !ok {
		return PaymentIntent{}, false
	}
	pi.Status = "requires_payment_method"
	if p, ok := o.status[id]; ok {
		pi.Status = p.status
	}
	return pi, true
}

// ClientSecret is the client secret the overlay gives PaymentIntent id: "{id}_secret_" and 24
// characters derived from the id, so that every answer about the PaymentIntent carries the same.
func ClientSecret(id string) string {
	sum := sha256.Sum256([]byte("paygate-stripemock:" + id))
	s := new(big.Int).SetBytes(sum[:]).Text(62)
	return id + "_secret_" + s[:24]
}

func (o *Overlay) modify(res *http.Response) error {
	req := res.Request
	if !strings.HasPrefix(req.URL.Path, "/v1/payment_intents") || res.StatusCode != http.StatusOK {
		return nil
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	out, err := o.rewrite(req, body)
	if err != nil {
		return err
	}
	res.Body = io.NopCloser(bytes.NewReader(out))
	res.ContentLength = int64(len(out))
	res.Header.Set("Content-Length", strconv.Itoa(len(out)))
	return nil
}

// rewrite gives a PaymentIntent answer its own client secret, remembers a new PaymentIntent,
// and applies what the test set for it to a retrieval. Other answers pass unchanged.
func (o *Overlay) rewrite(req *http.Request, body []byte) ([]byte, error) {
	var pi map[string]any
	if err := json.Unmarshal(body, &pi); err != nil || pi["object"] != "payment_intent" {
		return body, nil //nolint:nilerr // not a PaymentIntent (a list, an error): leave it
	}
	id, _ := pi["id"].(string)
	if id == "" {
		return body, nil
	}
	pi["client_secret"] = ClientSecret(id)
	o.mu.Lock()
	if req.Method == http.MethodPost && req.URL.Path == "/v1/payment_intents" {
		amount, _ := pi["amount"].(float64)
		currency, _ := pi["currency"].(string)
		o.created[id] = PaymentIntent{ID: id, ClientSecret: ClientSecret(id), Amount: int64(amount), Currency: strings.ToLower(currency)}
	}
	c, known := o.created[id]
	p, set := o.status[id]
	if req.Method == http.MethodGet && req.URL.Path == "/v1/payment_intents/"+id {
		o.retrieved = append(o.retrieved, id)
	}
	o.mu.Unlock()
	if req.Method == http.MethodGet && req.URL.Path == "/v1/payment_intents/"+id {
		if known {
			pi["amount"], pi["currency"] = c.Amount, c.Currency
		}
		if set {
			pi["status"], pi["amount"], pi["currency"] = p.status, p.amount, p.currency
			pi["latest_charge"] = nil
			if p.chargeID != "" {
				pi["latest_charge"] = p.chargeID
			}
			pi["last_payment_error"] = nil
			// Like Stripe, only a failed attempt leaves a last_payment_error: a PaymentIntent
			// set to requires_payment_method is one nobody has tried to pay yet.
			if p.err != nil {
				e := map[string]any{"type": "card_error", "code": p.err.Code, "message": p.err.Message}
				if p.err.DeclineCode != "" {
					e["decline_code"] = p.err.DeclineCode
				}
				pi["last_payment_error"] = e
			}
		}
	}
	return json.Marshal(pi)
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
