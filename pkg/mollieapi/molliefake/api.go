package molliefake

import (
	"html"
	"net/http"
	"net/url"
	"time"
)

func (f *Server) createPayment(mode string, r *http.Request, body []byte) (int, any) {
	var in struct {
		Amount      *Amount `json:"amount"`
		Description string  `json:"description"`
		RedirectURL string  `json:"redirectUrl"`
		CancelURL   string  `json:"cancelUrl"`
		WebhookURL  string  `json:"webhookUrl"`
		Locale      string  `json:"locale"`
		Method      any     `json:"method"`
		Metadata    rawJSON `json:"metadata"`
	}
	if !decodeBody(body, &in) {
		return problemBody(http.StatusBadRequest, "", "The request body is not valid JSON")
	}
	v, cur, ok := parseAmount(in.Amount)
	if !ok {
		return problemBody(http.StatusUnprocessableEntity, "amount", "The amount is invalid: a supported currency and a value with its exact number of decimals")
	}
	if in.Description == "" {
		return problemBody(http.StatusUnprocessableEntity, "description", "The description is required")
	}
	if u, err := url.Parse(in.RedirectURL); err != nil || u.Scheme == "" || u.Host == "" {
		return problemBody(http.StatusUnprocessableEntity, "redirectUrl", "The redirect URL is invalid")
	}
	if in.WebhookURL != "" {
		if u, err := url.Parse(in.WebhookURL); err != nil || u.Scheme == "" || u.Host == "" {
			return problemBody(http.StatusUnprocessableEntity, "webhookUrl", "The webhook URL is invalid")
		}
	}
	if len(in.Metadata) > 1024 {
		return problemBody(http.StatusUnprocessableEntity, "metadata", "The metadata is larger than 1024 bytes")
	}
	p := &Payment{ID: "tr_" + randomID(10), Mode: mode, Description: in.Description, RedirectURL: in.RedirectURL, CancelURL: in.CancelURL,
		WebhookURL: in.WebhookURL, Locale: in.Locale, Status: "open", Currency: cur, Value: v, Metadata: []byte(in.Metadata), CreatedAt: time.Now().UTC()}
	f.mu.Lock()
	f.payments[p.ID] = p
	f.order = append(f.order, p.ID)
	out := f.paymentJSON(p)
	f.mu.Unlock()
	return http.StatusCreated, out
}

// rawJSON keeps a field's JSON as sent.
type rawJSON []byte

func (r *rawJSON) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}

// find returns a payment of the mode (another mode's is not found), under f.mu.
func (f *Server) find(mode, id string) *Payment {
	p, ok := f.payments[id]
	if !ok || p.Mode != mode {
		return nil
	}
	return p
}

func (f *Server) getPayment(w http.ResponseWriter, mode, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.find(mode, id)
	if p == nil {
		problem(w, http.StatusNotFound, "", "No payment exists with token "+id+".")
		return
	}
	writeJSON(w, http.StatusOK, f.paymentJSON(p))
}

func (f *Server) cancelPayment(mode string, r *http.Request, _ []byte) (int, any) {
	id := rePayment.FindStringSubmatch(r.URL.Path)[1]
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.find(mode, id)
	if p == nil {
		return problemBody(http.StatusNotFound, "", "No payment exists with token "+id+".")
	}
	if p.Status != "open" {
		return problemBody(http.StatusUnprocessableEntity, "", "The payment cannot be canceled")
	}
	now := time.Now().UTC()
	p.Status, p.CanceledAt = "canceled", &now
	return http.StatusOK, f.paymentJSON(p)
}

func (f *Server) paymentJSON(p *Payment) map[string]any {
	self := f.srv.URL + "/v2/payments/" + p.ID
	out := map[string]any{"resource": "payment", "id": p.ID, "mode": p.Mode, "status": p.Status, "isCancelable": p.Status == "open",
		"amount": format(p.Value, p.Currency), "description": p.Description, "redirectUrl": p.RedirectURL,
		"createdAt": p.CreatedAt.Format(time.RFC3339), "profileId": "pfl_fake"}
	if p.WebhookURL != "" {
		out["webhookUrl"] = p.WebhookURL
	}
	if len(p.Metadata) > 0 {
		out["metadata"] = rawJSONValue(p.Metadata)
	}
	links := map[string]any{"self": map[string]string{"href": self, "type": "application/hal+json"}}
	switch p.Status {
	case "open":
		out["expiresAt"] = p.CreatedAt.Add(15 * time.Minute).Format(time.RFC3339)
		links["checkout"] = map[string]string{"href": f.srv.URL + "/checkout/" + p.ID, "type": "text/html"}
	case "paid":
		out["paidAt"] = p.PaidAt.Format(time.RFC3339)
		out["method"] = p.Method
		out["amountRefunded"] = format(p.Refunded, p.Currency)
		out["amountRemaining"] = format(p.Value-p.Refunded-p.ChargedBack, p.Currency)
		if len(p.Refunds) > 0 {
			links["refunds"] = map[string]string{"href": self + "/refunds", "type": "application/hal+json"}
		}
		if len(p.Chargebacks) > 0 {
			out["amountChargedBack"] = format(p.ChargedBack, p.Currency)
			links["chargebacks"] = map[string]string{"href": self + "/chargebacks", "type": "application/hal+json"}
		}
	case "failed":
		out["failedAt"] = p.FailedAt.Format(time.RFC3339)
		out["details"] = map[string]string{"failureReason": "card_declined", "failureMessage": "The card was declined"}
	case "canceled":
		out["canceledAt"] = p.CanceledAt.Format(time.RFC3339)
	case "expired":
		out["expiredAt"] = p.ExpiredAt.Format(time.RFC3339)
	}
	out["_links"] = links
	return out
}

