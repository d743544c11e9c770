// Package molliefake is a loopback stand-in for Mollie's API (v2), written from Mollie's public
// documentation and independent of paygate.dev/pkg/mollieapi (it shares no types with the
// client): payments (create, get, cancel), refunds (create, list), chargebacks (list),
// methods (list), HAL JSON answers, application/hal+json errors {"status","title","detail",
// "field"}, Bearer test_/live_ keys (a payment is visible only to keys of its mode),
// Idempotency-Key on POST and DELETE, and amounts as strings with exactly the currency's
// decimals. It also serves the hosted checkout (/checkout/{id}: pay, fail, cancel, expire),
// which sends the buyer to the payment's redirectUrl and calls its webhookUrl the way Mollie
// does: a form-encoded POST of id=tr_... with no signature.
//
// Scenario switches: SetStatus (paid, failed, expired, canceled ...), Chargeback and
// ReverseChargeback, FailRefunds and SettleRefunds, FailNext (429 or 5xx answers), HoldWebhooks
// with Webhook (send a call again, duplicated or out of order).
package molliefake

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// decimals of the currencies Mollie accepts (its documented list; the fake's own table).
var decimals = map[string]int{"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2,
	"HUF": 2, "RON": 2, "BGN": 2, "AUD": 2, "CAD": 2, "HKD": 2, "NZD": 2, "PHP": 2, "SGD": 2, "ZAR": 2, "MXN": 2, "ILS": 2,
	"TWD": 2, "THB": 2, "MYR": 2, "BRL": 2, "ISK": 0, "JPY": 0}

// Amount is Mollie's amount.
type Amount struct {
	Currency string `json:"currency"`
	Value    string `json:"value"`
}

// Payment is the fake's state of one payment.
type Payment struct {
	ID, Mode, Description, RedirectURL, CancelURL, WebhookURL, Locale, Method string
	Status                                                                    string
	Currency                                                                  string
	Value, Refunded, ChargedBack                                              int64 // minor units
	Metadata                                                                  json.RawMessage
	CreatedAt                                                                 time.Time
	PaidAt, CanceledAt, ExpiredAt, FailedAt                                   *time.Time
	Refunds                                                                   []*Refund
	Chargebacks                                                               []*Chargeback
}

// Refund is the fake's state of one refund.
type Refund struct {
	ID, Status, Description string
	Value                   int64
	Metadata                json.RawMessage
	CreatedAt               time.Time
}

// Chargeback is the fake's state of one chargeback.
type Chargeback struct {
	ID         string
	Value      int64
	CreatedAt  time.Time
	ReversedAt *time.Time
}

// Server is the fake Mollie.
type Server struct {
	srv      *httptest.Server
	testKey  string
	liveKey  string
	mu       sync.Mutex
	payments map[string]*Payment
	order    []string
	idem     map[string]idemAnswer
	failNext []int
	// Switches.
	failRefunds, holdWebhooks bool
	requests                  map[string]int
	hooks                     *http.Client
}

type idemAnswer struct {
	fingerprint string
	status      int
	body        []byte
}

