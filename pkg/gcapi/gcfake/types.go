package gcfake

import (
	"maps"
	"time"
)

// The types below are the fake's own copy of the wire format, deliberately independent of the
// gocardless client package so that a mistake in the client's JSON tags shows up in tests instead
// of being mirrored by the fake. Accessors return copies: mutating them does not change the fake.

// BillingRequest as served by GET /billing_requests/{id}.
type BillingRequest struct {
	ID              string              `json:"id"`
	CreatedAt       time.Time           `json:"created_at"`
	Status          string              `json:"status"`
	PaymentRequest  *PaymentRequest     `json:"payment_request"`
	MandateRequest  *MandateRequest     `json:"mandate_request"`
	Metadata        map[string]string   `json:"metadata"`
	FallbackEnabled bool                `json:"fallback_enabled"`
	Links           BillingRequestLinks `json:"links"`
	Actions         []Action            `json:"actions"`
}

// PaymentRequest is the payment part of a billing request.
type PaymentRequest struct {
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency"`
	Description string            `json:"description,omitempty"`
	Scheme      string            `json:"scheme"`
	Metadata    map[string]string `json:"metadata"`
}

// MandateRequest is the mandate part of a billing request.
type MandateRequest struct {
	Currency string            `json:"currency"`
	Scheme   string            `json:"scheme"`
	Metadata map[string]string `json:"metadata"`
	Links    map[string]string `json:"links"`
}

// BillingRequestLinks are the ids a billing request points at.
type BillingRequestLinks struct {
	Creditor              string `json:"creditor,omitempty"`
	Customer              string `json:"customer,omitempty"`
	CustomerBillingDetail string `json:"customer_billing_detail,omitempty"`
	CustomerBankAccount   string `json:"customer_bank_account,omitempty"`
	PaymentRequest        string `json:"payment_request,omitempty"`
	PaymentRequestPayment string `json:"payment_request_payment,omitempty"`
	MandateRequest        string `json:"mandate_request,omitempty"`
	MandateRequestMandate string `json:"mandate_request_mandate,omitempty"`
}

// Action is a step of a billing request.
type Action struct {
	Type             string   `json:"type"`
	Required         bool     `json:"required"`
	Status           string   `json:"status"`
	CompletesActions []string `json:"completes_actions"`
	RequiresActions  []string `json:"requires_actions"`
}

// BillingRequestFlow as answered by POST /billing_request_flows (GoCardless has no GET).
type BillingRequestFlow struct {
	ID                  string             `json:"id"`
	CreatedAt           time.Time          `json:"created_at"`
	AuthorisationURL    string             `json:"authorisation_url"`
	ExpiresAt           time.Time          `json:"expires_at"`
	RedirectURI         string             `json:"redirect_uri,omitempty"`
	ExitURI             string             `json:"exit_uri,omitempty"`
	Language            string             `json:"language,omitempty"`
	AutoFulfil          bool               `json:"auto_fulfil"`
	LockCurrency        bool               `json:"lock_currency"`
	LockCustomerDetails bool               `json:"lock_customer_details"`
	PrefilledCustomer   *PrefilledCustomer `json:"prefilled_customer,omitempty"`
	Links               map[string]string  `json:"links"`
}

// PrefilledCustomer is the payer data a flow was created with.
type PrefilledCustomer struct {
	GivenName    string `json:"given_name,omitempty"`
	FamilyName   string `json:"family_name,omitempty"`
	Email        string `json:"email,omitempty"`
	AddressLine1 string `json:"address_line1,omitempty"`
	City         string `json:"city,omitempty"`
	PostalCode   string `json:"postal_code,omitempty"`
	CountryCode  string `json:"country_code,omitempty"`
}

// Payment as served by GET /payments/{id}.
type Payment struct {
	ID             string            `json:"id"`
	CreatedAt      time.Time         `json:"created_at"`
	ChargeDate     string            `json:"charge_date"`
	Amount         int64             `json:"amount"`
	AmountRefunded int64             `json:"amount_refunded"`
	Currency       string            `json:"currency"`
	Status         string            `json:"status"`
	Description    string            `json:"description,omitempty"`
	Scheme         string            `json:"scheme"`
	Metadata       map[string]string `json:"metadata"`
	Links          map[string]string `json:"links"`
}