func (f *Server) createRefund(mode string, r *http.Request, body []byte) (int, any) {
	id := reRefunds.FindStringSubmatch(r.URL.Path)[1]
	var in struct {
		Amount      *Amount `json:"amount"`
		Description string  `json:"description"`
		Metadata    rawJSON `json:"metadata"`
	}
	if !decodeBody(body, &in) {
		return problemBody(http.StatusBadRequest, "", "The request body is not valid JSON")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.find(mode, id)
	if p == nil {
		return problemBody(http.StatusNotFound, "", "No payment exists with token "+id+".")
	}
	v, cur, ok := parseAmount(in.Amount)
	if !ok || cur != p.Currency {
		return problemBody(http.StatusUnprocessableEntity, "amount", "The amount is invalid or not in the payment's currency")
	}
	if p.Status != "paid" {
		return problemBody(http.StatusUnprocessableEntity, "", "The payment is not paid and cannot be refunded")
	}
	if v > p.Value-p.Refunded-p.ChargedBack {
		return problemBody(http.StatusUnprocessableEntity, "amount", "The amount is higher than the amount that can be refunded")
	}
	rf := &Refund{ID: "re_" + randomID(10), Status: "pending", Description: in.Description, Value: v, Metadata: []byte(in.Metadata), CreatedAt: time.Now().UTC()}
	if f.failRefunds {
		rf.Status = "failing" // shown as pending until settled
	}
	p.Refunds = append(p.Refunds, rf)
	p.Refunded += v
	return http.StatusCreated, f.refundJSON(p, rf)
}

func (f *Server) refundJSON(p *Payment, rf *Refund) map[string]any {
	status := rf.Status
	if status == "failing" {
		status = "pending"
	}
	out := map[string]any{"resource": "refund", "id": rf.ID, "status": status, "amount": format(rf.Value, p.Currency), "paymentId": p.ID,
		"description": rf.Description, "createdAt": rf.CreatedAt.Format(time.RFC3339), "mode": p.Mode}
	if len(rf.Metadata) > 0 {
		out["metadata"] = rawJSONValue(rf.Metadata)
	}
	return out
}

func (f *Server) listRefunds(w http.ResponseWriter, mode, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.find(mode, id)
	if p == nil {
		problem(w, http.StatusNotFound, "", "No payment exists with token "+id+".")
		return
	}
	items := make([]any, 0, len(p.Refunds))
	for _, rf := range p.Refunds {
		items = append(items, f.refundJSON(p, rf))
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(items), "_embedded": map[string]any{"refunds": items}, "_links": map[string]any{}})
}

func (f *Server) listChargebacks(w http.ResponseWriter, mode, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.find(mode, id)
	if p == nil {
		problem(w, http.StatusNotFound, "", "No payment exists with token "+id+".")
		return
	}
	items := make([]any, 0, len(p.Chargebacks))
	for _, cb := range p.Chargebacks {
		c := map[string]any{"resource": "chargeback", "id": cb.ID, "amount": format(cb.Value, p.Currency), "paymentId": p.ID,
			"createdAt": cb.CreatedAt.Format(time.RFC3339), "reason": map[string]string{"code": "AC01", "description": "Account identifier incorrect"}}
		if cb.ReversedAt != nil {
			c["reversedAt"] = cb.ReversedAt.Format(time.RFC3339)
		}
		items = append(items, c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(items), "_embedded": map[string]any{"chargebacks": items}, "_links": map[string]any{}})
}

func (f *Server) methods(w http.ResponseWriter) {
	items := []any{
		map[string]string{"resource": "method", "id": "ideal", "description": "iDEAL", "status": "activated"},
		map[string]string{"resource": "method", "id": "creditcard", "description": "Card", "status": "activated"},
		map[string]string{"resource": "method", "id": "bancontact", "description": "Bancontact", "status": "activated"},
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(items), "_embedded": map[string]any{"methods": items}, "_links": map[string]any{}})
}

// checkout is Mollie's hosted payment page: GET shows the payment and its buttons; POST
// .../pay|fail|cancel|expire decides, calls the webhook and sends the buyer to redirectUrl.
func (f *Server) checkout(w http.ResponseWriter, r *http.Request, id, action string) {
	f.mu.Lock()
	p, ok := f.payments[id]
	var pc Payment
	if ok {
		pc = *p
	}
	f.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if action == "" {
		if r.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		a := format(pc.Value, pc.Currency)
		_, _ = w.Write([]byte(`<!doctype html><html><head><title>Mollie checkout</title></head><body>
<h1 id="mollie-amount">` + html.EscapeString(a.Currency+" "+a.Value) + `</h1><p id="mollie-description">` + html.EscapeString(pc.Description) + `</p>
<p id="mollie-status">` + html.EscapeString(pc.Status) + `</p>
<form method="post" action="/checkout/` + pc.ID + `/pay"><button id="mollie-pay" type="submit">Paid</button></form>
<form method="post" action="/checkout/` + pc.ID + `/fail"><button id="mollie-fail" type="submit">Failed</button></form>
<form method="post" action="/checkout/` + pc.ID + `/cancel"><button id="mollie-cancel" type="submit">Canceled</button></form>
<form method="post" action="/checkout/` + pc.ID + `/expire"><button id="mollie-expire" type="submit">Expired</button></form>
</body></html>`))
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if pc.Status != "open" {
		http.Error(w, "the payment is "+pc.Status, http.StatusConflict)
		return
	}
	status := map[string]string{"pay": "paid", "fail": "failed", "cancel": "canceled", "expire": "expired"}[action]
	if err := f.SetStatus(r.Context(), id, status); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	target := pc.RedirectURL
	if status == "canceled" && pc.CancelURL != "" {
		target = pc.CancelURL
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}
