package paypalfake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"paygate.dev/pkg/money"
)

func (f *Fake) orderLinks(o *Order) []Link {
	self := f.URL + "/v2/checkout/orders/" + o.ID
	return []Link{{Href: self, Rel: "self", Method: "GET"}, {Href: f.URL + "/checkoutnow?token=" + o.ID, Rel: "approve", Method: "GET"},
		{Href: self + "/capture", Rel: "capture", Method: "POST"}}
}

// amount parses a PayPal amount exactly (the currency's decimals, no more).
func amount(m Money) (int64, *apiError) {
	c, ok := money.Lookup(m.CurrencyCode)
	if !ok {
		return 0, unprocessable("CURRENCY_NOT_SUPPORTED", "Currency code is not supported.")
	}
	v, err := money.ParseDecimal(m.Value, c)
	if err != nil || v <= 0 {
		return 0, &apiError{http.StatusBadRequest, "INVALID_REQUEST", "DECIMAL_PRECISION", "If the currency supports decimals, only two decimal place precision is supported."}
	}
	return v, nil
}

func (f *Fake) createOrder(r *http.Request) (int, any, *apiError) {
	var in struct {
		Intent             string         `json:"intent"`
		PurchaseUnits      []PurchaseUnit `json:"purchase_units"`
		ApplicationContext *struct {
			ReturnURL string `json:"return_url"`
			CancelURL string `json:"cancel_url"`
		} `json:"application_context"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		return 0, nil, &apiError{http.StatusBadRequest, "INVALID_REQUEST", "MALFORMED_REQUEST_JSON", "The request JSON is not well formed."}
	}
	if in.Intent != "CAPTURE" && in.Intent != "AUTHORIZE" {
		return 0, nil, &apiError{http.StatusBadRequest, "INVALID_REQUEST", "INVALID_PARAMETER_VALUE", "intent is invalid"}
	}
	if len(in.PurchaseUnits) != 1 {
		return 0, nil, &apiError{http.StatusBadRequest, "INVALID_REQUEST", "INVALID_ARRAY_MAX_ITEMS", "the fake takes one purchase unit"}
	}
	if _, e := amount(in.PurchaseUnits[0].Amount); e != nil {
		return 0, nil, e
	}
	o := &Order{ID: id(""), Status: "CREATED", Intent: in.Intent, PurchaseUnits: in.PurchaseUnits, CreateTime: now()}
	if o.PurchaseUnits[0].ReferenceID == "" {
		o.PurchaseUnits[0].ReferenceID = "default"
	}
	if ac := in.ApplicationContext; ac != nil {
		o.returnURL, o.cancelURL = ac.ReturnURL, ac.CancelURL
	}
	o.Links = f.orderLinks(o)
	f.orders[o.ID] = o
	return http.StatusCreated, o, nil
}

func (f *Fake) getOrder(r *http.Request) (int, any, *apiError) {
	o, ok := f.orders[r.PathValue("id")]
	if !ok {
		return 0, nil, notFound()
	}
	return http.StatusOK, o, nil
}

func (f *Fake) captureOrder(r *http.Request) (int, any, *apiError) {
	o, ok := f.orders[r.PathValue("id")]
	if !ok {
		return 0, nil, notFound()
	}
	switch o.Status {
	case "COMPLETED":
		return 0, nil, unprocessable("ORDER_ALREADY_CAPTURED", "Order already captured. If 'intent=CAPTURE' only one capture per order is allowed.")
	case "APPROVED":
	default:
		return 0, nil, unprocessable("ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment.")
	}
	pu := &o.PurchaseUnits[0]
	c := &Capture{ID: id("CAP"), Status: "COMPLETED", Amount: pu.Amount, CustomID: pu.CustomID, FinalCapture: true, CreateTime: now(), UpdateTime: now(), orderID: o.ID}
	switch {
	case f.declines:
		c.Status = "DECLINED"
	case f.pending:
		c.Status, c.StatusDetails = "PENDING", &StatusDetails{Reason: "PENDING_REVIEW"}
	}
	c.Links = []Link{{Href: f.URL + "/v2/payments/captures/" + c.ID, Rel: "self", Method: "GET"},
		{Href: f.URL + "/v2/payments/captures/" + c.ID + "/refund", Rel: "refund", Method: "POST"},
		{Href: f.URL + "/v2/checkout/orders/" + o.ID, Rel: "up", Method: "GET"}}
	f.captures[c.ID] = c
	pu.Payments = &Payments{Captures: []Capture{*c}}
	o.Status = "COMPLETED"
	return http.StatusCreated, o, nil
}

func (f *Fake) getCapture(r *http.Request) (int, any, *apiError) {
	c, ok := f.captures[r.PathValue("id")]
	if !ok {
		return 0, nil, notFound()
	}
	return http.StatusOK, c, nil
}

func (f *Fake) getRefund(r *http.Request) (int, any, *apiError) {
	rf, ok := f.refunds[r.PathValue("id")]
	if !ok {
		return 0, nil, notFound()
	}
	return http.StatusOK, rf, nil
}

func (f *Fake) refundCapture(r *http.Request) (int, any, *apiError) {
	c, ok := f.captures[r.PathValue("id")]
	if !ok {
		return 0, nil, notFound()
	}
	var in struct {
		Amount    *Money `json:"amount"`
		InvoiceID string `json:"invoice_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		return 0, nil, &apiError{http.StatusBadRequest, "INVALID_REQUEST", "MALFORMED_REQUEST_JSON", "The request JSON is not well formed."}
	}
	if c.Status != "COMPLETED" && c.Status != "PARTIALLY_REFUNDED" {
		return 0, nil, unprocessable("CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded or cannot be refunded.")
	}
	total, _ := amount(c.Amount)
	amt := total - c.refunded
	m := Money{CurrencyCode: c.Amount.CurrencyCode, Value: c.Amount.Value}
	if in.Amount != nil {
		if in.Amount.CurrencyCode != c.Amount.CurrencyCode {
			return 0, nil, unprocessable("REFUND_CAPTURE_CURRENCY_MISMATCH", "Refund must be in the same currency as the capture.")
		}
		v, e := amount(*in.Amount)
		if e != nil {
			return 0, nil, e
		}
		amt, m = v, *in.Amount
	}
	if amt > total-c.refunded {
		return 0, nil, unprocessable("REFUND_AMOUNT_EXCEEDED", "The refund amount must be less than or equal to the capture amount that has not yet been refunded.")
	}
	rf := &Refund{ID: id("REF"), Status: "COMPLETED", Amount: m, InvoiceID: in.InvoiceID, CustomID: c.CustomID, CreateTime: now(), UpdateTime: now()}
	if f.refundErr {
		rf.Status, rf.StatusDetails = "FAILED", &StatusDetails{Reason: "REFUND_FAILED_INSUFFICIENT_FUNDS"}
	} else {
		c.refunded += amt
		c.Status = "PARTIALLY_REFUNDED"
		if c.refunded == total {
			c.Status = "REFUNDED"
		}
		f.syncOrderCapture(c)
	}
	rf.Links = []Link{{Href: f.URL + "/v2/payments/refunds/" + rf.ID, Rel: "self", Method: "GET"},
		{Href: f.URL + "/v2/payments/captures/" + c.ID, Rel: "up", Method: "GET"}}
	f.refunds[rf.ID] = rf
	return http.StatusCreated, rf, nil
}

