package gcfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// instantSchemes are the instant bank payment schemes by currency (payment_request).
var instantSchemes = map[string][]string{
	"GBP": {"faster_payments"},
	"EUR": {"sepa_credit_transfer", "sepa_instant_credit_transfer"},
}

// debitSchemes are the Direct Debit schemes by currency (mandate_request).
var debitSchemes = map[string]string{
	"GBP": "bacs", "EUR": "sepa_core", "SEK": "autogiro", "DKK": "betalingsservice",
	"AUD": "becs", "NZD": "becs_nz", "CAD": "pad", "USD": "ach",
}

// unwrap reads the request body and returns the object under key, answering 400
// invalid_api_usage (as GoCardless does) when the body is not JSON or lacks the wrapper.
func (s *Server) unwrap(w http.ResponseWriter, r *http.Request, key string, optional bool) (json.RawMessage, bool) {
	var body bytes.Buffer
	_, _ = body.ReadFrom(r.Body)
	if optional && len(bytes.TrimSpace(body.Bytes())) == 0 {
		return json.RawMessage("{}"), true
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body.Bytes(), &top); err != nil {
		s.writeError(w, http.StatusBadRequest, "invalid_api_usage", "Invalid JSON",
			[]fieldError{{Reason: "invalid_json", Message: "The request body is not a JSON object: " + err.Error()}})
		return nil, false
	}
	inner, ok := top[key]
	if !ok || len(top) != 1 || !bytes.HasPrefix(bytes.TrimSpace(inner), []byte("{")) {
		s.writeError(w, http.StatusBadRequest, "invalid_api_usage", "Invalid document structure",
			[]fieldError{{Reason: "invalid_document_structure",
				Message: fmt.Sprintf("The request body must be an object with exactly one key, %q, holding an object", key)}})
		return nil, false
	}
	return inner, true
}

// decodeInner decodes the wrapped object; a type mismatch is a 422 like GoCardless's.
func (s *Server) decodeInner(w http.ResponseWriter, raw json.RawMessage, key string, v any) bool {
	if err := json.Unmarshal(raw, v); err != nil {
		fe := fieldError{Message: err.Error(), RequestPointer: "/" + key}
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			fe.Field = te.Field
			fe.Message = "has the wrong type: expected " + te.Type.String()
			fe.RequestPointer = "/" + key + "/" + strings.ReplaceAll(te.Field, ".", "/")
		}
		s.writeError(w, http.StatusUnprocessableEntity, "validation_failed", "Validation failed", []fieldError{fe})
		return false
	}
	return true
}

type validation struct {
	root string
	errs []fieldError
}

func (v *validation) add(pointer, field, reason, format string, args ...any) {
	v.errs = append(v.errs, fieldError{Field: field, Message: fmt.Sprintf(format, args...),
		RequestPointer: v.root + pointer, Reason: reason})
}

func (v *validation) amount(pointer, field string, n json.Number, required bool) int64 {
	if n == "" {
		if required {
			v.add(pointer, field, "", "is required")
		}
		return 0
	}
	a, err := strconv.ParseInt(string(n), 10, 64)
	switch {
	case err != nil:
		v.add(pointer, field, "", "must be a whole number of minor units")
	case a <= 0:
		v.add(pointer, field, "", "must be greater than 0")
	}
	return a
}

func (v *validation) metadata(pointer string, md map[string]string) {
	if len(md) > 3 {
		v.add(pointer, "metadata", "", "must have at most 3 keys")
	}
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if n := utf8.RuneCountInString(k); n == 0 || n > 50 {
			v.add(pointer, "metadata", "", "key %q must be 1 to 50 characters", k)
		}
		if utf8.RuneCountInString(md[k]) > 500 {
			v.add(pointer, "metadata", "", "value for %q must be at most 500 characters", k)
		}
	}
}

func (v *validation) uri(pointer, field, raw string) {
	if raw == "" {
		return
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		v.add(pointer, field, "", "must be an absolute URL")
	}
}

