package mollieapi

import (
	"fmt"
	"strings"
	"time"

	"paygate.dev/pkg/money"
)

// Amount is Mollie's money: a currency and a decimal string with the currency's decimals.
type Amount struct {
	Currency string `json:"currency"`
	Value    string `json:"value"`
}

// AmountOf renders minor units exactly ("1050" EUR cents is "10.50"; JPY 1050 is "1050").
func AmountOf(minor int64, currency string) (Amount, error) {
	c, ok := money.Lookup(strings.ToUpper(currency))
	if !ok {
		return Amount{}, &ValidationError{Field: "amount.currency", Message: fmt.Sprintf("%q is not a known currency", currency)}
	}
	return Amount{Currency: c.Code, Value: money.FormatDecimal(minor, c)}, nil
}

// Minor parses the amount into minor units of its currency, exactly.
func (a Amount) Minor() (int64, error) {
	c, ok := money.Lookup(strings.ToUpper(a.Currency))
	if !ok {
		return 0, fmt.Errorf("mollie: unknown currency %q", a.Currency)
	}
	v, err := money.ParseDecimal(a.Value, c)
	if err != nil {
		return 0, fmt.Errorf("mollie: amount %q %s: %w", a.Value, a.Currency, err)
	}
	return v, nil
}

// MinorOf is Minor of an optional amount (nil is 0).
func MinorOf(a *Amount) (int64, error) {
	if a == nil {
		return 0, nil
	}
	return a.Minor()
}

// Link is a HAL link.
type Link struct {
	Href string `json:"href"`
	Type string `json:"type,omitempty"`
}

// PaymentStatus is a payment's status.
type PaymentStatus string

// Payment statuses.
const (
	PaymentOpen       PaymentStatus = "open"
	PaymentCanceled   PaymentStatus = "canceled"
	PaymentPending    PaymentStatus = "pending"
	PaymentAuthorized PaymentStatus = "authorized"
	PaymentExpired    PaymentStatus = "expired"
	PaymentFailed     PaymentStatus = "failed"
	PaymentPaid       PaymentStatus = "paid"
)

// Payment is a Mollie payment (the fields used).
type Payment struct {
	ID                string            `json:"id"`
	Mode              string            `json:"mode"`
	Status            PaymentStatus     `json:"status"`
	IsCancelable      bool              `json:"isCancelable"`
	Amount            Amount            `json:"amount"`
	AmountRefunded    *Amount           `json:"amountRefunded,omitempty"`
	AmountRemaining   *Amount           `json:"amountRemaining,omitempty"`
	AmountChargedBack *Amount           `json:"amountChargedBack,omitempty"`
	Description       string            `json:"description"`
	Method            string            `json:"method,omitempty"`
	Metadata          map[string]string `json:"-"`
	RawMetadata       any               `json:"metadata,omitempty"`
	RedirectURL       string            `json:"redirectUrl,omitempty"`
	WebhookURL        string            `json:"webhookUrl,omitempty"`
	CreatedAt         time.Time         `json:"createdAt"`
	PaidAt            *time.Time        `json:"paidAt,omitempty"`
	CanceledAt        *time.Time        `json:"canceledAt,omitempty"`
	ExpiresAt         *time.Time        `json:"expiresAt,omitempty"`
	ExpiredAt         *time.Time        `json:"expiredAt,omitempty"`
	FailedAt          *time.Time        `json:"failedAt,omitempty"`
	Details           *struct {
		FailureReason  string `json:"failureReason,omitempty"`
		FailureMessage string `json:"failureMessage,omitempty"`
	} `json:"details,omitempty"`
	Links struct {
		Checkout    *Link `json:"checkout,omitempty"`
		Refunds     *Link `json:"refunds,omitempty"`
		Chargebacks *Link `json:"chargebacks,omitempty"`
	} `json:"_links"`
}

// CheckoutURL is where to send the buyer ("" once the payment is no longer open).
func (p *Payment) CheckoutURL() string {
	if p.Links.Checkout == nil {
		return ""
	}
	return p.Links.Checkout.Href
}

// PaymentCreate is POST /v2/payments.
type PaymentCreate struct {
	Amount      Amount            `json:"amount"`
	Description string            `json:"description"`
	RedirectURL string            `json:"redirectUrl"`
	CancelURL   string            `json:"cancelUrl,omitempty"`
	WebhookURL  string            `json:"webhookUrl,omitempty"`
	Locale      string            `json:"locale,omitempty"`
	Method      []string          `json:"method,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// RefundStatus is a refund's status.
type RefundStatus string

// Refund statuses.
const (
	RefundQueued     RefundStatus = "queued"
	RefundPending    RefundStatus = "pending"
	RefundProcessing RefundStatus = "processing"
	RefundRefunded   RefundStatus = "refunded"
	RefundFailed     RefundStatus = "failed"
	RefundCanceled   RefundStatus = "canceled"
)

// Refund is a Mollie refund.
type Refund struct {
	ID          string            `json:"id"`
	Amount      Amount            `json:"amount"`
	Status      RefundStatus      `json:"status"`
	PaymentID   string            `json:"paymentId"`
	Description string            `json:"description"`
	Metadata    map[string]string `json:"-"`
	RawMetadata any               `json:"metadata,omitempty"`
	CreatedAt   time.Time         `json:"createdAt"`
}

// RefundCreate is POST /v2/payments/{id}/refunds.
type RefundCreate struct {
	Amount      Amount            `json:"amount"`
	Description string            `json:"description,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// Chargeback is a Mollie chargeback.
type Chargeback struct {
	ID         string     `json:"id"`
	Amount     Amount     `json:"amount"`
	PaymentID  string     `json:"paymentId"`
	CreatedAt  time.Time  `json:"createdAt"`
	ReversedAt *time.Time `json:"reversedAt,omitempty"`
	Reason     *struct {
		Code        string `json:"code"`
		Description string `json:"description"`
	} `json:"reason,omitempty"`
}

// Method is a payment method enabled on the account.
type Method struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	Status      string `json:"status,omitempty"`
}

// stringMetadata keeps the string values of a metadata object (Mollie's metadata is any JSON;
// ours is always an object of strings).
func stringMetadata(v any) map[string]string {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		if s, ok := x.(string); ok {
			out[k] = s
		}
	}
	return out
}
