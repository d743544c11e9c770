// Package runtimeapi is the checkout runtime API's wire contract (API-CONTRACT.md section 5):
// the JSON the main backend serves under /api/v1 and the hosted page consumes, plus a small
// client the main frontend uses server-side. It has no database dependencies: the main
// frontend imports it without gaining any access to data.
package runtimeapi

import (
	"time"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/tax"
)

// Address is a buyer address as the checkout carries it (merchant-supplied): the domain's
// own type, whose JSON is the contract's (one struct, not a copy to keep in step).
type Address = domain.Address

// Item is one line of the checkout as the page shows it.
type Item struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Quantity    int64     `json:"quantity"`
	UnitPrice   int64     `json:"unitPrice"`
	Total       int64     `json:"total"`
	ItemType    string    `json:"itemType"`
	VATRate     *tax.Rate `json:"vatRate,omitempty"`
}

// Site is the branding and settings the page uses.
type Site struct {
	Name            string `json:"name"`
	LogoURL         string `json:"logoUrl,omitempty"`
	PrimaryColor    string `json:"primaryColor,omitempty"`
	TaxDisplay      string `json:"taxDisplay"`      // inclusive | exclusive
	VATIDValidation string `json:"vatIdValidation"` // none | format | vies
	DefaultLanguage string `json:"defaultLanguage"`
	FrameAncestors  string `json:"frameAncestors,omitempty"`
	SupportEmail    string `json:"supportEmail,omitempty"`
}

// Provider is a payment method offered on the page.
//
// The checkout's providers already meet their availability rules for its currency, amount and
// mode; Countries, when set, are the only buyer countries the provider is offered to (the page
// shows it only while the buyer's country is one of them, and the start of a payment refuses
// any other with 422 PROVIDER_NOT_AVAILABLE).
type Provider struct {
	ID        string   `json:"id"`
	Type      string   `json:"type"` // stripe | gocardless | wire_transfer | mollie | paypal ...
	Name      string   `json:"name"`
	Countries []string `json:"countries,omitempty"`
}

// TaxLine is one rate of the tax breakdown.
type TaxLine struct {
	TaxRate     tax.Rate `json:"taxRate"`
	TaxRateCode string   `json:"taxRateCode"`
	TaxableBase int64    `json:"taxableBase"`
	TaxAmount   int64    `json:"taxAmount"`
}

// LineTax is the tax of one checkout line (same order as Checkout.Items).
type LineTax struct {
	Net     int64    `json:"net"`
	Tax     int64    `json:"tax"`
	Gross   int64    `json:"gross"`
	TaxRate tax.Rate `json:"taxRate"`
}

// TaxPreview is the tax for a buyer (API-CONTRACT.md section 5).
type TaxPreview struct {
	TaxIncluded  bool      `json:"taxIncluded"`
	TotalNet     int64     `json:"totalNet"`
	TotalTax     int64     `json:"totalTax"`
	TotalGross   int64     `json:"totalGross"`
	TaxBreakdown []TaxLine `json:"taxBreakdown"`
	Treatment    string    `json:"treatment"`   // domestic | oss | reverse_charge | export | exempt | merchant | outside_scope | mixed
	VATIDStatus  string    `json:"vatIdStatus"` // none | format_valid | vies_valid | invalid | vies_unavailable
	Lines        []LineTax `json:"lines"`
	Currency     string    `json:"currency"`
}

// Checkout is what the hosted page shows: GET /api/v1/checkouts/{shortCode or sessionPublicId}.
// Addressed by the sessionPublicId (which travels in IPNs) it carries no personal data of the
// buyer: Email, BillingAddress, ShippingAddress and ShortCode are empty.
type Checkout struct {
	ID                string     `json:"id"`
	SessionPublicID   string     `json:"sessionPublicId"`
	ShortCode         string     `json:"shortCode"`
	Status            string     `json:"status"` // open | completed | expired | cancelled (expiry applied)
	Mode              string     `json:"mode"`
	Amount            int64      `json:"amount"`
	Currency          string     `json:"currency"`
	CurrencyExponent  int        `json:"currencyExponent"`
	Email             string     `json:"email,omitempty"`
	ExternalReference string     `json:"externalReference,omitempty"`
	InvoiceNumber     string     `json:"invoiceNumber,omitempty"`
	Language          string     `json:"language,omitempty"` // the checkout's language, if the merchant set one
	ExpiresAt         time.Time  `json:"expiresAt"`
	CancelURL         string     `json:"cancelUrl,omitempty"`
	HasReturnURL      bool       `json:"hasReturnUrl"`
	BillingAddress    *Address   `json:"billingAddress,omitempty"`
	ShippingAddress   *Address   `json:"shippingAddress,omitempty"`
	Items             []Item     `json:"items"`
	Site              Site       `json:"site"`
	Providers         []Provider `json:"providers"`
	DefaultProviderID string     `json:"defaultProviderId,omitempty"`
	VATIDValidation   string     `json:"vatIdValidation"`
	// Tax is the preview for the checkout's own addresses (or the seller's country).
	Tax TaxPreview `json:"tax"`
	// Transaction is the latest attempt that is pending or paid, so a reload resumes the page.
	Transaction *TransactionStatus `json:"transaction,omitempty"`
}

