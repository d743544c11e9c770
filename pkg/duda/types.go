package duda

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"paygate.dev/pkg/money"
)

// Mode tells live payments from test payments. Duda writes it in capitals.
type Mode string

// Modes of a payment-methods request, a payment session and a refund intent.
const (
	ModeLive Mode = "LIVE"
	ModeTest Mode = "TEST"
)

// IsTest reports whether the mode is TEST (case-insensitive). Anything else, including an empty mode, is live:
// treating an unknown mode as test could hand a real shopper a test payment.
func (m Mode) IsTest() bool { return strings.EqualFold(strings.TrimSpace(string(m)), string(ModeTest)) }

// ---------------------------------------------------------------------------------------------------------------
// App lifecycle (Duda calls us).

// InstallAuth is the per-site token grant inside the install payload.
type InstallAuth struct {
	Type              string   `json:"type"` // "bearer"
	AuthorizationCode string   `json:"authorization_code"`
	RefreshToken      string   `json:"refresh_token"`
	ExpirationDate    UnixTime `json:"expiration_date"`
}

// InstallPayload is the body of the app lifecycle "install" call. APIEndpoint is the base for every later call for
// this site; check it with CheckAPIEndpoint before trusting it with the app credentials.
type InstallPayload struct {
	Auth                 InstallAuth     `json:"auth"`
	APIEndpoint          string          `json:"api_endpoint"`
	SiteName             string          `json:"site_name"`
	InstallerAccountUUID string          `json:"installer_account_uuid,omitempty"`
	AccountOwnerUUID     string          `json:"account_owner_uuid,omitempty"`
	UserLang             string          `json:"user_lang,omitempty"`
	AppPlanUUID          string          `json:"app_plan_uuid,omitempty"`
	Recurrency           string          `json:"recurrency,omitempty"`
	Free                 Bool            `json:"free"`
	ConfigurationData    json.RawMessage `json:"configuration_data,omitempty"`
}

// Tokens returns the site's tokens from the install grant, ready for a TokenStore.
func (p InstallPayload) Tokens() Tokens {
	return Tokens{AccessToken: p.Auth.AuthorizationCode, RefreshToken: p.Auth.RefreshToken, ExpiresAt: p.Auth.ExpirationDate.Time}
}

// UninstallPayload is the body of the app lifecycle "uninstall" call.
type UninstallPayload struct {
	SiteName string `json:"site_name"`
	Free     Bool   `json:"free"`
}

// TokenResponse is Duda's answer to a token refresh.
type TokenResponse struct {
	Type              string   `json:"type"`
	AuthorizationCode string   `json:"authorization_code"`
	RefreshToken      string   `json:"refresh_token"`
	ExpirationDate    UnixTime `json:"expiration_date"`
}

// ---------------------------------------------------------------------------------------------------------------
// Payment gateway registration (we call Duda).

// PaymentGateway is our gateway as registered on a Duda site. ID is Duda's (cpg_...), empty when registering.
// Empty fields are left out, so the same type serves as a PATCH body.
type PaymentGateway struct {
	ID                    string   `json:"id,omitempty"`
	LivePaymentMethodsURL string   `json:"live_payment_methods_url,omitempty"`
	TestPaymentMethodsURL string   `json:"test_payment_methods_url,omitempty"`
	Name                  string   `json:"name,omitempty"`
	Description           string   `json:"description,omitempty"`
	Image                 string   `json:"image,omitempty"`
	Icons                 []string `json:"icons,omitempty"`
}

// PaymentGatewayList is one page of a site's registered gateways.
type PaymentGatewayList struct {
	Offset         int              `json:"offset"`
	Limit          int              `json:"limit"`
	TotalResponses int              `json:"total_responses"`
	Results        []PaymentGateway `json:"results"`
}

// ---------------------------------------------------------------------------------------------------------------
// Checkout flow.

// Address is a billing or shipping address. Country is an ISO 3166 alpha-2 code; any field may be empty.
type Address struct {
	FirstName    string `json:"first_name,omitempty"`
	LastName     string `json:"last_name,omitempty"`
	FullName     string `json:"full_name,omitempty"`
	Address1     string `json:"address_1,omitempty"`
	Address2     string `json:"address_2,omitempty"`
	StreetNumber string `json:"street_number,omitempty"`
	StreetName   string `json:"street_name,omitempty"`
	City         string `json:"city,omitempty"`
	SubLocality  string `json:"sub_locality,omitempty"`
	Region       string `json:"region,omitempty"`
	Country      string `json:"country,omitempty"`
	PostalCode   string `json:"postal_code,omitempty"`
	Phone        string `json:"phone,omitempty"`
}