// Mandate as served by GET /mandates/{id}.
type Mandate struct {
	ID                     string            `json:"id"`
	CreatedAt              time.Time         `json:"created_at"`
	Status                 string            `json:"status"`
	Scheme                 string            `json:"scheme"`
	Reference              string            `json:"reference"`
	NextPossibleChargeDate string            `json:"next_possible_charge_date,omitempty"`
	Metadata               map[string]string `json:"metadata"`
	Links                  map[string]string `json:"links"`
}

// Refund as served by GET /refunds/{id}.
type Refund struct {
	ID        string            `json:"id"`
	CreatedAt time.Time         `json:"created_at"`
	Amount    int64             `json:"amount"`
	Currency  string            `json:"currency"`
	Status    string            `json:"status"`
	Reference string            `json:"reference,omitempty"`
	Metadata  map[string]string `json:"metadata"`
	Links     map[string]string `json:"links"`
}

// Customer is created when a billing request is fulfilled.
type Customer struct {
	ID           string    `json:"id"`
	CreatedAt    time.Time `json:"created_at"`
	GivenName    string    `json:"given_name"`
	FamilyName   string    `json:"family_name"`
	Email        string    `json:"email"`
	AddressLine1 string    `json:"address_line1,omitempty"`
	City         string    `json:"city,omitempty"`
	PostalCode   string    `json:"postal_code,omitempty"`
	CountryCode  string    `json:"country_code,omitempty"`
}

// Creditor as served by GET /creditors.
type Creditor struct {
	ID                 string    `json:"id"`
	CreatedAt          time.Time `json:"created_at"`
	Name               string    `json:"name"`
	CountryCode        string    `json:"country_code"`
	VerificationStatus string    `json:"verification_status"`
	CanCreateRefunds   bool      `json:"can_create_refunds"`
}

// Event is what webhooks carry. Links is a map so tests can build events with links the client
// does not know.
type Event struct {
	ID               string            `json:"id"`
	CreatedAt        time.Time         `json:"created_at"`
	ResourceType     string            `json:"resource_type"`
	Action           string            `json:"action"`
	Links            map[string]string `json:"links"`
	Details          EventDetails      `json:"details"`
	Metadata         map[string]string `json:"metadata"`
	ResourceMetadata map[string]string `json:"resource_metadata,omitempty"`
}

// EventDetails explains an event.
type EventDetails struct {
	Origin           string `json:"origin"`
	Cause            string `json:"cause"`
	Description      string `json:"description"`
	Scheme           string `json:"scheme,omitempty"`
	ReasonCode       string `json:"reason_code,omitempty"`
	WillAttemptRetry bool   `json:"will_attempt_retry,omitempty"`
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}

func (b BillingRequest) clone() BillingRequest {
	b.Metadata = cloneMap(b.Metadata)
	if b.PaymentRequest != nil {
		pr := *b.PaymentRequest
		pr.Metadata = cloneMap(pr.Metadata)
		b.PaymentRequest = &pr
	}
	if b.MandateRequest != nil {
		mr := *b.MandateRequest
		mr.Metadata = cloneMap(mr.Metadata)
		mr.Links = cloneMap(mr.Links)
		b.MandateRequest = &mr
	}
	b.Actions = append([]Action(nil), b.Actions...)
	return b
}

func (f BillingRequestFlow) clone() BillingRequestFlow {
	f.Links = cloneMap(f.Links)
	if f.PrefilledCustomer != nil {
		pc := *f.PrefilledCustomer
		f.PrefilledCustomer = &pc
	}
	return f
}

func (p Payment) clone() Payment { //nolint:unused // used through snapshot's type parameter
	p.Metadata, p.Links = cloneMap(p.Metadata), cloneMap(p.Links)
	return p
}

func (m Mandate) clone() Mandate { //nolint:unused // used through snapshot's type parameter
	m.Metadata, m.Links = cloneMap(m.Metadata), cloneMap(m.Links)
	return m
}

func (r Refund) clone() Refund {
	r.Metadata, r.Links = cloneMap(r.Metadata), cloneMap(r.Links)
	return r
}

func (e Event) clone() Event {
	e.Links, e.Metadata = cloneMap(e.Links), cloneMap(e.Metadata)
	if e.ResourceMetadata != nil {
		e.ResourceMetadata = maps.Clone(e.ResourceMetadata)
	}
	return e
}