// New starts a fake on loopback, closed when the test ends.
func New(t testing.TB) *Server {
	f := &Server{testKey: "test_" + randomID(30), liveKey: "live_" + randomID(30), payments: map[string]*Payment{}, idem: map[string]idemAnswer{},
		requests: map[string]int{}, hooks: &http.Client{Timeout: 10 * time.Second}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the API base (give it to the client as its base URL).
func (f *Server) URL() string { return f.srv.URL }

// TestKey and LiveKey are the API keys the fake accepts.
func (f *Server) TestKey() string { return f.testKey }

// LiveKey is the live-mode key.
func (f *Server) LiveKey() string { return f.liveKey }

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomID(n int) string {
	b := make([]byte, n)
	for i := range b {
		x, _ := rand.Int(rand.Reader, big.NewInt(int64(len(idAlphabet))))
		b[i] = idAlphabet[x.Int64()]
	}
	return string(b)
}

// FailNext makes the next API requests answer these statuses (429 with Retry-After: 1, or
// 5xx) before anything is done.
func (f *Server) FailNext(statuses ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext = append(f.failNext, statuses...)
}

// Requests counts the API requests by "METHOD /path-pattern" (e.g. "POST /v2/payments").
func (f *Server) Requests(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[key]
}

// FailRefunds makes refunds created from now on fail when settled.
func (f *Server) FailRefunds(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failRefunds = on
}

// HoldWebhooks stops the fake from calling webhooks by itself (tests then call Webhook).
func (f *Server) HoldWebhooks(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.holdWebhooks = on
}

// Payment returns a copy of a payment's state.
func (f *Server) Payment(id string) (Payment, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.payments[id]
	if !ok {
		return Payment{}, false
	}
	return *p, true
}

// LastPayment is the payment created last ("" when none).
func (f *Server) LastPayment() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.order) == 0 {
		return ""
	}
	return f.order[len(f.order)-1]
}

// SetStatus moves a payment to a status (paid, failed, expired, canceled, pending,
// authorized, open) and calls its webhook unless webhooks are held.
func (f *Server) SetStatus(ctx context.Context, id, status string) error {
	f.mu.Lock()
	p, ok := f.payments[id]
	if !ok {
		f.mu.Unlock()
		return fmt.Errorf("molliefake: no payment %s", id)
	}
	now := time.Now().UTC()
	p.Status = status
	switch status {
	case "paid":
		p.PaidAt, p.Method = &now, "ideal"
	case "failed":
		p.FailedAt = &now
	case "canceled":
		p.CanceledAt = &now
	case "expired":
		p.ExpiredAt = &now
	}
	f.mu.Unlock()
	return f.autoWebhook(ctx, id)
}

// Chargeback charges back amount (minor units) of a paid payment and calls its webhook.
func (f *Server) Chargeback(ctx context.Context, id string, amount int64) (string, error) {
	f.mu.Lock()
	p, ok := f.payments[id]
	if !ok || p.Status != "paid" {
		f.mu.Unlock()
		return "", fmt.Errorf("molliefake: no paid payment %s", id)
	}
	cb := &Chargeback{ID: "chb_" + randomID(10), Value: amount, CreatedAt: time.Now().UTC()}
	p.Chargebacks = append(p.Chargebacks, cb)
	p.ChargedBack += amount
	f.mu.Unlock()
	return cb.ID, f.autoWebhook(ctx, id)
}

// ReverseChargeback reverses a payment's chargebacks (the merchant won) and calls its webhook.
func (f *Server) ReverseChargeback(ctx context.Context, id string) error {
	f.mu.Lock()
	p, ok := f.payments[id]
	if !ok {
		f.mu.Unlock()
		return fmt.Errorf("molliefake: no payment %s", id)
	}
	now := time.Now().UTC()
	for _, cb := range p.Chargebacks {
		if cb.ReversedAt == nil {
			cb.ReversedAt = &now
			p.ChargedBack -= cb.Value
		}
	}
	f.mu.Unlock()
	return f.autoWebhook(ctx, id)
}

// SettleRefunds moves a payment's pending refunds to refunded (or failed, under FailRefunds
// when they were created) and calls its webhook.
func (f *Server) SettleRefunds(ctx context.Context, id string) error {
	f.mu.Lock()
	p, ok := f.payments[id]
	if !ok {
		f.mu.Unlock()
		return fmt.Errorf("molliefake: no payment %s", id)
	}
	for _, r := range p.Refunds {
		switch r.Status {
		case "queued", "pending", "processing":
			r.Status = "refunded"
		case "failing":
			r.Status = "failed"
			p.Refunded -= r.Value
		}
	}
	f.mu.Unlock()
	return f.autoWebhook(ctx, id)
}

