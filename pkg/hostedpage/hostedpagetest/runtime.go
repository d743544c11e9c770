// Package hostedpagetest provides an in-test fake of the main backend's runtime API for the
// hosted page (handler, browser and benchmark tests) with a stand-in for GoCardless's
// authorisation page, sample checkouts, and the buyer's wire-transfer, card and GoCardless flows
// as reusable browser steps.
package hostedpagetest

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"paygate.dev/pkg/runtimeapi"
	"paygate.dev/pkg/stripemock"
	"paygate.dev/pkg/tax"
)

// Runtime is a fake of the runtime API (API-CONTRACT.md section 5) over HTTP:
//
//	GET  /api/v1/checkouts/{code}                the checkout (404 envelope when unknown)
//	POST /api/v1/checkouts/{code}/tax-preview    tax by country: see Tax
//	POST /api/v1/transactions/create             a transaction; wire providers answer wire_instructions,
//	                                             Stripe providers a PaymentIntent to confirm (next "stripe"),
//	                                             GoCardless providers a redirect to the authorisation page
//	POST /api/v1/billing-requests/create         a GoCardless attempt (or the checkout's open one) and
//	                                             where to authorise it: {transactionId, authorisationUrl}
//	POST /api/v1/transactions/{id}/mark-pending  the buyer says the transfer is sent (or GoCardless is done)
//	POST /api/v1/transactions/{id}/cancel        the buyer abandons the attempt
//	GET  /api/v1/transactions/{id}/status        the status; MarkPaid flips it to succeeded, and with
//	                                             ?sync=1 a Stripe attempt takes its PaymentIntent's outcome
//	                                             and an authorised GoCardless attempt becomes pending_provider
//
// For Stripe it is also the PaymentIntents store (standin.PaymentIntents): the stand-in for
// Stripe.js records there what the buyer did, as the stripemock.Overlay does for the real backend.
//
// For GoCardless it also serves a stand-in of the authorisation page, with the ids gcfake's has:
//
//	GET  /gocardless/flow/{transaction id}       #gc-pay (a form) and #gc-exit (a link)
//	POST /gocardless/flow/{transaction id}/pay   authorises the attempt; 303 to the page's ?…&gocardless=return
//	GET  /gocardless/flow/{transaction id}/exit  303 to the page's ?…&gocardless=exit
//
// It answers CORS preflights for any origin (like the real backend does for the frontend's).
// Safe for concurrent use.
type Runtime struct {
	Server *httptest.Server
	// PagesURL is the hosted page's base URL, for the return URL given to Stripe
	// ({PagesURL}/checkout/{code}?transaction={id}, as the Stripe adapter builds it).
	PagesURL string

	mu        sync.Mutex
	checkouts map[string]*entry // by short code and by session public id
	txns      map[string]*txn
	seq       int
	down      bool
	calls     []Call
	intents   map[string]*intent // Stripe PaymentIntents by id
	failNext  *failure           // the next transaction create answers this error
}

// failure is an error answer of the runtime API.
type failure struct {
	status           int
	code, msg, field string
}

// intent is a fake PaymentIntent and what the stand-in recorded for it.
type intent struct {
	pi       stripemock.PaymentIntent
	txn      string
	failure  *stripemock.PaymentError
	chargeID string
}

// PublishableKey is the fake's Stripe publishable key.
const PublishableKey = "pk_test_hostedpagetest"

// Call is one request the fake received.
type Call struct {
	Method, Path string
	Body         string
}

type entry struct {
	c         runtimeapi.Checkout
	returnURL string
}

type txn struct {
	st         runtimeapi.TransactionStatus
	checkout   *entry
	returnURL  string
	providerID string
	authorised bool // a GoCardless attempt the buyer authorised on the authorisation page
}

// NewRuntime starts the fake; it stops at the end of the test.
func NewRuntime(t testing.TB) *Runtime {
	r := &Runtime{checkouts: map[string]*entry{}, txns: map[string]*txn{}, intents: map[string]*intent{}}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Server.Close)
	return r
}

// URL is the fake's base URL (use it as both the internal and the public backend URL).
func (r *Runtime) URL() string { return r.Server.URL }