func (s *Server) writeValidation(w http.ResponseWriter, v *validation) {
	s.writeError(w, http.StatusUnprocessableEntity, "validation_failed", "Validation failed", v.errs)
}

func (s *Server) writeNotFound(w http.ResponseWriter) {
	s.writeError(w, http.StatusNotFound, "invalid_api_usage", "Resource not found",
		[]fieldError{{Reason: "resource_not_found", Message: "Resource not found"}})
}

func (s *Server) writeInvalidState(w http.ResponseWriter, reason, message string) {
	s.writeError(w, http.StatusUnprocessableEntity, "invalid_state", message,
		[]fieldError{{Reason: reason, Message: message}})
}

// idemLookupLocked returns the resource an idempotency key already created on this endpoint.
func (s *Server) idemLookupLocked(r *http.Request) (string, bool) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return "", false
	}
	id, ok := s.idem[r.URL.Path+"\x00"+key]
	return id, ok
}

func (s *Server) idemStoreLocked(r *http.Request, id string) {
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		s.idem[r.URL.Path+"\x00"+key] = id
	}
}

func (s *Server) writeConflict(w http.ResponseWriter, id string) {
	s.writeError(w, http.StatusConflict, "invalid_state", "A resource has already been created with this idempotency key",
		[]fieldError{{Reason: "idempotent_creation_conflict",
			Message: "A resource has already been created with this idempotency key",
			Links:   map[string]string{"conflicting_resource_id": id}}})
}

type billingRequestIn struct {
	PaymentRequest  *paymentRequestIn `json:"payment_request"`
	MandateRequest  *mandateRequestIn `json:"mandate_request"`
	Metadata        map[string]string `json:"metadata"`
	FallbackEnabled bool              `json:"fallback_enabled"`
	Links           struct {
		Customer string `json:"customer"`
		Creditor string `json:"creditor"`
	} `json:"links"`
}

type paymentRequestIn struct {
	Amount      json.Number       `json:"amount"`
	Currency    string            `json:"currency"`
	Description string            `json:"description"`
	Scheme      string            `json:"scheme"`
	Metadata    map[string]string `json:"metadata"`
}

type mandateRequestIn struct {
	Currency string            `json:"currency"`
	Scheme   string            `json:"scheme"`
	Metadata map[string]string `json:"metadata"`
}

func (s *Server) handleCreateBillingRequest(w http.ResponseWriter, r *http.Request) {
	raw, ok := s.unwrap(w, r, "billing_requests", false)
	if !ok {
		return
	}
	var in billingRequestIn
	if !s.decodeInner(w, raw, "billing_requests", &in) {
		return
	}
	s.mu.Lock()
	if id, dup := s.idemLookupLocked(r); dup {
		s.mu.Unlock()
		s.writeConflict(w, id)
		return
	}
	br, v := s.validateBillingRequestLocked(&in)
	if len(v.errs) > 0 {
		s.mu.Unlock()
		s.writeValidation(w, v)
		return
	}
	s.createBillingRequestLocked(r, br, in.Links.Customer, in.Links.Creditor)
	out := br.clone()
	s.mu.Unlock()
	s.changed()
	w.Header().Set("Location", "/billing_requests/"+out.ID)
	writeJSON(w, http.StatusCreated, map[string]any{"billing_requests": out})
}

// validateBillingRequestLocked checks a new billing request and returns it (without IDs or
// links yet) with the validation errors found.
func (s *Server) validateBillingRequestLocked(in *billingRequestIn) (*BillingRequest, *validation) {
	v := &validation{root: "/billing_requests"}
	br := &BillingRequest{Status: "pending", Metadata: cloneMap(in.Metadata), FallbackEnabled: in.FallbackEnabled}
	if in.PaymentRequest == nil && in.MandateRequest == nil {
		v.add("", "payment_request", "", "or mandate_request must be provided")
	}
	if pr := in.PaymentRequest; pr != nil {
		br.PaymentRequest = v.paymentRequest(pr)
	}
	if mr := in.MandateRequest; mr != nil {
		br.MandateRequest = v.mandateRequest(mr, in.PaymentRequest)
	}
	v.metadata("/metadata", in.Metadata)
	if c := in.Links.Customer; c != "" && s.customers[c] == nil {
		v.add("/links/customer", "customer", "", "must reference an existing customer")
	}
	if c := in.Links.Creditor; c != "" && s.creditorLocked(c) == nil {
		v.add("/links/creditor", "creditor", "", "must reference an existing creditor")
	}
	return br, v
}