func (f *Server) autoWebhook(ctx context.Context, id string) error {
	f.mu.Lock()
	hold := f.holdWebhooks
	f.mu.Unlock()
	if hold {
		return nil
	}
	code, err := f.Webhook(ctx, id)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("molliefake: webhook of %s answered %d", id, code)
	}
	return err
}

// Webhook calls a payment's webhookUrl as Mollie does (POST, form-encoded id=...).
func (f *Server) Webhook(ctx context.Context, id string) (int, error) {
	f.mu.Lock()
	p, ok := f.payments[id]
	target := ""
	if ok {
		target = p.WebhookURL
	}
	f.mu.Unlock()
	if target == "" {
		return 0, fmt.Errorf("molliefake: payment %s has no webhookUrl", id)
	}
	return PostWebhook(ctx, f.hooks, target, id)
}

// PostWebhook posts id=<id> to target the way Mollie calls webhooks (anyone can: they are not
// signed), and returns the answer's status.
func PostWebhook(ctx context.Context, hc *http.Client, target, id string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(url.Values{"id": {id}}.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode, nil
}

// --- HTTP ---

var (
	rePayment     = regexp.MustCompile(`^/v2/payments/([^/]+)$`)
	reRefunds     = regexp.MustCompile(`^/v2/payments/([^/]+)/refunds$`)
	reChargebacks = regexp.MustCompile(`^/v2/payments/([^/]+)/chargebacks$`)
	reCheckout    = regexp.MustCompile(`^/checkout/([^/]+)(?:/(pay|fail|cancel|expire))?$`)
)

func (f *Server) serve(w http.ResponseWriter, r *http.Request) {
	if m := reCheckout.FindStringSubmatch(r.URL.Path); m != nil {
		f.checkout(w, r, m[1], m[2])
		return
	}
	pattern := r.Method + " " + patternOf(r.URL.Path)
	f.mu.Lock()
	f.requests[pattern]++
	fail := 0
	if len(f.failNext) > 0 {
		fail, f.failNext = f.failNext[0], f.failNext[1:]
	}
	f.mu.Unlock()
	if fail != 0 {
		if fail == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		problem(w, fail, "", "the fake was told to fail this request")
		return
	}
	mode := f.mode(r)
	if mode == "" {
		problem(w, http.StatusUnauthorized, "", "Missing authentication, or failed to authenticate")
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v2/methods":
		f.methods(w)
	case r.URL.Path == "/v2/payments" && r.Method == http.MethodPost:
		f.idempotent(w, r, mode, f.createPayment)
	case rePayment.MatchString(r.URL.Path) && r.Method == http.MethodGet:
		f.getPayment(w, mode, rePayment.FindStringSubmatch(r.URL.Path)[1])
	case rePayment.MatchString(r.URL.Path) && r.Method == http.MethodDelete:
		f.idempotent(w, r, mode, f.cancelPayment)
	case reRefunds.MatchString(r.URL.Path) && r.Method == http.MethodPost:
		f.idempotent(w, r, mode, f.createRefund)
	case reRefunds.MatchString(r.URL.Path) && r.Method == http.MethodGet:
		f.listRefunds(w, mode, reRefunds.FindStringSubmatch(r.URL.Path)[1])
	case reChargebacks.MatchString(r.URL.Path) && r.Method == http.MethodGet:
		f.listChargebacks(w, mode, reChargebacks.FindStringSubmatch(r.URL.Path)[1])
	default:
		problem(w, http.StatusNotFound, "", "The requested resource does not exist")
	}
}

func patternOf(path string) string {
	switch {
	case reRefunds.MatchString(path):
		return "/v2/payments/*/refunds"
	case reChargebacks.MatchString(path):
		return "/v2/payments/*/chargebacks"
	case rePayment.MatchString(path):
		return "/v2/payments/*"
	}
	return path
}

func (f *Server) mode(r *http.Request) string {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case !ok:
		return ""
	case key == f.testKey:
		return "test"
	case key == f.liveKey:
		return "live"
	}
	return ""
}