// approvePage is PayPal's approval page: ?token=ORDER shows the order with "Pay Now" (a link
// with &approve=1) and "Cancel and return" (&cancel=1); approving sends the buyer to the
// order's return_url with token and PayerID, cancelling to its cancel_url with token.
func (f *Fake) approvePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	o, ok := f.orders[q.Get("token")]
	var amt Money
	if ok {
		amt = o.PurchaseUnits[0].Amount
	}
	f.mu.Unlock()
	if !ok {
		http.Error(w, "no such order", http.StatusNotFound)
		return
	}
	if q.Get("approve") != "1" && q.Get("cancel") != "1" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		self := "/checkoutnow?token=" + url.QueryEscape(o.ID)
		_, _ = fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>PayPal Checkout</title><link rel="icon" href="data:,"></head>
<body><h1>Pay with PayPal</h1><p id="pp-amount">%s %s</p><a id="pp-approve" href="%s&amp;approve=1">Pay Now</a> <a id="pp-cancel" href="%s&amp;cancel=1">Cancel and return</a></body></html>`,
			html.EscapeString(amt.CurrencyCode), html.EscapeString(amt.Value), self, self)
		return
	}
	target := o.returnURL
	if q.Get("cancel") == "1" {
		target = o.cancelURL
	} else if err := f.Approve(o.ID); err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	if target == "" {
		_, _ = fmt.Fprintf(w, "<p>PayPal order %s: nothing to return to</p>", html.EscapeString(o.ID))
		return
	}
	u, err := url.Parse(target)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	back := u.Query()
	back.Set("token", o.ID)
	if q.Get("cancel") != "1" {
		back.Set("PayerID", "PAYER"+o.ID[:6])
	}
	u.RawQuery = back.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// --- webhooks ---

// Webhook headers PayPal sends with each delivery.
const (
	HeaderTransmissionID   = "Paypal-Transmission-Id"
	HeaderTransmissionTime = "Paypal-Transmission-Time"
	HeaderTransmissionSig  = "Paypal-Transmission-Sig"
	HeaderCertURL          = "Paypal-Cert-Url"
	HeaderAuthAlgo         = "Paypal-Auth-Algo"
)

func (f *Fake) sign(transmissionID, at, webhookID string, body []byte) string {
	m := hmac.New(sha256.New, f.key)
	m.Write([]byte(transmissionID + "|" + at + "|" + webhookID + "|" + strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10)))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// verify is POST /v1/notifications/verify-webhook-signature: SUCCESS when the transmission's
// signature is the fake's over its id, time, this account's webhook id and the event's CRC32.
func (f *Fake) verify(r *http.Request) (int, any, *apiError) {
	var in struct {
		AuthAlgo         string          `json:"auth_algo"`
		CertURL          string          `json:"cert_url"`
		TransmissionID   string          `json:"transmission_id"`
		TransmissionSig  string          `json:"transmission_sig"`
		TransmissionTime string          `json:"transmission_time"`
		WebhookID        string          `json:"webhook_id"`
		WebhookEvent     json.RawMessage `json:"webhook_event"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		return 0, nil, &apiError{http.StatusBadRequest, "INVALID_REQUEST", "MALFORMED_REQUEST_JSON", "The request JSON is not well formed."}
	}
	if in.WebhookID == "" || in.TransmissionID == "" || in.TransmissionSig == "" || in.TransmissionTime == "" || in.AuthAlgo == "" || in.CertURL == "" {
		return 0, nil, &apiError{http.StatusBadRequest, "VALIDATION_ERROR", "MISSING_REQUIRED_PARAMETER", "Invalid data provided"}
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, in.WebhookEvent); err != nil {
		return 0, nil, &apiError{http.StatusBadRequest, "VALIDATION_ERROR", "INVALID_PARAMETER_SYNTAX", "webhook_event is not JSON"}
	}
	status := "FAILURE"
	if in.WebhookID == f.WebhookID && hmac.Equal([]byte(f.sign(in.TransmissionID, in.TransmissionTime, in.WebhookID, compact.Bytes())), []byte(in.TransmissionSig)) {
		status = "SUCCESS"
	}
	return http.StatusOK, map[string]string{"verification_status": status}, nil
}