// paymentRequest checks a billing request's payment request (an instant bank payment).
func (v *validation) paymentRequest(pr *paymentRequestIn) *PaymentRequest {
	amount := v.amount("/payment_request/amount", "amount", pr.Amount, true)
	schemes, ok := instantSchemes[pr.Currency]
	scheme := pr.Scheme
	switch {
	case pr.Currency == "":
		v.add("/payment_request/currency", "currency", "", "is required")
	case !ok:
		v.add("/payment_request/currency", "currency", "", "%q is not supported for instant bank payments (supported: EUR, GBP)", pr.Currency)
	case scheme == "":
		scheme = schemes[0]
	case !contains(schemes, scheme):
		v.add("/payment_request/scheme", "scheme", "", "%q does not support currency %s", scheme, pr.Currency)
	}
	v.metadata("/payment_request/metadata", pr.Metadata)
	return &PaymentRequest{Amount: amount, Currency: pr.Currency, Description: pr.Description,
		Scheme: scheme, Metadata: cloneMap(pr.Metadata)}
}

// mandateRequest checks a billing request's mandate request (Direct Debit); pr is the
// payment request beside it, if any, whose currency it must match.
func (v *validation) mandateRequest(mr *mandateRequestIn, pr *paymentRequestIn) *MandateRequest {
	currency, scheme := mr.Currency, mr.Scheme
	if currency == "" && scheme != "" {
		for c, sc := range debitSchemes {
			if sc == scheme {
				currency = c
			}
		}
	}
	switch want, ok := debitSchemes[currency]; {
	case currency == "" && scheme == "":
		v.add("/mandate_request/currency", "currency", "", "or scheme is required")
	case currency == "":
		v.add("/mandate_request/scheme", "scheme", "", "%q is not a supported Direct Debit scheme", scheme)
	case !ok:
		v.add("/mandate_request/currency", "currency", "", "%q is not supported for Direct Debit", currency)
	case scheme == "":
		scheme = want
	case scheme != want:
		v.add("/mandate_request/scheme", "scheme", "", "%q does not support currency %s", scheme, currency)
	}
	if pr != nil && currency != "" && pr.Currency != currency {
		v.add("/mandate_request/currency", "currency", "", "must match the payment request's currency")
	}
	v.metadata("/mandate_request/metadata", mr.Metadata)
	return &MandateRequest{Currency: currency, Scheme: scheme, Metadata: cloneMap(mr.Metadata), Links: map[string]string{}}
}

// createBillingRequestLocked gives a validated billing request its IDs, links and actions,
// stores it under the request's idempotency key and records its "created" event.
func (s *Server) createBillingRequestLocked(r *http.Request, br *BillingRequest, customer, creditor string) {
	br.ID = s.newIDLocked("BRQ")
	br.CreatedAt = s.nowUTC()
	br.Links = BillingRequestLinks{Creditor: s.creditors[0].ID, Customer: customer}
	if creditor != "" {
		br.Links.Creditor = creditor
	}
	br.Actions = []Action{
		{Type: "collect_customer_details", Required: true, Status: "pending", CompletesActions: []string{"collect_billing_details"}, RequiresActions: []string{}},
		{Type: "collect_bank_account", Required: true, Status: "pending", CompletesActions: []string{}, RequiresActions: []string{}},
		{Type: "bank_authorisation", Required: true, Status: "pending", CompletesActions: []string{}, RequiresActions: []string{"collect_bank_account"}},
	}
	if br.PaymentRequest != nil {
		br.Links.PaymentRequest = s.newIDLocked("PRQ")
	}
	if br.MandateRequest != nil {
		br.Links.MandateRequest = s.newIDLocked("MRQ")
	}
	s.billingRequests[br.ID] = br
	s.idemStoreLocked(r, br.ID)
	s.recordEventLocked("billing_requests", "created", map[string]string{"billing_request": br.ID},
		EventDetails{Origin: "api", Cause: "billing_request_created", Description: "This billing request has been created."},
		nil, br.Metadata)
}