// Client is a runtime API client for the fake.
func (r *Runtime) Client() *runtimeapi.Client {
	return &runtimeapi.Client{BaseURL: r.Server.URL, HTTP: r.Server.Client()}
}

// AddCheckout serves c under its short code and session id. returnURL may contain
// {transactionId}; the status answer fills it in once the payment succeeded.
func (r *Runtime) AddCheckout(c runtimeapi.Checkout, returnURL string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := &entry{c: c, returnURL: returnURL}
	e.c.HasReturnURL = returnURL != ""
	r.checkouts[c.ShortCode] = e
	r.checkouts[c.SessionPublicID] = e
}

// FailNextCreate makes the next POST /transactions/create answer an error, as the backend does
// when the provider refuses or cannot be reached (502 PROVIDER_ERROR, with the provider's own
// English text, sometimes naming the field the provider complained about).
func (r *Runtime) FailNextCreate(status int, code, message, field string) {
	r.mu.Lock()
	r.failNext = &failure{status: status, code: code, msg: message, field: field}
	r.mu.Unlock()
}

// SetDown makes every call answer 503, as an unavailable backend does.
func (r *Runtime) SetDown(down bool) {
	r.mu.Lock()
	r.down = down
	r.mu.Unlock()
}

// MarkPaid flips a transaction to succeeded (an operator confirmed the transfer) and completes
// its checkout.
func (r *Runtime) MarkPaid(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.txns[id]
	if t == nil {
		panic("hostedpagetest: no transaction " + id)
	}
	t.st.Status = "succeeded"
	t.st.CheckoutStatus = "completed"
	t.st.ReturnURL = strings.ReplaceAll(t.returnURL, "{transactionId}", id)
	t.checkout.c.Status = "completed"
}

// MarkFailed fails a transaction with a message (a bank payment that did not go through).
func (r *Runtime) MarkFailed(id, message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.txns[id]
	if t == nil {
		panic("hostedpagetest: no transaction " + id)
	}
	t.st.Status, t.st.FailureMessage, t.st.ReturnURL = "failed", message, ""
}

// GoCardlessFlowURL is the stand-in authorisation page of a GoCardless attempt.
func (r *Runtime) GoCardlessFlowURL(id string) string { return r.Server.URL + "/gocardless/flow/" + id }

// Transactions lists the transactions created so far, oldest first.
func (r *Runtime) Transactions() []runtimeapi.TransactionStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]runtimeapi.TransactionStatus, 0, len(r.txns))
	for i := 1; i <= r.seq; i++ {
		if t := r.txns[txnID(i)]; t != nil {
			out = append(out, t.st)
		}
	}
	return out
}

