package mollieapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// list is Mollie's HAL list: {"count": n, "_embedded": {"<name>": [...]}}.
type list struct {
	Count    int                          `json:"count"`
	Embedded map[string][]json.RawMessage `json:"_embedded"`
}

func decodeList[T any](r request, body []byte, name string) ([]T, error) {
	l, err := decode[list](r, body)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(l.Embedded[name]))
	for _, raw := range l.Embedded[name] {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("mollie: %s %s: decoding %s: %w", r.method, r.path, name, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func checkAmount(field string, a Amount) error {
	v, err := a.Minor()
	if err != nil {
		return &ValidationError{Field: field, Message: err.Error()}
	}
	if v <= 0 {
		return &ValidationError{Field: field, Message: "must be positive"}
	}
	if canon, _ := AmountOf(v, a.Currency); canon != a {
		return &ValidationError{Field: field, Message: "must be written " + canon.Value + " " + canon.Currency + " (exactly the currency's decimals)"}
	}
	return nil
}

// CreatePayment creates a payment; idemKey makes a retry of the same creation return the same
// payment (derive it from your own id).
func (c *Client) CreatePayment(ctx context.Context, in PaymentCreate, idemKey string) (*Payment, error) {
	if err := checkAmount("amount", in.Amount); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Description) == "" {
		return nil, &ValidationError{Field: "description", Message: "is required"}
	}
	if in.RedirectURL == "" {
		return nil, &ValidationError{Field: "redirectUrl", Message: "is required"}
	}
	r := request{method: http.MethodPost, path: "/v2/payments", body: in, idemKey: idemKey}
	return c.payment(ctx, r)
}

// GetPayment fetches a payment.
func (c *Client) GetPayment(ctx context.Context, id string) (*Payment, error) {
	p, err := idPath("payments", id, "")
	if err != nil {
		return nil, err
	}
	return c.payment(ctx, request{method: http.MethodGet, path: p})
}

// CancelPayment cancels an open payment (Mollie answers 422 when it is not cancelable).
func (c *Client) CancelPayment(ctx context.Context, id, idemKey string) (*Payment, error) {
	p, err := idPath("payments", id, "")
	if err != nil {
		return nil, err
	}
	return c.payment(ctx, request{method: http.MethodDelete, path: p, idemKey: idemKey})
}

func (c *Client) payment(ctx context.Context, r request) (*Payment, error) {
	body, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	pm, err := decode[Payment](r, body)
	if err != nil {
		return nil, err
	}
	if pm.ID == "" {
		return nil, fmt.Errorf("mollie: %s %s: the answer has no payment id", r.method, r.path)
	}
	pm.Metadata = stringMetadata(pm.RawMetadata)
	return pm, nil
}

// CreateRefund refunds (part of) a payment; idemKey makes a retry return the same refund.
func (c *Client) CreateRefund(ctx context.Context, paymentID string, in RefundCreate, idemKey string) (*Refund, error) {
	if err := checkAmount("amount", in.Amount); err != nil {
		return nil, err
	}
	p, err := idPath("payments", paymentID, "/refunds")
	if err != nil {
		return nil, err
	}
	r := request{method: http.MethodPost, path: p, body: in, idemKey: idemKey}
	body, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	rf, err := decode[Refund](r, body)
	if err != nil {
		return nil, err
	}
	rf.Metadata = stringMetadata(rf.RawMetadata)
	return rf, nil
}

// ListRefunds lists a payment's refunds (up to 250, Mollie's page limit).
func (c *Client) ListRefunds(ctx context.Context, paymentID string) ([]Refund, error) {
	p, err := idPath("payments", paymentID, "/refunds")
	if err != nil {
		return nil, err
	}
	r := request{method: http.MethodGet, path: p, query: url.Values{"limit": {"250"}}}
	body, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	rfs, err := decodeList[Refund](r, body, "refunds")
	for i := range rfs {
		rfs[i].Metadata = stringMetadata(rfs[i].RawMetadata)
	}
	return rfs, err
}

// ListChargebacks lists a payment's chargebacks.
func (c *Client) ListChargebacks(ctx context.Context, paymentID string) ([]Chargeback, error) {
	p, err := idPath("payments", paymentID, "/chargebacks")
	if err != nil {
		return nil, err
	}
	r := request{method: http.MethodGet, path: p, query: url.Values{"limit": {"250"}}}
	body, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	return decodeList[Chargeback](r, body, "chargebacks")
}

// ListMethods lists the payment methods enabled for the key's profile (optionally those
// available for an amount).
func (c *Client) ListMethods(ctx context.Context, amount *Amount) ([]Method, error) {
	q := url.Values{}
	if amount != nil {
		q.Set("amount[currency]", amount.Currency)
		q.Set("amount[value]", amount.Value)
	}
	r := request{method: http.MethodGet, path: "/v2/methods", query: q}
	body, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	return decodeList[Method](r, body, "methods")
}