func (s *Server) handleCancelBillingRequest(w http.ResponseWriter, r *http.Request) {
	raw, ok := s.unwrap(w, r, "data", true)
	if !ok {
		return
	}
	var in struct {
		Metadata map[string]string `json:"metadata"`
	}
	if !s.decodeInner(w, raw, "data", &in) {
		return
	}
	v := &validation{root: "/data"}
	v.metadata("/metadata", in.Metadata)
	if len(v.errs) > 0 {
		s.writeValidation(w, v)
		return
	}
	s.mu.Lock()
	br := s.billingRequests[r.PathValue("id")]
	if br == nil {
		s.mu.Unlock()
		s.writeNotFound(w)
		return
	}
	if br.Status == "fulfilled" || br.Status == "cancelled" {
		status := br.Status
		s.mu.Unlock()
		s.writeInvalidState(w, "billing_request_"+status, "Billing request is already "+status+" and cannot be cancelled")
		return
	}
	s.cancelBillingRequestLocked(br, "api", in.Metadata)
	out := br.clone()
	s.mu.Unlock()
	s.changed()
	writeJSON(w, http.StatusOK, map[string]any{"billing_requests": out})
}

func (s *Server) cancelBillingRequestLocked(br *BillingRequest, origin string, metadata map[string]string) {
	br.Status = "cancelled"
	s.recordEventLocked("billing_requests", "cancelled", map[string]string{"billing_request": br.ID},
		EventDetails{Origin: origin, Cause: "billing_request_cancelled", Description: "This billing request has been cancelled."},
		metadata, br.Metadata)
}

func (s *Server) handleCreateFlow(w http.ResponseWriter, r *http.Request) {
	raw, ok := s.unwrap(w, r, "billing_request_flows", false)
	if !ok {
		return
	}
	var in struct {
		Links struct {
			BillingRequest string `json:"billing_request"`
		} `json:"links"`
		RedirectURI         string             `json:"redirect_uri"`
		ExitURI             string             `json:"exit_uri"`
		Language            string             `json:"language"`
		PrefilledCustomer   *PrefilledCustomer `json:"prefilled_customer"`
		LockCurrency        bool               `json:"lock_currency"`
		LockCustomerDetails bool               `json:"lock_customer_details"`
	}
	if !s.decodeInner(w, raw, "billing_request_flows", &in) {
		return
	}
	s.mu.Lock()
	if id, dup := s.idemLookupLocked(r); dup {
		s.mu.Unlock()
		s.writeConflict(w, id)
		return
	}
	v := &validation{root: "/billing_request_flows"}
	br := s.billingRequests[in.Links.BillingRequest]
	switch {
	case in.Links.BillingRequest == "":
		v.add("/links/billing_request", "billing_request", "", "is required")
	case br == nil:
		v.add("/links/billing_request", "billing_request", "", "must reference an existing billing request")
	}
	v.uri("/redirect_uri", "redirect_uri", in.RedirectURI)
	v.uri("/exit_uri", "exit_uri", in.ExitURI)
	if in.Language != "" && len(in.Language) != 2 {
		v.add("/language", "language", "", "must be an ISO 639-1 code")
	}
	if len(v.errs) > 0 {
		s.mu.Unlock()
		s.writeValidation(w, v)
		return
	}
	if br.Status == "fulfilled" || br.Status == "cancelled" {
		status := br.Status
		s.mu.Unlock()
		s.writeInvalidState(w, "billing_request_"+status, "Billing request is already "+status)
		return
	}
	f := &BillingRequestFlow{
		ID: s.newIDLocked("BRF"), CreatedAt: s.nowUTC(), RedirectURI: in.RedirectURI, ExitURI: in.ExitURI,
		Language: in.Language, AutoFulfil: true, LockCurrency: in.LockCurrency, LockCustomerDetails: in.LockCustomerDetails,
		PrefilledCustomer: in.PrefilledCustomer, Links: map[string]string{"billing_request": br.ID},
	}
	f.ExpiresAt = f.CreatedAt.Add(7 * 24 * time.Hour)
	f.AuthorisationURL = s.URL() + "/flow/" + f.ID
	s.flows[f.ID] = f
	s.idemStoreLocked(r, f.ID)
	s.recordEventLocked("billing_requests", "flow_created",
		map[string]string{"billing_request": br.ID, "billing_request_flow": f.ID},
		EventDetails{Origin: "api", Cause: "billing_request_flow_created", Description: "A billing request flow has been created."},
		nil, br.Metadata)
	out := f.clone()
	s.mu.Unlock()
	s.changed()
	writeJSON(w, http.StatusCreated, map[string]any{"billing_request_flows": out})
}