// Calls lists the requests whose path starts with prefix.
func (r *Runtime) Calls(prefix string) []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Call
	for _, c := range r.calls {
		if strings.HasPrefix(c.Path, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func txnID(i int) string { return fmt.Sprintf("txn_test%04d", i) }

// PaymentIntent returns a fake PaymentIntent (standin.PaymentIntents).
func (r *Runtime) PaymentIntent(id string) (stripemock.PaymentIntent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	in := r.intents[id]
	if in == nil {
		return stripemock.PaymentIntent{}, false
	}
	return in.pi, true
}

// SetPaymentIntent records a PaymentIntent's new status (standin.PaymentIntents).
func (r *Runtime) SetPaymentIntent(id, status, chargeID string, _ int64, _ string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if in := r.intents[id]; in != nil {
		in.pi.Status, in.chargeID, in.failure = status, chargeID, nil
	}
}

// FailPaymentIntent records a failed payment attempt (standin.PaymentIntents).
func (r *Runtime) FailPaymentIntent(id string, e stripemock.PaymentError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if in := r.intents[id]; in != nil {
		in.pi.Status, in.failure = "requires_payment_method", &e
	}
}

// sync applies a Stripe attempt's PaymentIntent to it, as the backend's status?sync=1 does.
func (r *Runtime) sync(t *txn) {
	if t.st.Status != "initiated" && t.st.Status != "pending_provider" {
		return
	}
	if t.st.ProviderType == "gocardless" {
		if t.authorised {
			t.pending()
		}
		return
	}
	if t.st.ProviderType != "stripe" {
		return
	}
	for _, in := range r.intents {
		if in.txn != t.st.TransactionID {
			continue
		}
		switch {
		case in.pi.Status == "succeeded":
			t.st.Status, t.st.CheckoutStatus = "succeeded", "completed"
			t.st.ReturnURL = strings.ReplaceAll(t.returnURL, "{transactionId}", t.st.TransactionID)
			t.checkout.c.Status = "completed"
		case in.pi.Status == "processing":
			t.st.Status = "pending_provider"
		case in.pi.Status == "requires_payment_method" && in.failure != nil:
			t.st.Status, t.st.FailureMessage = "failed", in.failure.Message
		}
	}
}

// Wire is what the fake's wire-transfer provider tells the buyer.
var Wire = runtimeapi.WireInstructions{
	BankName:      "Musterbank AG",
	AccountHolder: "Acme Tools GmbH",
	IBAN:          "DE89370400440532013000",
	IBANGrouped:   "DE89 3704 0044 0532 0130 00",
	BIC:           "COBADEFFXXX",
	Instructions:  "Please allow up to two business days.",
}

// EU VAT rates the fake knows (percent × 100); the seller is in Germany.
var vatRates = map[string]tax.Rate{"DE": 1900, "AT": 2000, "FR": 2000, "NL": 2100, "IT": 2200, "ES": 2100, "PL": 2300, "BE": 2100, "IE": 2300}

// Tax computes the fake's preview for a buyer: the checkout's items are net prices; DE buyers
// pay 19% (domestic); other EU consumers their own rate (OSS); EU businesses with a VAT id of
// their country pay none (reverse charge; an id starting "XX" is invalid); outside the EU
// nothing is charged (export). A vatRate on the first item is the merchant's rate for every
// taxed line (rate code "explicit").
func Tax(c runtimeapi.Checkout, country, vatID string) runtimeapi.TaxPreview {
	country = strings.ToUpper(country)
	vatID = strings.ToUpper(strings.ReplaceAll(vatID, " ", ""))
	p := runtimeapi.TaxPreview{Currency: c.Currency, VATIDStatus: "none", TaxBreakdown: []runtimeapi.TaxLine{}}
	rate, eu := vatRates[country]
	switch {
	case !eu:
		p.Treatment, rate = "export", 0
	case vatID != "" && strings.HasPrefix(vatID, "XX"):
		p.VATIDStatus = "invalid"
		p.Treatment = "domestic"
		if country != "DE" {
			p.Treatment = "oss"
		}
	case vatID != "" && strings.HasPrefix(vatID, country) && country != "DE":
		p.VATIDStatus, p.Treatment, rate = "format_valid", "reverse_charge", 0
	case country == "DE":
		p.Treatment = "domestic"
		if vatID != "" {
			p.VATIDStatus = "format_valid"
		}
	default:
		p.Treatment = "oss"
	}
	code := country + "-standard"
	if len(c.Items) > 0 && c.Items[0].VATRate != nil && (p.Treatment == "oss" || p.Treatment == "domestic") {
		rate, code = *c.Items[0].VATRate, "explicit" // the merchant's rate (the fake takes the first line's for all)
	}
	for _, it := range c.Items {
		net := it.Total
		t := (net*int64(rate) + 5000) / 10000
		p.Lines = append(p.Lines, runtimeapi.LineTax{Net: net, Tax: t, Gross: net + t, TaxRate: rate})
		p.TotalNet += net
		p.TotalTax += t
	}
	p.TotalGross = p.TotalNet + p.TotalTax
	if p.TotalTax > 0 || rate > 0 {
		p.TaxBreakdown = append(p.TaxBreakdown, runtimeapi.TaxLine{TaxRate: rate, TaxRateCode: code, TaxableBase: p.TotalNet, TaxAmount: p.TotalTax})
	}
	return p
}

// SampleCheckout is an open EUR checkout of two lines, prices excluding VAT, billed to a buyer
// in Germany, offering wire transfer (default) and a card provider.
func SampleCheckout(code string) runtimeapi.Checkout {
	c := runtimeapi.Checkout{
		ID: "chk_" + code, SessionPublicID: "cs_" + code, ShortCode: code, Status: "open", Mode: "live",
		Amount: 12000, Currency: "EUR", CurrencyExponent: 2, Email: "buyer@example.com",
		ExternalReference: "ORDER-1001", ExpiresAt: time.Date(2030, 3, 12, 14, 30, 0, 0, time.UTC),
		CancelURL:      "https://shop.example.com/cart",
		BillingAddress: &runtimeapi.Address{FirstName: "Erika", LastName: "Mustermann", Address1: "Hauptstraße 1", City: "Berlin", Postcode: "10115", Country: "DE"},
		Items: []runtimeapi.Item{
			{Name: "Cordless drill", Quantity: 2, UnitPrice: 5000, Total: 10000, ItemType: "goods"},
			{Name: "Shipping", Quantity: 1, UnitPrice: 2000, Total: 2000, ItemType: "shipping"},
		},
		Site: runtimeapi.Site{Name: "Acme Tools", LogoURL: "https://cdn.example.com/acme.png", PrimaryColor: "#0b5cad",
			TaxDisplay: "exclusive", VATIDValidation: "format", DefaultLanguage: "en", SupportEmail: "help@acme.example"},
		Providers: []runtimeapi.Provider{
			{ID: "prov_wire", Type: "wire_transfer", Name: "Bank transfer"},
			{ID: "prov_card", Type: "stripe", Name: "Credit card"},
		},
		DefaultProviderID: "prov_wire",
		VATIDValidation:   "format",
	}
	c.Tax = Tax(c, "DE", "")
	return c
}

func (r *Runtime) serve(w http.ResponseWriter, req *http.Request) {
	if allowCORS(w, req) {
		return
	}
	var body []byte
	if req.Body != nil {
		body, _ = readAll(req)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, Call{Method: req.Method, Path: req.URL.Path, Body: string(body)})
	if strings.HasPrefix(req.URL.Path, "/gocardless/flow/") {
		r.serveFlow(w, req)
		return
	}
	if r.down {
		writeErr(w, http.StatusServiceUnavailable, "UNAVAILABLE", "the database is down", "")
		return
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(req.URL.Path, "/api/v1/"), "/"), "/")
	post := req.Method == http.MethodPost
	switch {
	case len(parts) == 2 && parts[0] == "checkouts" && req.Method == http.MethodGet:
		r.getCheckout(w, parts[1])
	case len(parts) == 3 && parts[0] == "checkouts" && parts[2] == "tax-preview" && post:
		r.taxPreview(w, parts[1], body)
	case len(parts) == 2 && parts[0] == "transactions" && parts[1] == "create" && post:
		r.create(w, body)
	case len(parts) == 3 && parts[0] == "transactions" && parts[2] == "mark-pending" && post:
		r.markPending(w, parts[1])
	case len(parts) == 3 && parts[0] == "transactions" && parts[2] == "cancel" && post:
		r.cancel(w, parts[1])
	case len(parts) == 2 && parts[0] == "billing-requests" && parts[1] == "create" && post:
		r.billingRequest(w, body)
	case len(parts) == 3 && parts[0] == "transactions" && parts[2] == "status" && req.Method == http.MethodGet:
		r.status(w, parts[1], req.URL.Query().Get("sync") == "1")
	default:
		writeErr(w, http.StatusNotFound, "ROUTE_NOT_FOUND", "no such route", "")
	}
}

// allowCORS sets the CORS headers for the request's origin and answers a preflight request,
// reporting whether it did.
func allowCORS(w http.ResponseWriter, req *http.Request) bool {
	h := w.Header()
	if o := req.Header.Get("Origin"); o != "" {
		h.Set("Access-Control-Allow-Origin", o)
		h.Set("Vary", "Origin")
	}
	if req.Method != http.MethodOptions {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	h.Set("Access-Control-Allow-Headers", "Content-Type, Accept, X-Request-ID")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// getCheckout answers GET /checkouts/{session}.
func (r *Runtime) getCheckout(w http.ResponseWriter, session string) {
	e := r.checkouts[session]
	if e == nil {
		writeErr(w, http.StatusNotFound, "NOT_FOUND", "checkout not found", "")
		return
	}
	c := e.c
	for i := r.seq; i >= 1; i-- { // the latest pending or paid attempt, for a reload (as the backend does)
		if t := r.txns[txnID(i)]; t != nil && t.checkout == e && t.st.Status != "initiated" && t.st.Status != "failed" && t.st.Status != "canceled" {
			st := t.st
			c.Transaction = &st
			break
		}
	}
	writeJSON(w, http.StatusOK, c)
}

// taxPreview answers POST /checkouts/{session}/tax-preview.
func (r *Runtime) taxPreview(w http.ResponseWriter, session string, body []byte) {
	e := r.checkouts[session]
	if e == nil {
		writeErr(w, http.StatusNotFound, "NOT_FOUND", "checkout not found", "")
		return
	}
	var in runtimeapi.TaxPreviewRequest
	if json.Unmarshal(body, &in) != nil || len(in.BillingAddress.Country) != 2 {
		writeErr(w, http.StatusBadRequest, "VALIDATION_ERROR", "billingAddress.country must be a country code", "billingAddress.country")
		return
	}
	writeJSON(w, http.StatusOK, Tax(e.c, in.BillingAddress.Country, in.BillingAddress.VATID))
}

// markPending answers POST /transactions/{id}/mark-pending.
func (r *Runtime) markPending(w http.ResponseWriter, id string) {
	t := r.txns[id]
	if t == nil {
		writeErr(w, http.StatusNotFound, "NOT_FOUND", "transaction not found", "")
		return
	}
	switch {
	case t.st.Status == "initiated":
		t.pending()
	case t.st.Status == "failed" || t.st.Status == "canceled":
		writeErr(w, http.StatusConflict, "INVALID_STATE", "the payment is "+t.st.Status, "")
		return
	}
	t.st.BuyerMarkedPending = true
	writeJSON(w, http.StatusOK, t.st)
}

// cancel answers POST /transactions/{id}/cancel.
func (r *Runtime) cancel(w http.ResponseWriter, id string) {
	t := r.txns[id]
	if t == nil {
		writeErr(w, http.StatusNotFound, "NOT_FOUND", "transaction not found", "")
		return
	}
	switch t.st.Status {
	case "initiated", "pending_provider":
		t.st.Status, t.st.FailureMessage, t.st.ReturnURL = "canceled", "cancelled by the buyer", ""
	case "canceled":
	default:
		writeErr(w, http.StatusConflict, "INVALID_STATE", "the payment is "+t.st.Status+" and cannot be cancelled", "")
		return
	}
	writeJSON(w, http.StatusOK, t.st)
}

// status answers GET /transactions/{id}/status, asking the provider first when sync is set.
func (r *Runtime) status(w http.ResponseWriter, id string, sync bool) {
	t := r.txns[id]
	if t == nil {
		writeErr(w, http.StatusNotFound, "NOT_FOUND", "transaction not found", "")
		return
	}
	if sync {
		r.sync(t)
	}
	writeJSON(w, http.StatusOK, t.st)
}

// open validates a request to start paying and returns the checkout and the provider; it has
// answered the error when they are nil.
func (r *Runtime) open(w http.ResponseWriter, session, providerID string, billing runtimeapi.BuyerAddress) (*entry, *runtimeapi.Provider) {
	e := r.checkouts[session]
	if e == nil || e.c.Status != "open" {
		writeErr(w, http.StatusNotFound, "NOT_FOUND", "checkout not found", "")
		return nil, nil
	}
	var prov *runtimeapi.Provider
	for i := range e.c.Providers {
		if e.c.Providers[i].ID == providerID {
			prov = &e.c.Providers[i]
		}
	}
	if prov == nil {
		writeErr(w, http.StatusBadRequest, "VALIDATION_ERROR", "providerId is not offered on this checkout", "providerId")
		return nil, nil
	}
	if !strings.Contains(billing.Email, "@") || strings.HasSuffix(billing.Email, "@invalid.test") {
		writeErr(w, http.StatusBadRequest, "VALIDATION_ERROR", "billingAddress.email is not a deliverable address", "billingAddress.email")
		return nil, nil
	}
	if len(billing.Country) != 2 {
		writeErr(w, http.StatusBadRequest, "VALIDATION_ERROR", "billingAddress.country is required", "billingAddress.country")
		return nil, nil
	}
	return e, prov
}

// newTxn records a new attempt with the authoritative tax.
func (r *Runtime) newTxn(e *entry, prov *runtimeapi.Provider, billing runtimeapi.BuyerAddress) (*txn, runtimeapi.TaxPreview) {
	r.seq++
	id := txnID(r.seq)
	p := Tax(e.c, billing.Country, billing.VATID)
	t := &txn{checkout: e, returnURL: e.returnURL, providerID: prov.ID, st: runtimeapi.TransactionStatus{
		TransactionID: id, SessionPublicID: e.c.SessionPublicID, Status: "initiated", CheckoutStatus: "open", ProviderType: prov.Type,
		Amount: p.TotalGross, Currency: e.c.Currency,
	}}
	r.txns[id] = t
	return t, p
}

// pending moves an attempt to pending_provider; like the real backend, the status then carries
// the return URL (the buyer may go back to the shop while the provider works).
func (t *txn) pending() {
	t.st.Status = "pending_provider"
	t.st.ReturnURL = strings.ReplaceAll(t.returnURL, "{transactionId}", t.st.TransactionID)
}

func (r *Runtime) create(w http.ResponseWriter, body []byte) {
	var in runtimeapi.CreateTransactionRequest
	if err := json.Unmarshal(body, &in); err != nil {
		writeErr(w, http.StatusBadRequest, "VALIDATION_ERROR", "send JSON", "")
		return
	}
	e, prov := r.open(w, in.SessionPublicID, in.ProviderID, in.BillingAddress)
	if e == nil {
		return
	}
	if f := r.failNext; f != nil {
		r.failNext = nil
		writeErr(w, f.status, f.code, f.msg, f.field)
		return
	}
	t, p := r.newTxn(e, prov, in.BillingAddress)
	id := t.st.TransactionID
	res := runtimeapi.CreateTransactionResponse{TransactionID: id, Status: "initiated", ProviderType: prov.Type,
		Amount: p.TotalGross, Currency: e.c.Currency, Tax: p}
	switch prov.Type {
	case "wire_transfer":
		wi := Wire
		wi.Reference = fmt.Sprintf("PG-%s-%04d", strings.ToUpper(e.c.ShortCode), r.seq)
		wi.Amount, wi.Currency = p.TotalGross, e.c.Currency
		t.st.Status, res.Status = "pending_provider", "pending_provider"
		t.st.Wire = &wi
		res.Next = runtimeapi.Next{Type: "wire_instructions", Wire: &wi}
	case "stripe":
		pi := fmt.Sprintf("pi_test%04d", r.seq)
		in := &intent{txn: id, pi: stripemock.PaymentIntent{ID: pi, ClientSecret: stripemock.ClientSecret(pi), Amount: p.TotalGross,
			Currency: strings.ToLower(e.c.Currency), Status: "requires_payment_method"}}
		r.intents[pi] = in
		res.Next = runtimeapi.Next{Type: "stripe", Stripe: &runtimeapi.StripeNext{ClientSecret: in.pi.ClientSecret, PublishableKey: PublishableKey,
			ReturnURL: r.pageURL(e) + "?transaction=" + id}}
	case "gocardless":
		res.Next = runtimeapi.Next{Type: "redirect", RedirectURL: r.GoCardlessFlowURL(id)}
	default:
		res.Next = runtimeapi.Next{Type: prov.Type} // not handled by the page yet
	}
	writeJSON(w, http.StatusOK, res)
}

func (r *Runtime) pageURL(e *entry) string {
	return strings.TrimRight(r.PagesURL, "/") + "/checkout/" + e.c.ShortCode
}

// billingRequest is POST /api/v1/billing-requests/create: the checkout's open GoCardless attempt
// with this provider is resumed (the same authorisation page) unless the buyer authorised it
// already (409); otherwise a new attempt starts.
func (r *Runtime) billingRequest(w http.ResponseWriter, body []byte) {
	var in runtimeapi.BillingRequestRequest
	if err := json.Unmarshal(body, &in); err != nil {
		writeErr(w, http.StatusBadRequest, "VALIDATION_ERROR", "send JSON", "")
		return
	}
	e, prov := r.open(w, in.SessionPublicID, in.ProviderID, in.BillingAddress)
	if e == nil {
		return
	}
	if prov.Type != "gocardless" {
		writeErr(w, http.StatusUnprocessableEntity, "PROVIDER_NOT_AVAILABLE", "billing requests are for GoCardless", "")
		return
	}
	if in.TransactionID != "" {
		if t := r.txns[in.TransactionID]; t == nil || t.checkout != e {
			writeErr(w, http.StatusNotFound, "NOT_FOUND", "transaction not found", "")
			return
		}
	}
	for i := r.seq; i >= 1; i-- {
		t := r.txns[txnID(i)]
		if t == nil || t.checkout != e || t.providerID != prov.ID || (t.st.Status != "initiated" && t.st.Status != "pending_provider") {
			continue
		}
		if t.authorised || t.st.Status != "initiated" {
			writeErr(w, http.StatusConflict, "INVALID_STATE", "the payment was already authorised at GoCardless; its confirmation is on its way", "")
			return
		}
		writeJSON(w, http.StatusOK, runtimeapi.BillingRequestResponse{TransactionID: t.st.TransactionID, AuthorisationURL: r.GoCardlessFlowURL(t.st.TransactionID)})
		return
	}
	t, _ := r.newTxn(e, prov, in.BillingAddress)
	writeJSON(w, http.StatusOK, runtimeapi.BillingRequestResponse{TransactionID: t.st.TransactionID, AuthorisationURL: r.GoCardlessFlowURL(t.st.TransactionID)})
}

// serveFlow is the stand-in for GoCardless's authorisation page (r.mu is held).
func (r *Runtime) serveFlow(w http.ResponseWriter, req *http.Request) {
	id, action, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/gocardless/flow/"), "/")
	t := r.txns[id]
	if t == nil || t.st.ProviderType != "gocardless" {
		http.NotFound(w, req)
		return
	}
	back := r.pageURL(t.checkout) + "?transaction=" + id + "&gocardless="
	switch {
	case action == "" && req.Method == http.MethodGet:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if t.st.Status != "initiated" || t.authorised {
			fmt.Fprintf(w, `<!doctype html><link rel="icon" href="data:,"><title>All done</title><main id="gc-flow"><h1>All done</h1><p><a id="gc-continue" href="%sreturn">Continue</a></p></main>`, back)
			return
		}
		fmt.Fprintf(w, `<!doctype html><link rel="icon" href="data:,"><title>Pay %s</title><main id="gc-flow"><h1>Pay %s</h1><p id="gc-amount">%s %d.%02d</p>`+
			`<form method="post" action="/gocardless/flow/%s/pay"><button type="submit" id="gc-pay">Pay</button></form>`+
			`<p><a id="gc-exit" href="/gocardless/flow/%s/exit">Cancel / go back</a></p></main>`,
			html.EscapeString(t.checkout.c.Site.Name), html.EscapeString(t.checkout.c.Site.Name), t.st.Currency, t.st.Amount/100, t.st.Amount%100, id, id)
	case action == "pay" && req.Method == http.MethodPost:
		if t.st.Status != "initiated" && !t.authorised {
			http.Error(w, "this request was cancelled", http.StatusConflict)
			return
		}
		t.authorised = true
		http.Redirect(w, req, back+"return", http.StatusSeeOther)
	case action == "exit" && req.Method == http.MethodGet:
		http.Redirect(w, req, back+"exit", http.StatusSeeOther)
	default:
		http.NotFound(w, req)
	}
}

func readAll(req *http.Request) ([]byte, error) {
	defer req.Body.Close()
	return io.ReadAll(io.LimitReader(req.Body, 1<<20))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg, field string) {
	writeJSON(w, status, runtimeapi.ErrorBody{Error: msg, Message: msg, Code: code, RequestID: "req_fake", Field: field})
}
