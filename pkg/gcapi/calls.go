package gcapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// BillingRequestCreate is the body of POST /billing_requests. At least one of PaymentRequest
// and MandateRequest is required.
type BillingRequestCreate struct {
	PaymentRequest  *PaymentRequestCreate      `json:"payment_request,omitempty"`
	MandateRequest  *MandateRequestCreate      `json:"mandate_request,omitempty"`
	Metadata        map[string]string          `json:"metadata,omitempty"`
	FallbackEnabled bool                       `json:"fallback_enabled,omitempty"`
	Links           *BillingRequestCreateLinks `json:"links,omitempty"`
}

// PaymentRequestCreate asks for a one-off (instant bank) payment. Metadata here is copied onto
// the payment GoCardless creates on fulfilment; the billing request's own Metadata is not.
type PaymentRequestCreate struct {
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency"`
	Description string            `json:"description,omitempty"`
	Scheme      string            `json:"scheme,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// MandateRequestCreate asks for a Direct Debit mandate. Give Currency and let GoCardless pick the
// scheme, or give Scheme.
type MandateRequestCreate struct {
	Currency string            `json:"currency,omitempty"`
	Scheme   string            `json:"scheme,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// BillingRequestCreateLinks attaches the request to an existing customer or creditor.
type BillingRequestCreateLinks struct {
	Customer string `json:"customer,omitempty"`
	Creditor string `json:"creditor,omitempty"`
}

func (in BillingRequestCreate) validate() (BillingRequestCreate, error) {
	v := validator{root: "/billing_requests"}
	if in.PaymentRequest == nil && in.MandateRequest == nil {
		v.add("", "payment_request", "or mandate_request is required")
	}
	if pr := in.PaymentRequest; pr != nil {
		v.amount("/payment_request/amount", "amount", pr.Amount)
		v.currency("/payment_request/currency", "currency", pr.Currency)
		v.metadata("/payment_request/metadata", pr.Metadata)
		cp := *pr
		cp.Currency = strings.ToUpper(cp.Currency)
		in.PaymentRequest = &cp
	}
	if mr := in.MandateRequest; mr != nil {
		if mr.Currency == "" && mr.Scheme == "" {
			v.add("/mandate_request", "mandate_request", "needs a currency or a scheme")
		}
		if mr.Currency != "" {
			v.currency("/mandate_request/currency", "currency", mr.Currency)
		}
		v.metadata("/mandate_request/metadata", mr.Metadata)
		cp := *mr
		cp.Currency = strings.ToUpper(cp.Currency)
		in.MandateRequest = &cp
	}
	if in.PaymentRequest != nil && in.MandateRequest != nil && in.MandateRequest.Currency != "" &&
		in.PaymentRequest.Currency != in.MandateRequest.Currency {
		v.add("/mandate_request/currency", "currency", "must match the payment request's currency")
	}
	v.metadata("/metadata", in.Metadata)
	return in, v.err()
}

// CreateBillingRequest creates a billing request (POST /billing_requests).
//
// idemKey identifies this logical call: pass one derived from your own ids (e.g. the transaction
// id) so that retrying the whole operation cannot create a second request; if empty a random key
// is generated once and reused by every retry. When GoCardless answers that the key already
// created a billing request (409 idempotent_creation_conflict), that request is fetched and
// returned as if the create had succeeded; it fails with ErrIdempotencyKeyReused if the existing
// request is for a different amount or currency.
//
// Fails with *ValidationError before sending anything when the input breaks GoCardless's rules,
// with *APIError on an error answer, or with a wrapped network/context error.
func (c *Client) CreateBillingRequest(ctx context.Context, in BillingRequestCreate, idemKey string) (*BillingRequest, error) {
	in, err := in.validate()
	if err != nil {
		return nil, err
	}
	r := request{method: http.MethodPost, path: "/billing_requests", idemKey: idemKey,
		body: map[string]any{"billing_requests": in}}
	body, err := c.do(ctx, r)
	if id, apiErr := conflictID(err); id != "" {
		existing, gerr := c.GetBillingRequest(ctx, id)
		if gerr != nil {
			return nil, fmt.Errorf("gocardless: resolving idempotency conflict with %s: %w", id, gerr)
		}
		if !samePaymentRequest(in.PaymentRequest, existing.PaymentRequest) {
			return nil, fmt.Errorf("%w: billing request %s has a different payment request: %w", ErrIdempotencyKeyReused, id, apiErr)
		}
		return existing, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeEnvelope[BillingRequest](r, body, "billing_requests")
}

// samePaymentRequest reports whether an existing billing request asks for the money we asked for.
func samePaymentRequest(want *PaymentRequestCreate, got *PaymentRequest) bool {
	if want == nil || got == nil {
		return (want == nil) == (got == nil)
	}
	return want.Amount == got.Amount && strings.EqualFold(want.Currency, got.Currency)
}

// GetBillingRequest fetches a billing request (GET /billing_requests/{id}). A missing request is
// an *APIError for which IsNotFound is true.
func (c *Client) GetBillingRequest(ctx context.Context, id string) (*BillingRequest, error) {
	return getResource[BillingRequest](ctx, c, "billing_requests", id)
}

// CancelBillingRequest cancels a billing request that has not been fulfilled
// (POST /billing_requests/{id}/actions/cancel); metadata is attached to the cancellation event.
//
// Cancelling is treated as idempotent: if GoCardless refuses because of the request's state
// (invalid_state) and the request turns out to be cancelled already (by an earlier attempt whose
// answer was lost, or by someone else), the cancelled request is returned without error. A
// fulfilled request cannot be cancelled: that is returned as the *APIError.
func (c *Client) CancelBillingRequest(ctx context.Context, id string, metadata map[string]string, idemKey string) (*BillingRequest, error) {
	path, err := resourcePath("billing_requests", id, "/actions/cancel")
	if err != nil {
		return nil, err
	}
	v := validator{root: "/data"}
	v.metadata("/metadata", metadata)
	if err := v.err(); err != nil {
		return nil, err
	}
	data := map[string]any{}
	if len(metadata) > 0 {
		data["metadata"] = metadata
	}
	r := request{method: http.MethodPost, path: path, idemKey: idemKey, body: map[string]any{"data": data}}
	body, err := c.do(ctx, r)
	var ae *APIError
	if errors.As(err, &ae) && ae.Type == ErrorTypeInvalidState {
		if br, gerr := c.GetBillingRequest(ctx, id); gerr == nil && br.Status == BillingRequestStatusCancelled {
			return br, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return decodeEnvelope[BillingRequest](r, body, "billing_requests")
}

// BillingRequestFlowCreate is the body of POST /billing_request_flows.
type BillingRequestFlowCreate struct {
	Links               BillingRequestFlowCreateLinks `json:"links"`
	RedirectURI         string                        `json:"redirect_uri,omitempty"`
	ExitURI             string                        `json:"exit_uri,omitempty"`
	Language            string                        `json:"language,omitempty"`
	PrefilledCustomer   *PrefilledCustomer            `json:"prefilled_customer,omitempty"`
	LockCurrency        bool                          `json:"lock_currency,omitempty"`
	LockCustomerDetails bool                          `json:"lock_customer_details,omitempty"`
}

// BillingRequestFlowCreateLinks names the billing request the flow authorises.
type BillingRequestFlowCreateLinks struct {
	BillingRequest string `json:"billing_request"`
}

func (in BillingRequestFlowCreate) validate() error {
	v := validator{root: "/billing_request_flows"}
	v.required("/links/billing_request", "billing_request", in.Links.BillingRequest)
	v.optionalURL("/redirect_uri", "redirect_uri", in.RedirectURI)
	v.optionalURL("/exit_uri", "exit_uri", in.ExitURI)
	if in.Language != "" && len(in.Language) != 2 {
		v.add("/language", "language", "must be a two-letter ISO 639-1 code, got %q", in.Language)
	}
	if pc := in.PrefilledCustomer; pc != nil && pc.CountryCode != "" && len(pc.CountryCode) != 2 {
		v.add("/prefilled_customer/country_code", "country_code", "must be a two-letter ISO 3166-1 code, got %q", pc.CountryCode)
	}
	return v.err()
}

// CreateBillingRequestFlow creates a hosted authorisation session for a billing request
// (POST /billing_request_flows); send the payer to the answer's AuthorisationURL.
//
// Unlike the other creates, an idempotent_creation_conflict is returned as the *APIError (its
// ConflictingResourceID names the existing flow): GoCardless has no endpoint to fetch a flow, so
// the existing authorisation URL cannot be recovered. Flows are cheap and carry no money, so on
// such an error create a new flow with a fresh key instead.
func (c *Client) CreateBillingRequestFlow(ctx context.Context, in BillingRequestFlowCreate, idemKey string) (*BillingRequestFlow, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	r := request{method: http.MethodPost, path: "/billing_request_flows", idemKey: idemKey,
		body: map[string]any{"billing_request_flows": in}}
	body, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	return decodeEnvelope[BillingRequestFlow](r, body, "billing_request_flows")
}

// GetPayment fetches a payment (GET /payments/{id}). A missing payment is an *APIError for which
// IsNotFound is true.
func (c *Client) GetPayment(ctx context.Context, id string) (*Payment, error) {
	return getResource[Payment](ctx, c, "payments", id)
}

// RefundCreate is a refund of (part of) a payment. TotalAmountConfirmation must equal every
// refund already made on the payment plus this one: GoCardless rejects the refund otherwise,
// which is what stops a retried or duplicated refund from paying out twice.
type RefundCreate struct {
	Amount                  int64
	TotalAmountConfirmation int64
	PaymentID               string
	Metadata                map[string]string
	Reference               string
}

type refundCreateWire struct {
	Amount                  int64 `json:"amount"`
	TotalAmountConfirmation int64 `json:"total_amount_confirmation"`
	Links                   struct {
		Payment string `json:"payment"`
	} `json:"links"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	Reference string            `json:"reference,omitempty"`
}

func (in RefundCreate) validate() error {
	v := validator{root: "/refunds"}
	v.amount("/amount", "amount", in.Amount)
	v.required("/links/payment", "payment", in.PaymentID)
	if in.TotalAmountConfirmation < in.Amount {
		v.add("/total_amount_confirmation", "total_amount_confirmation",
			"must include this refund (%d), got %d", in.Amount, in.TotalAmountConfirmation)
	}
	v.metadata("/metadata", in.Metadata)
	return v.err()
}

// CreateRefund refunds (part of) a payment (POST /refunds). Idempotency works as for
// CreateBillingRequest: on idempotent_creation_conflict the existing refund is fetched and
// returned, unless it belongs to another payment or has another amount (ErrIdempotencyKeyReused).
//
// GoCardless answers 422 when the amount exceeds what is left to refund or
// TotalAmountConfirmation is wrong (IsValidation is true for both), and refuses refunds on
// payments that are not yet confirmed.
func (c *Client) CreateRefund(ctx context.Context, in RefundCreate, idemKey string) (*Refund, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	w := refundCreateWire{Amount: in.Amount, TotalAmountConfirmation: in.TotalAmountConfirmation,
		Metadata: in.Metadata, Reference: in.Reference}
	w.Links.Payment = in.PaymentID
	r := request{method: http.MethodPost, path: "/refunds", idemKey: idemKey, body: map[string]any{"refunds": w}}
	body, err := c.do(ctx, r)
	if id, apiErr := conflictID(err); id != "" {
		existing, gerr := c.GetRefund(ctx, id)
		if gerr != nil {
			return nil, fmt.Errorf("gocardless: resolving idempotency conflict with %s: %w", id, gerr)
		}
		if existing.Links.Payment != in.PaymentID || existing.Amount != in.Amount {
			return nil, fmt.Errorf("%w: refund %s is %d on payment %s, not %d on %s: %w", ErrIdempotencyKeyReused, id,
				existing.Amount, existing.Links.Payment, in.Amount, in.PaymentID, apiErr)
		}
		return existing, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeEnvelope[Refund](r, body, "refunds")
}

// GetRefund fetches a refund (GET /refunds/{id}).
func (c *Client) GetRefund(ctx context.Context, id string) (*Refund, error) {
	return getResource[Refund](ctx, c, "refunds", id)
}

// GetMandate fetches a mandate (GET /mandates/{id}).
func (c *Client) GetMandate(ctx context.Context, id string) (*Mandate, error) {
	return getResource[Mandate](ctx, c, "mandates", id)
}

// ListCreditors lists the creditors the token can see (GET /creditors), at most limit of them
// (1..500; 0 means GoCardless's default page size). It is the cheapest authenticated call, which
// makes it the "test the connection" probe: a bad token fails with a 401 *APIError.
func (c *Client) ListCreditors(ctx context.Context, limit int) ([]Creditor, error) {
	if limit < 0 || limit > 500 {
		return nil, &ValidationError{Errors: []FieldError{{Field: "limit", Message: fmt.Sprintf("must be between 1 and 500, got %d", limit)}}}
	}
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	r := request{method: http.MethodGet, path: "/creditors", query: q}
	body, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	list, err := decodeEnvelope[[]Creditor](r, body, "creditors")
	if err != nil {
		return nil, err
	}
	return *list, nil
}

// Scenario simulators known to exist in the GoCardless sandbox (and in gcfake).
const (
	ScenarioBillingRequestFulfilled                  = "billing_request_fulfilled"
	ScenarioBillingRequestFulfilledAndPaymentFailed  = "billing_request_fulfilled_and_payment_failed"
	ScenarioBillingRequestFulfilledAndPaymentPaidOut = "billing_request_fulfilled_and_payment_paid_out"
	ScenarioPaymentConfirmed                         = "payment_confirmed"
	ScenarioPaymentPaidOut                           = "payment_paid_out"
	ScenarioPaymentFailed                            = "payment_failed"
	ScenarioPaymentChargedBack                       = "payment_charged_back"
	ScenarioPaymentCancelled                         = "payment_cancelled"
	ScenarioMandateActivated                         = "mandate_activated"
	ScenarioMandateFailed                            = "mandate_failed"
	ScenarioRefundPaid                               = "refund_paid"
	ScenarioRefundBounced                            = "refund_bounced"
)

// RunScenarioSimulator drives a sandbox resource through a scenario
// (POST /scenario_simulators/{simulatorID}/actions/run). It fails with ErrSandboxOnly, without
// a request, on a live client; GoCardless answers 422 when the resource is not in a state the
// scenario starts from.
func (c *Client) RunScenarioSimulator(ctx context.Context, simulatorID, resourceID string) error {
	if c.environment != EnvironmentSandbox {
		return ErrSandboxOnly
	}
	path, err := resourcePath("scenario_simulators", simulatorID, "/actions/run")
	if err != nil {
		return err
	}
	v := validator{root: "/data"}
	v.required("/links/resource", "resource", resourceID)
	if err := v.err(); err != nil {
		return err
	}
	body := map[string]any{"data": map[string]any{"links": map[string]string{"resource": resourceID}}}
	_, err = c.do(ctx, request{method: http.MethodPost, path: path, body: body})
	return err
}

// getResource fetches one resource (GET /{collection}/{id}) and decodes its envelope.
func getResource[T any](ctx context.Context, c *Client, collection, id string) (*T, error) {
	path, err := resourcePath(collection, id, "")
	if err != nil {
		return nil, err
	}
	r := request{method: http.MethodGet, path: path}
	body, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	return decodeEnvelope[T](r, body, collection)
}
