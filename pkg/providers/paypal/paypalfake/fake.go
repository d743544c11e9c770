// Package paypalfake is an in-test PayPal REST API on loopback, written from PayPal's
// documentation and independent of any client: OAuth2 client credentials (POST
// /v1/oauth2/token), Orders v2 (create with PayPal-Request-Id, get, capture), Payments v2
// (get a capture, refund a capture), POST /v1/notifications/verify-webhook-signature, the
// buyer's approval page (/checkoutnow?token=ORDER), and webhook events signed over
// "<transmission id>|<transmission time>|<webhook id>|<crc32 of the body>" as PayPal signs them
// (an HMAC with a key of the fake's instead of PayPal's RSA certificate: only the fake's verify
// endpoint checks it, as only PayPal's can).
//
// Errors follow PayPal's format ({"name", "message", "debug_id", "details": [{"issue",
// "description"}]}). Scenario switches: a capture declined or pending, refunds failing, the next
// API calls answered 429 or 5xx, an order the buyer cancels, disputes opened and resolved.
package paypalfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Fake is one PayPal account (one REST app and one webhook) served on loopback.
type Fake struct {
	srv *httptest.Server
	URL string
	// ClientID, ClientSecret and WebhookID are the account's credentials.
	ClientID, ClientSecret, WebhookID string

	key []byte // the fake's signing key for webhook transmissions

	mu        sync.Mutex
	tokens    map[string]bool
	orders    map[string]*Order
	captures  map[string]*Capture
	refunds   map[string]*Refund
	requests  map[string]stored // PayPal-Request-Id answers, by path and id
	failNext  []int
	declines  bool
	pending   bool
	refundErr bool
	calls     map[string]int
}

type stored struct {
	status int
	body   []byte
}

// Money is PayPal's amount: an ISO currency and a decimal string.
type Money struct {
	CurrencyCode string `json:"currency_code"`
	Value        string `json:"value"`
}

// Link is a HATEOAS link.
type Link struct {
	Href   string `json:"href"`
	Rel    string `json:"rel"`
	Method string `json:"method,omitempty"`
}

// Order is an Orders v2 order as the fake keeps it.
type Order struct {
	ID            string         `json:"id"`
	Status        string         `json:"status"`
	Intent        string         `json:"intent"`
	PurchaseUnits []PurchaseUnit `json:"purchase_units"`
	Links         []Link         `json:"links"`
	CreateTime    string         `json:"create_time"`
	returnURL     string
	cancelURL     string
}

// PurchaseUnit is one purchase unit of an order.
type PurchaseUnit struct {
	ReferenceID string    `json:"reference_id,omitempty"`
	Amount      Money     `json:"amount"`
	CustomID    string    `json:"custom_id,omitempty"`
	InvoiceID   string    `json:"invoice_id,omitempty"`
	Description string    `json:"description,omitempty"`
	Payments    *Payments `json:"payments,omitempty"`
}

// Payments are a purchase unit's captures.
type Payments struct {
	Captures []Capture `json:"captures"`
}

// Capture is a Payments v2 capture.
type Capture struct {
	ID            string         `json:"id"`
	Status        string         `json:"status"`
	StatusDetails *StatusDetails `json:"status_details,omitempty"`
	Amount        Money          `json:"amount"`
	CustomID      string         `json:"custom_id,omitempty"`
	FinalCapture  bool           `json:"final_capture"`
	Links         []Link         `json:"links"`
	CreateTime    string         `json:"create_time"`
	UpdateTime    string         `json:"update_time"`
	orderID       string
	refunded      int64
}

// StatusDetails explains a capture's status.
type StatusDetails struct {
	Reason string `json:"reason"`
}

// Refund is a Payments v2 refund.
type Refund struct {
	ID            string         `json:"id"`
	Status        string         `json:"status"`
	StatusDetails *StatusDetails `json:"status_details,omitempty"`
	Amount        Money          `json:"amount"`
	InvoiceID     string         `json:"invoice_id,omitempty"`
	CustomID      string         `json:"custom_id,omitempty"`
	Links         []Link         `json:"links"`
	CreateTime    string         `json:"create_time"`
	UpdateTime    string         `json:"update_time"`
}