// problem writes Mollie's error body.
func problem(w http.ResponseWriter, status int, field, detail string) {
	code, body := problemBody(status, field, detail)
	writeJSON(w, code, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/hal+json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

type handler func(mode string, r *http.Request, body []byte) (int, any)

// idempotent answers a repeated Idempotency-Key with the first answer (for the same
// request), and refuses the key with a different request.
func (f *Server) idempotent(w http.ResponseWriter, r *http.Request, mode string, h handler) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		problem(w, http.StatusBadRequest, "", "unreadable body")
		return
	}
	key := r.Header.Get("Idempotency-Key")
	fp := r.Method + " " + r.URL.Path + " " + mode + " " + string(body)
	if key != "" {
		f.mu.Lock()
		prev, ok := f.idem[mode+" "+key]
		f.mu.Unlock()
		if ok && prev.fingerprint != fp {
			problem(w, http.StatusUnprocessableEntity, "", "The idempotency key was already used for a different request")
			return
		}
		if ok {
			w.Header().Set("Content-Type", "application/hal+json")
			w.WriteHeader(prev.status)
			_, _ = w.Write(prev.body)
			return
		}
	}
	status, v := h(mode, r, body)
	b, _ := json.Marshal(v)
	if key != "" && status < 500 {
		f.mu.Lock()
		f.idem[mode+" "+key] = idemAnswer{fingerprint: fp, status: status, body: b}
		f.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/hal+json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func problemBody(status int, field, detail string) (int, any) {
	body := map[string]any{"status": status, "title": http.StatusText(status), "detail": detail,
		"_links": map[string]any{"documentation": map[string]string{"href": "https://docs.mollie.com/overview/handling-errors", "type": "text/html"}}}
	if field != "" {
		body["field"] = field
	}
	return status, body
}

// parseAmount reads an amount with exactly the currency's decimals.
func parseAmount(a *Amount) (int64, string, bool) {
	if a == nil {
		return 0, "", false
	}
	d, ok := decimals[a.Currency]
	if !ok {
		return 0, "", false
	}
	re := `^\d+$`
	if d > 0 {
		re = `^\d+\.\d{` + strconv.Itoa(d) + `}$`
	}
	if !regexp.MustCompile(re).MatchString(a.Value) {
		return 0, "", false
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(a.Value, ".", ""), 10, 64)
	if err != nil || v <= 0 {
		return 0, "", false
	}
	return v, a.Currency, true
}

func format(v int64, cur string) Amount {
	d := decimals[cur]
	if d == 0 {
		return Amount{Currency: cur, Value: strconv.FormatInt(v, 10)}
	}
	p := int64(1)
	for range d {
		p *= 10
	}
	return Amount{Currency: cur, Value: fmt.Sprintf("%d.%0*d", v/p, d, v%p)}
}

func decodeBody(body []byte, v any) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	return dec.Decode(v) == nil
}

func rawJSONValue(b []byte) any {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	return v
}

// ValueText is the payment's amount as Mollie writes it.
func (p Payment) ValueText() string { return format(p.Value, p.Currency).Value }

// PaymentsOf lists the payments whose metadata names the transaction (transaction_id).
func (f *Server) PaymentsOf(txnID string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, id := range f.order {
		var m map[string]any
		if json.Unmarshal(f.payments[id].Metadata, &m) == nil && m["transaction_id"] == txnID {
			out = append(out, id)
		}
	}
	return out
}

// CreateWith creates an open payment with a key, as a merchant's other software would.
func (f *Server) CreateWith(ctx context.Context, key string, minor int64, currency string) (string, error) {
	body, _ := json.Marshal(map[string]any{"amount": format(minor, currency), "description": "elsewhere", "redirectUrl": "https://elsewhere.example/"})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.srv.URL+"/v2/payments", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var out struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("molliefake: create answered %d", res.StatusCode)
	}
	return out.ID, nil
}