// Item types Duda uses on invoice lines.
const (
	ItemPhysical = "PHYSICAL"
	ItemDigital  = "DIGITAL"
	ItemTax      = "TAX"
	ItemShipping = "SHIPPING"
	ItemDiscount = "DISCOUNT"
)

// Kinds of line the platform's checkout knows, as returned by ItemKind.
const (
	KindGoods          = "goods"
	KindDigitalService = "digital_service"
	KindTax            = "tax"
	KindShipping       = "shipping"
	KindDiscount       = "discount"
)

// ItemKind maps a Duda item type (PHYSICAL, DIGITAL, TAX, SHIPPING, DISCOUNT; case-insensitive) to the platform's
// line kind. It returns "" for a type it does not know: the caller decides whether to refuse the cart or to treat the
// line as goods, rather than this package guessing.
func ItemKind(dudaType string) string {
	switch strings.ToUpper(strings.TrimSpace(dudaType)) {
	case ItemPhysical:
		return KindGoods
	case ItemDigital:
		return KindDigitalService
	case ItemTax:
		return KindTax
	case ItemShipping:
		return KindShipping
	case ItemDiscount:
		return KindDiscount
	}
	return ""
}

// PaymentMethodsRequest is what Duda POSTs to our payment-methods URL at the payment step. It carries no session
// id and no documented signature: check SiteName against our own install records before answering.
type PaymentMethodsRequest struct {
	Mode     Mode                  `json:"mode"`
	SiteName string                `json:"site_name"`
	Invoice  PaymentMethodsInvoice `json:"invoice"`
}

// PaymentMethodsInvoice is the cart as Duda describes it in a payment-methods request.
type PaymentMethodsInvoice struct {
	PurchaseID      string               `json:"purchase_id"`
	PurchaseType    string               `json:"purchase_type"`
	Email           string               `json:"email,omitempty"`
	Language        string               `json:"language,omitempty"`
	Currency        string               `json:"currency"`
	Total           Decimal              `json:"total"`
	BillingAddress  *Address             `json:"billing_address,omitempty"`
	ShippingAddress *Address             `json:"shipping_address,omitempty"`
	Items           []PaymentMethodsItem `json:"items"`
}

// PaymentMethodsItem is a line of a payment-methods request. Its price field is called amount (the payment
// session calls it unit_price); DiscountAmount and Total mean what they mean on SessionItem.
type PaymentMethodsItem struct {
	Name           string   `json:"name"`
	Amount         Decimal  `json:"amount"`
	Quantity       Quantity `json:"quantity"`
	Type           string   `json:"type"`
	DiscountAmount Decimal  `json:"discount_amount"`
	Total          Decimal  `json:"total"`
}

// Kind is ItemKind(it.Type).
func (it PaymentMethodsItem) Kind() string { return ItemKind(it.Type) }

// PaymentMethod is one button we offer at Duda's payment step. Answer the payment-methods call with a JSON array
// of these, or with [] (never null) when the payment cannot be taken.
type PaymentMethod struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	CheckoutURL string `json:"checkout_url"`
	Icon        string `json:"icon,omitempty"`
}

// PaymentSession is a payment Duda asks us to take, fetched with GetPaymentSession.
type PaymentSession struct {
	ID             string  `json:"id"`
	Mode           Mode    `json:"mode"`
	CancelURL      string  `json:"cancel_url"`
	Invoice        Invoice `json:"invoice"`
	SiteName       string  `json:"site_name"`
	SiteExternalID string  `json:"site_external_id,omitempty"`
}

// Invoice is the cart of a payment session. PurchaseID is the cart id and PurchaseType is always "CART" today.
type Invoice struct {
	PurchaseID      string        `json:"purchase_id"`
	PurchaseType    string        `json:"purchase_type"`
	Email           string        `json:"email,omitempty"`
	Language        string        `json:"language,omitempty"`
	Currency        string        `json:"currency"`
	Total           Decimal       `json:"total"`
	ShippingAddress *Address      `json:"shipping_address,omitempty"`
	BillingAddress  *Address      `json:"billing_address,omitempty"`
	Items           []SessionItem `json:"items"`
}