// Event is a webhook event body.
type Event struct {
	ID              string `json:"id"`
	CreateTime      string `json:"create_time"`
	ResourceType    string `json:"resource_type"`
	EventType       string `json:"event_type"`
	EventVersion    string `json:"event_version"`
	ResourceVersion string `json:"resource_version,omitempty"`
	Summary         string `json:"summary"`
	Resource        any    `json:"resource"`
	Links           []Link `json:"links"`
}

// Delivery is one signed webhook delivery: its body and headers.
type Delivery struct {
	Body   []byte
	Header http.Header
}

// NewEvent builds an event of eventType about resource (an *Order, Capture, Refund or Dispute).
func (f *Fake) NewEvent(eventType, resourceType string, resource any) Event {
	return Event{ID: "WH-" + id("") + "-" + id(""), CreateTime: time.Now().UTC().Format(time.RFC3339Nano), ResourceType: resourceType,
		EventType: eventType, EventVersion: "1.0", ResourceVersion: "2.0", Summary: eventType, Resource: resource,
		Links: []Link{{Href: f.URL + "/v1/notifications/webhooks-events/", Rel: "self", Method: "GET"}}}
}

// Sign makes a delivery of ev signed as PayPal signs it for this account's webhook.
func (f *Fake) Sign(ev Event) Delivery {
	body, _ := json.Marshal(ev)
	tid := rnd(8) + "-" + rnd(4) + "-11ee-" + rnd(4) + "-" + rnd(12)
	at := time.Now().UTC().Format(time.RFC3339)
	h := http.Header{}
	h.Set(HeaderTransmissionID, tid)
	h.Set(HeaderTransmissionTime, at)
	h.Set(HeaderTransmissionSig, f.sign(tid, at, f.WebhookID, body))
	h.Set(HeaderCertURL, f.URL+"/v1/notifications/certs/CERT-360caa42-fca2a594-fake")
	h.Set(HeaderAuthAlgo, "SHA256withRSA")
	h.Set("Content-Type", "application/json")
	return Delivery{Body: body, Header: h}
}