func (s *Server) handleCreateRefund(w http.ResponseWriter, r *http.Request) {
	raw, ok := s.unwrap(w, r, "refunds", false)
	if !ok {
		return
	}
	var in struct {
		Amount                  json.Number `json:"amount"`
		TotalAmountConfirmation json.Number `json:"total_amount_confirmation"`
		Links                   struct {
			Payment string `json:"payment"`
		} `json:"links"`
		Metadata  map[string]string `json:"metadata"`
		Reference string            `json:"reference"`
	}
	if !s.decodeInner(w, raw, "refunds", &in) {
		return
	}
	s.mu.Lock()
	if id, dup := s.idemLookupLocked(r); dup {
		s.mu.Unlock()
		s.writeConflict(w, id)
		return
	}
	v := &validation{root: "/refunds"}
	amount := v.amount("/amount", "amount", in.Amount, true)
	total := v.amount("/total_amount_confirmation", "total_amount_confirmation", in.TotalAmountConfirmation, true)
	v.metadata("/metadata", in.Metadata)
	p := s.payments[in.Links.Payment]
	switch {
	case in.Links.Payment == "":
		v.add("/links/payment", "payment", "", "is required")
	case p == nil:
		v.add("/links/payment", "payment", "", "must reference an existing payment")
	}
	if len(v.errs) > 0 {
		s.mu.Unlock()
		s.writeValidation(w, v)
		return
	}
	if p.Status != "confirmed" && p.Status != "paid_out" {
		status := p.Status
		s.mu.Unlock()
		s.writeInvalidState(w, "refund_payment_invalid_state", "Payment is "+status+"; only confirmed or paid out payments can be refunded")
		return
	}
	if remaining := p.Amount - p.AmountRefunded; amount > remaining {
		v.add("/amount", "amount", "available_refund_amount_insufficient",
			"exceeds the amount remaining to refund (%d of %d already refunded, %d left)", p.AmountRefunded, p.Amount, remaining)
	}
	if want := p.AmountRefunded + amount; total != want {
		v.add("/total_amount_confirmation", "total_amount_confirmation", "total_amount_confirmation_invalid",
			"must equal the total of all refunds on the payment including this one (%d), got %d", want, total)
	}
	if len(v.errs) > 0 {
		s.mu.Unlock()
		s.writeValidation(w, v)
		return
	}
	rf := &Refund{
		ID: s.newIDLocked("RF"), CreatedAt: s.nowUTC(), Amount: amount, Currency: p.Currency, Status: "created",
		Reference: in.Reference, Metadata: cloneMap(in.Metadata),
		Links: map[string]string{"payment": p.ID, "mandate": p.Links["mandate"]},
	}
	s.refunds[rf.ID] = rf
	p.AmountRefunded += amount
	s.idemStoreLocked(r, rf.ID)
	s.recordEventLocked("refunds", "created", map[string]string{"refund": rf.ID, "payment": p.ID, "mandate": p.Links["mandate"]},
		EventDetails{Origin: "api", Cause: "payment_refunded", Description: "The refund has been created, and will be submitted in the next batch."},
		nil, rf.Metadata)
	out := rf.clone()
	s.mu.Unlock()
	s.changed()
	w.Header().Set("Location", "/refunds/"+out.ID)
	writeJSON(w, http.StatusCreated, map[string]any{"refunds": out})
}