// SessionItem is a line of a payment session's invoice.
//
// DiscountAmount is, in Duda's words, the "amount discounted from the original price of the invoice line item" (its
// property table misspells the key discover_amount; the JSON examples and the official client say discount_amount):
// a discount on the whole line (not per unit) that is subtracted, so a line reads
// Total = UnitPrice × Quantity − DiscountAmount. Duda documents neither the rounding nor whether Total always
// already includes the discount, so compare with Amounts before relying on it; cart-wide discounts come as separate
// DISCOUNT lines instead.
type SessionItem struct {
	Type           string   `json:"type"`
	Name           string   `json:"name"`
	UnitPrice      Decimal  `json:"unit_price"`
	Quantity       Quantity `json:"quantity"`
	DiscountAmount Decimal  `json:"discount_amount"`
	Total          Decimal  `json:"total"`
}

// Kind maps the Duda item type to the platform's line kind: PHYSICAL → "goods", DIGITAL → "digital_service",
// TAX → "tax", SHIPPING → "shipping", DISCOUNT → "discount"; "" for a type this package does not know.
func (it SessionItem) Kind() string { return ItemKind(it.Type) }

// ItemAmounts is a session line in minor units.
type ItemAmounts struct {
	UnitPrice int64
	Quantity  int64
	Discount  int64 // per line, to subtract; 0 when Duda left it out
	Total     int64 // as Duda sent it, or Expected() when Duda left it out
}

// Expected is UnitPrice × Quantity − Discount, or an error on int64 overflow.
func (a ItemAmounts) Expected() (int64, error) {
	gross, err := money.Mul(a.UnitPrice, a.Quantity)
	if err != nil {
		return 0, err
	}
	return money.Add(gross, -a.Discount)
}

// Consistent reports whether Total equals UnitPrice × Quantity − Discount.
func (a ItemAmounts) Consistent() bool {
	e, err := a.Expected()
	return err == nil && e == a.Total
}

// Amounts converts the line to minor units of currency. A missing quantity counts as 1 and a missing discount as 0;
// a missing unit price, or any amount with more decimals than the currency has, is an error.
func (it SessionItem) Amounts(currency string) (ItemAmounts, error) {
	var a ItemAmounts
	var err error
	if a.UnitPrice, err = it.UnitPrice.Minor(currency); err != nil {
		return a, fmt.Errorf("item %q unit_price: %w", it.Name, err)
	}
	a.Quantity = 1
	if it.Quantity.IsSet() {
		if a.Quantity, err = it.Quantity.Int64(); err != nil {
			return a, fmt.Errorf("item %q quantity: %w", it.Name, err)
		}
	}
	if a.Discount, err = it.DiscountAmount.MinorOrZero(currency); err != nil {
		return a, fmt.Errorf("item %q discount_amount: %w", it.Name, err)
	}
	if !it.Total.IsSet() {
		if a.Total, err = a.Expected(); err != nil {
			return a, fmt.Errorf("item %q total: %w", it.Name, err)
		}
		return a, nil
	}
	if a.Total, err = it.Total.Minor(currency); err != nil {
		return a, fmt.Errorf("item %q total: %w", it.Name, err)
	}
	return a, nil
}

// ConfirmState is the outcome we report to Duda for a payment session.
type ConfirmState string

// Confirm states. PENDING is for payments that settle later (wire transfer, direct debit).
const (
	StateProcessed ConfirmState = "PROCESSED"
	StatePending   ConfirmState = "PENDING"
	StateFailed    ConfirmState = "FAILED"
)

// ConfirmRequest is the body of a confirm call. Links is always written (Duda requires the key); fill
// Links.Refunds with our refunds URL for the transaction whenever there is one. SessionID is required by Duda
// ("ID returned by the payment session retrieval"); ConfirmPaymentSession fills it in from the session it confirms.
type ConfirmRequest struct {
	SessionID     string        `json:"session_id,omitempty"`
	State         ConfirmState  `json:"state"`
	TransactionID string        `json:"transaction_id,omitempty"`
	Name          string        `json:"name,omitempty"`
	Icon          string        `json:"icon,omitempty"`
	Instructions  string        `json:"instructions,omitempty"`
	Links         ConfirmLinks  `json:"links"`
	Error         *ConfirmError `json:"error,omitempty"`
}

// ConfirmLinks holds the URL Duda POSTs to when a refund is issued from the store dashboard.
type ConfirmLinks struct {
	Refunds string `json:"refunds"`
}