// OrderApproved is a CHECKOUT.ORDER.APPROVED event of an order.
func (f *Fake) OrderApproved(orderID string) Event {
	return f.NewEvent("CHECKOUT.ORDER.APPROVED", "checkout-order", f.Order(orderID))
}

// CaptureEvent is a PAYMENT.CAPTURE.<what> event (COMPLETED, PENDING, DENIED, DECLINED, REFUNDED ...) of a capture.
func (f *Fake) CaptureEvent(what, captureID string) Event {
	f.mu.Lock()
	c := *f.captures[captureID]
	f.mu.Unlock()
	return f.NewEvent("PAYMENT.CAPTURE."+what, "capture", c)
}

// RefundEvent is a refund event: PAYMENT.CAPTURE.REFUNDED for a completed refund,
// PAYMENT.REFUND.FAILED / PENDING otherwise.
func (f *Fake) RefundEvent(eventType, refundID string) Event {
	f.mu.Lock()
	rf := *f.refunds[refundID]
	f.mu.Unlock()
	return f.NewEvent(eventType, "refund", rf)
}

// Dispute is a dispute resource (Disputes v1) as in CUSTOMER.DISPUTE.* events.
type Dispute struct {
	DisputeID             string                `json:"dispute_id"`
	CreateTime            string                `json:"create_time"`
	UpdateTime            string                `json:"update_time"`
	DisputedTransactions  []DisputedTransaction `json:"disputed_transactions"`
	Reason                string                `json:"reason"`
	Status                string                `json:"status"`
	DisputeAmount         Money                 `json:"dispute_amount"`
	DisputeOutcome        *DisputeOutcome       `json:"dispute_outcome,omitempty"`
	DisputeLifeCycleStage string                `json:"dispute_life_cycle_stage"`
	DisputeChannel        string                `json:"dispute_channel"`
}

// DisputedTransaction names the capture a dispute is about.
type DisputedTransaction struct {
	SellerTransactionID string `json:"seller_transaction_id"`
	CustomID            string `json:"custom,omitempty"`
}

// DisputeOutcome is how a dispute was resolved.
type DisputeOutcome struct {
	OutcomeCode    string `json:"outcome_code"`
	AmountRefunded *Money `json:"amount_refunded,omitempty"`
}

// Dispute builds a dispute of a capture: status OPEN, or RESOLVED in the buyer's favour (lost)
// or the seller's (won).
func (f *Fake) Dispute(disputeID, captureID, status, outcome string) Dispute {
	f.mu.Lock()
	c := *f.captures[captureID]
	f.mu.Unlock()
	d := Dispute{DisputeID: disputeID, CreateTime: now(), UpdateTime: now(), Reason: "MERCHANDISE_OR_SERVICE_NOT_RECEIVED", Status: status,
		DisputeAmount: c.Amount, DisputeLifeCycleStage: "CHARGEBACK", DisputeChannel: "EXTERNAL",
		DisputedTransactions: []DisputedTransaction{{SellerTransactionID: c.ID, CustomID: c.CustomID}}}
	if outcome != "" {
		d.DisputeOutcome = &DisputeOutcome{OutcomeCode: outcome}
	}
	return d
}

// DisputeEvent is a CUSTOMER.DISPUTE.<what> event (CREATED, UPDATED, RESOLVED).
func (f *Fake) DisputeEvent(what string, d Dispute) Event {
	return f.NewEvent("CUSTOMER.DISPUTE."+what, "dispute", d)
}

// Deliver posts a delivery to url and returns the answer's status.
func Deliver(url string, d Delivery) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(d.Body))
	if err != nil {
		return 0, err
	}
	req.Header = d.Header.Clone()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	return res.StatusCode, nil
}