// New starts a fake PayPal; it stops with the test.
func New(t interface{ Cleanup(func()) }) *Fake {
	f := &Fake{ClientID: "AYfake" + rnd(8), ClientSecret: "EFfake" + rnd(16), WebhookID: "WH-" + strings.ToUpper(rnd(8)), key: []byte(rnd(32)),
		tokens: map[string]bool{}, orders: map[string]*Order{}, captures: map[string]*Capture{}, refunds: map[string]*Refund{},
		requests: map[string]stored{}, calls: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/oauth2/token", f.token)
	mux.HandleFunc("POST /v2/checkout/orders", f.api(f.createOrder))
	mux.HandleFunc("GET /v2/checkout/orders/{id}", f.api(f.getOrder))
	mux.HandleFunc("POST /v2/checkout/orders/{id}/capture", f.api(f.captureOrder))
	mux.HandleFunc("GET /v2/payments/captures/{id}", f.api(f.getCapture))
	mux.HandleFunc("POST /v2/payments/captures/{id}/refund", f.api(f.refundCapture))
	mux.HandleFunc("GET /v2/payments/refunds/{id}", f.api(f.getRefund))
	mux.HandleFunc("POST /v1/notifications/verify-webhook-signature", f.api(f.verify))
	mux.HandleFunc("GET /checkoutnow", f.approvePage)
	f.srv = httptest.NewServer(mux)
	f.URL = f.srv.URL
	t.Cleanup(f.srv.Close)
	return f
}

func rnd(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

func id(prefix string) string { return prefix + strings.ToUpper(rnd(15)) }

func now() string { return time.Now().UTC().Format(time.RFC3339) }

// --- scenario switches ---

// FailNext answers the next API calls (after authentication) with these statuses (429, 500 ...).
func (f *Fake) FailNext(statuses ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext = append(f.failNext, statuses...)
}

// DeclineCaptures makes captures DECLINED (the buyer's funding source refused).
func (f *Fake) DeclineCaptures(on bool) { f.mu.Lock(); f.declines = on; f.mu.Unlock() }

// PendCaptures makes captures PENDING (an eCheck, a review).
func (f *Fake) PendCaptures(on bool) { f.mu.Lock(); f.pending = on; f.mu.Unlock() }

// FailRefunds makes refunds FAILED.
func (f *Fake) FailRefunds(on bool) { f.mu.Lock(); f.refundErr = on; f.mu.Unlock() }

// Calls counts the requests a route handled, e.g. "POST /v2/checkout/orders/{id}/capture" (not
// those answered from a PayPal-Request-Id's first answer, nor refused ones).
func (f *Fake) Calls(route string) int { f.mu.Lock(); defer f.mu.Unlock(); return f.calls[route] }

// Order returns a copy of an order (nil: none).
func (f *Fake) Order(orderID string) *Order {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.orders[orderID]
	if !ok {
		return nil
	}
	c := *o
	return &c
}

// Approve approves an order as the buyer would on PayPal's page.
func (f *Fake) Approve(orderID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.orders[orderID]
	if !ok || o.Status != "CREATED" && o.Status != "PAYER_ACTION_REQUIRED" {
		return fmt.Errorf("paypalfake: order %s cannot be approved", orderID)
	}
	o.Status = "APPROVED"
	return nil
}

// CompleteCapture moves a PENDING capture to COMPLETED (or DECLINED) and returns it.
func (f *Fake) CompleteCapture(captureID string, completed bool) Capture {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.captures[captureID]
	c.Status, c.StatusDetails, c.UpdateTime = "COMPLETED", nil, now()
	if !completed {
		c.Status = "DECLINED"
	}
	f.syncOrderCapture(c)
	return *c
}

func (f *Fake) syncOrderCapture(c *Capture) {
	o := f.orders[c.orderID]
	for i := range o.PurchaseUnits[0].Payments.Captures {
		if o.PurchaseUnits[0].Payments.Captures[i].ID == c.ID {
			o.PurchaseUnits[0].Payments.Captures[i] = *c
		}
	}
}

// --- HTTP plumbing ---

// Error writes PayPal's error format.
func Error(w http.ResponseWriter, status int, name, issue, msg string) {
	body := map[string]any{"name": name, "message": msg, "debug_id": rnd(13)}
	if issue != "" {
		body["details"] = []map[string]string{{"issue": issue, "description": msg}}
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

type handler func(r *http.Request) (int, any, *apiError)

type apiError struct {
	status            int
	name, issue, text string
}

func unprocessable(issue, text string) *apiError {
	return &apiError{http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", issue, text}
}

func notFound() *apiError {
	return &apiError{http.StatusNotFound, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "Specified resource ID does not exist."}
}

// api authenticates the bearer token, applies the scenario's failures and PayPal-Request-Id
// idempotency (a POST retried with the same id gets the first answer), then runs h.
func (f *Fake) api(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !f.tokens[tok] {
			Error(w, http.StatusUnauthorized, "AUTHENTICATION_FAILURE", "", "Authentication failed due to invalid authentication credentials or a missing Authorization header.")
			return
		}
		if len(f.failNext) > 0 {
			st := f.failNext[0]
			f.failNext = f.failNext[1:]
			if st == http.StatusTooManyRequests {
				Error(w, st, "RATE_LIMIT_REACHED", "", "Too many requests. Blocked due to rate limiting.")
			} else {
				Error(w, st, "INTERNAL_SERVER_ERROR", "", "An internal server error occurred.")
			}
			return
		}
		key := r.Pattern + "|" + r.PathValue("id") + "|" + r.Header.Get("PayPal-Request-Id")
		if r.Method == http.MethodPost && r.Header.Get("PayPal-Request-Id") != "" {
			if s, ok := f.requests[key]; ok {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(s.status)
				_, _ = w.Write(s.body)
				return
			}
		}
		f.calls[r.Pattern]++
		status, v, e := h(r)
		if e != nil {
			Error(w, e.status, e.name, e.issue, e.text)
			return
		}
		b, _ := json.Marshal(v)
		if r.Method == http.MethodPost && r.Header.Get("PayPal-Request-Id") != "" {
			f.requests[key] = stored{status, b}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(b)
	}
}

// token is OAuth2 client credentials with HTTP Basic authentication.
func (f *Fake) token(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"})
		return
	}
	if !ok || user != f.ClientID || pass != f.ClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "Client Authentication failed"})
		return
	}
	tok := "A21AA" + rnd(40)
	f.mu.Lock()
	f.tokens[tok] = true
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"scope": "https://uri.paypal.com/services/payments/payment", "access_token": tok,
		"token_type": "Bearer", "app_id": "APP-80W284485P519543T", "expires_in": 32400, "nonce": rnd(20)})
}