// ConfirmError explains a FAILED confirm.
type ConfirmError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Validate checks what Duda documents as required before we spend a call on it: a known state, a transaction id
// and a refunds link for PROCESSED and PENDING, and an error for FAILED.
func (r ConfirmRequest) Validate() error {
	switch r.State {
	case StateProcessed, StatePending:
		if r.TransactionID == "" {
			return fmt.Errorf("duda: confirm %s needs a transaction_id", r.State)
		}
		if r.Links.Refunds == "" {
			return fmt.Errorf("duda: confirm %s needs links.refunds", r.State)
		}
	case StateFailed:
		if r.Error == nil || (r.Error.Code == "" && r.Error.Message == "") {
			return fmt.Errorf("duda: confirm FAILED needs an error code or message")
		}
	default:
		return fmt.Errorf("duda: confirm state %q is not PROCESSED, PENDING or FAILED", r.State)
	}
	return nil
}

// ConfirmResponse is Duda's answer to a confirm: where to send the shopper next.
type ConfirmResponse struct {
	ReturnURL string `json:"return_url"`
}

// ---------------------------------------------------------------------------------------------------------------
// Refunds.

// RefundIntent is a refund issued from the store dashboard, fetched with GetRefundIntent.
// OriginalTransactionID is the transaction_id we sent when confirming the session.
type RefundIntent struct {
	ID                    string       `json:"id"`
	Mode                  Mode         `json:"mode,omitempty"`
	PurchaseID            string       `json:"purchase_id,omitempty"`
	PurchaseType          string       `json:"purchase_type,omitempty"`
	OriginalTransactionID string       `json:"original_transaction_id"`
	Reason                string       `json:"reason,omitempty"`
	Items                 []RefundItem `json:"items"`
	Currency              string       `json:"currency"`
	Total                 Decimal      `json:"total"`
}

// RefundItem is one refunded line of a refund intent.
type RefundItem struct {
	ProductID string   `json:"product_id,omitempty"`
	Type      string   `json:"type,omitempty"`
	Quantity  Quantity `json:"quantity"`
	Amount    Decimal  `json:"amount"`
}

// ---------------------------------------------------------------------------------------------------------------
// Small tolerant scalars.

// UnixTime is an instant Duda writes as a Unix epoch number. Duda's examples use milliseconds
// (expiration_date 1554254560438); seconds, numeric strings and RFC 3339 strings are accepted too, and a value
// below 10^12 is read as seconds (10^12 ms is 2001, 10^12 s is the year 33658). It is written as milliseconds.
type UnixTime struct{ time.Time }

// MarshalJSON writes epoch milliseconds, or null for the zero time.
func (u UnixTime) MarshalJSON() ([]byte, error) {
	if u.IsZero() {
		return []byte("null"), nil
	}
	return []byte(strconv.FormatInt(u.UnixMilli(), 10)), nil
}

// UnmarshalJSON reads epoch seconds or milliseconds (number or string), an RFC 3339 string, or null.
func (u *UnixTime) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*u = UnixTime{}
		return nil
	}
	s := string(b)
	if b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			*u = UnixTime{}
			return nil
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			*u = UnixTime{t.UTC()}
			return nil
		}
	}
	t, err := parseEpoch(s)
	if err != nil {
		return fmt.Errorf("duda: time %.30s: %w", s, err)
	}
	*u = UnixTime{t}
	return nil
}

// parseEpoch reads whole (or fractional, truncated) epoch seconds or milliseconds.
func parseEpoch(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("not an epoch number")
	}
	if n >= 1e12 || n <= -1e12 {
		return time.UnixMilli(n).UTC(), nil
	}
	return time.Unix(n, 0).UTC(), nil
}

// Bool is a JSON boolean that also accepts "true"/"false" strings, 0/1 and null (false): the lifecycle calls are
// never retried, so a strict decoder would lose an install over a quoting difference.
type Bool bool

// UnmarshalJSON reads true, false, "true", "false", 1, 0 or null.
func (v *Bool) UnmarshalJSON(b []byte) error {
	switch strings.Trim(strings.ToLower(string(bytes.TrimSpace(b))), `"`) {
	case "true", "1":
		*v = true
	case "false", "0", "null", "":
		*v = false
	default:
		return fmt.Errorf("duda: %.20s is not a boolean", b)
	}
	return nil
}