// BuyerAddress is what the buyer enters on the page. Postcode and postalCode are both accepted.
type BuyerAddress struct {
	Name       string `json:"name,omitempty"`
	Email      string `json:"email,omitempty"`
	Company    string `json:"company,omitempty"`
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	PostalCode string `json:"postalCode,omitempty"`
	Postcode   string `json:"postcode,omitempty"`
	Country    string `json:"country,omitempty"`
	VATID      string `json:"vatId,omitempty"`
}

// TaxPreviewRequest is POST /api/v1/checkouts/{id}/tax-preview.
type TaxPreviewRequest struct {
	BillingAddress  BuyerAddress  `json:"billingAddress"`
	ShippingAddress *BuyerAddress `json:"shippingAddress,omitempty"`
}

// CreateTransactionRequest is POST /api/v1/transactions/create.
type CreateTransactionRequest struct {
	SessionPublicID string       `json:"sessionPublicId"`
	ProviderID      string       `json:"providerId"`
	BillingAddress  BuyerAddress `json:"billingAddress"`
	// ShortCode (optional; the hosted page sends it) proves the caller holds the payment link:
	// only then does the provider get the checkout's stored buyer details to prefill its pages.
	ShortCode string `json:"shortCode,omitempty"`
	// Language is the language of the page the buyer is on (e.g. "fr"): the buyer's receipt
	// speaks it. Empty means the checkout's.
	Language string `json:"language,omitempty"`
}

// WireInstructions tell the buyer how to pay by bank transfer.
type WireInstructions struct {
	BankName      string `json:"bankName"`
	AccountHolder string `json:"accountHolder"`
	IBAN          string `json:"iban"`
	IBANGrouped   string `json:"ibanGrouped"`
	BIC           string `json:"bic,omitempty"`
	Reference     string `json:"reference"`
	Amount        int64  `json:"amount"`
	Currency      string `json:"currency"`
	Instructions  string `json:"instructions,omitempty"`
}

// StripeNext is what the page needs to confirm a card payment with Stripe.js.
type StripeNext struct {
	ClientSecret   string `json:"clientSecret"`
	PublishableKey string `json:"publishableKey"`
	// ReturnURL is the hosted page (/checkout/{shortCode}?transaction=…), given only to a
	// caller that sent the checkout's shortCode: the page's address opens the buyer's data.
	ReturnURL string `json:"returnUrl,omitempty"`
}

// Next says what the page does after creating a transaction.
type Next struct {
	Type        string            `json:"type"` // wire_instructions | stripe | redirect | none
	Wire        *WireInstructions `json:"wire,omitempty"`
	Stripe      *StripeNext       `json:"stripe,omitempty"`
	RedirectURL string            `json:"redirectUrl,omitempty"`
}

// CreateTransactionResponse answers POST /api/v1/transactions/create.
type CreateTransactionResponse struct {
	TransactionID string     `json:"transactionId"`
	Status        string     `json:"status"`
	ProviderType  string     `json:"providerType"`
	Amount        int64      `json:"amount"` // the authoritative gross amount
	Currency      string     `json:"currency"`
	Tax           TaxPreview `json:"tax"`
	Next          Next       `json:"next"`
}

// TransactionStatus answers GET /api/v1/transactions/{id}/status (and mark-pending, cancel).
type TransactionStatus struct {
	TransactionID string `json:"transactionId"`
	// SessionPublicID is the checkout the transaction belongs to: a page only believes a
	// transaction id (from its address bar) that belongs to its own checkout.
	SessionPublicID    string            `json:"sessionPublicId"`
	Status             string            `json:"status"`
	CheckoutStatus     string            `json:"checkoutStatus"`
	ProviderType       string            `json:"providerType"`
	Amount             int64             `json:"amount"`
	Currency           string            `json:"currency"`
	BuyerMarkedPending bool              `json:"buyerMarkedPending"`
	Wire               *WireInstructions `json:"wire,omitempty"`
	// ReturnURL is the merchant's return URL with {transactionId} filled in, once paid or pending.
	ReturnURL      string `json:"returnUrl,omitempty"`
	FailureMessage string `json:"failureMessage,omitempty"`
	// LeaveOnPending says the page sends the buyer to ReturnURL now, while the payment is
	// pending: the checkout's store has been told and confirms the order once the money arrives
	// (Duda). Only with a ReturnURL, and for a transfer only once the buyer said it was sent.
	LeaveOnPending bool `json:"leaveOnPending,omitempty"`
}

// BillingRequestRequest is POST /api/v1/billing-requests/create (GoCardless).
type BillingRequestRequest struct {
	SessionPublicID string       `json:"sessionPublicId"`
	ProviderID      string       `json:"providerId"`
	TransactionID   string       `json:"transactionId,omitempty"`
	BillingAddress  BuyerAddress `json:"billingAddress"`
	// Language is the language of the page the buyer is on (e.g. "fr"), for GoCardless's
	// pages; empty means the checkout's.
	Language string `json:"language,omitempty"`
	// ShortCode: as in CreateTransactionRequest.
	ShortCode string `json:"shortCode,omitempty"`
}

// BillingRequestResponse sends the buyer to GoCardless's hosted flow.
type BillingRequestResponse struct {
	TransactionID    string `json:"transactionId"`
	AuthorisationURL string `json:"authorisationUrl"`
}

// ErrorBody is the error envelope shared with the Admin API.
type ErrorBody struct {
	Error     string `json:"error"`
	Message   string `json:"message"`
	Code      string `json:"code"`
	RequestID string `json:"requestId"`
	Field     string `json:"field,omitempty"`
}