func (s *Server) handleListCreditors(w http.ResponseWriter, r *http.Request) {
	limit := 50
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			v := &validation{root: ""}
			v.add("/limit", "limit", "", "must be an integer between 1 and 500")
			s.writeValidation(w, v)
			return
		}
		limit = n
	}
	list := s.Creditors()
	if len(list) > limit {
		list = list[:limit]
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"creditors": list,
		"meta":      map[string]any{"cursors": map[string]any{"before": nil, "after": nil}, "limit": limit},
	})
}

func (s *Server) handleRunSimulator(w http.ResponseWriter, r *http.Request) {
	raw, ok := s.unwrap(w, r, "data", false)
	if !ok {
		return
	}
	var in struct {
		Links struct {
			Resource string `json:"resource"`
		} `json:"links"`
	}
	if !s.decodeInner(w, raw, "data", &in) {
		return
	}
	if in.Links.Resource == "" {
		v := &validation{root: "/data"}
		v.add("/links/resource", "resource", "", "is required")
		s.writeValidation(w, v)
		return
	}
	scenario := r.PathValue("id")
	s.mu.Lock()
	err := s.simulateLocked(scenario, in.Links.Resource)
	s.mu.Unlock()
	if err != nil {
		se, _ := errors.AsType[*simError](err)
		s.writeError(w, se.status, se.typ, se.msg, []fieldError{{Reason: se.reason, Message: se.msg}})
		return
	}
	s.changed()
	writeJSON(w, http.StatusOK, map[string]any{"scenario_simulators": map[string]string{"id": scenario}})
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Server) creditorLocked(id string) *Creditor {
	for _, c := range s.creditors {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// BillingRequest returns a copy of a billing request.
func (s *Server) BillingRequest(id string) (BillingRequest, bool) {
	return snapshot(s, s.billingRequests, id)
}

// BillingRequestFlow returns a copy of a flow (the real API has no GET for flows; this is for tests).
func (s *Server) BillingRequestFlow(id string) (BillingRequestFlow, bool) {
	return snapshot(s, s.flows, id)
}

// Payment returns a copy of a payment.
func (s *Server) Payment(id string) (Payment, bool) {
	return snapshot(s, s.payments, id)
}

// Mandate returns a copy of a mandate.
func (s *Server) Mandate(id string) (Mandate, bool) {
	return snapshot(s, s.mandates, id)
}

// Refund returns a copy of a refund.
func (s *Server) Refund(id string) (Refund, bool) {
	return snapshot(s, s.refunds, id)
}

// Customer returns a copy of a customer.
func (s *Server) Customer(id string) (Customer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.customers[id]; c != nil {
		return *c, true
	}
	return Customer{}, false
}

// Creditors returns the creditors GET /creditors serves.
func (s *Server) Creditors() []Creditor {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Creditor, len(s.creditors))
	for i, c := range s.creditors {
		out[i] = *c
	}
	return out
}

// snapshot returns a copy of m[id], taken under the server's lock.
func snapshot[T interface{ clone() T }](s *Server, m map[string]*T, id string) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := m[id]; v != nil {
		return (*v).clone(), true
	}
	var zero T
	return zero, false
}

// serveOne answers GET /{collection}/{id} with the resource get finds, wrapped in its
// collection's envelope, or GoCardless's 404.
func serveOne[T any](s *Server, collection string, get func(string) (T, bool)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, ok := get(r.PathValue("id"))
		if !ok {
			s.writeNotFound(w)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{collection: v})
	}
}
