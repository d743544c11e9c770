package gcapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Statuses are open string types: GoCardless adds values over time and the client must keep
// decoding answers that carry one it does not know. Compare against the constants, and treat
// anything else as "not yet final, look again later" (Known reports which case applies).

// BillingRequestStatus is the status of a billing request.
type BillingRequestStatus string

// Known billing request statuses.
const (
	BillingRequestStatusPending       BillingRequestStatus = "pending"
	BillingRequestStatusReadyToFulfil BillingRequestStatus = "ready_to_fulfil"
	BillingRequestStatusFulfilling    BillingRequestStatus = "fulfilling"
	BillingRequestStatusFulfilled     BillingRequestStatus = "fulfilled"
	BillingRequestStatusCancelled     BillingRequestStatus = "cancelled"
)

// Known reports whether s is one of the statuses listed in this package.
func (s BillingRequestStatus) Known() bool {
	switch s {
	case BillingRequestStatusPending, BillingRequestStatusReadyToFulfil, BillingRequestStatusFulfilling,
		BillingRequestStatusFulfilled, BillingRequestStatusCancelled:
		return true
	}
	return false
}

// PaymentStatus is the status of a payment. Note that failed and charged_back can follow
// confirmed and even paid_out: a confirmed payment is not money you can no longer lose.
type PaymentStatus string

// Known payment statuses.
const (
	PaymentStatusPendingCustomerApproval PaymentStatus = "pending_customer_approval"
	PaymentStatusPendingSubmission       PaymentStatus = "pending_submission"
	PaymentStatusSubmitted               PaymentStatus = "submitted"
	PaymentStatusConfirmed               PaymentStatus = "confirmed"
	PaymentStatusPaidOut                 PaymentStatus = "paid_out"
	PaymentStatusCancelled               PaymentStatus = "cancelled"
	PaymentStatusCustomerApprovalDenied  PaymentStatus = "customer_approval_denied"
	PaymentStatusFailed                  PaymentStatus = "failed"
	PaymentStatusChargedBack             PaymentStatus = "charged_back"
)

// Known reports whether s is one of the statuses listed in this package.
func (s PaymentStatus) Known() bool {
	switch s {
	case PaymentStatusPendingCustomerApproval, PaymentStatusPendingSubmission, PaymentStatusSubmitted,
		PaymentStatusConfirmed, PaymentStatusPaidOut, PaymentStatusCancelled,
		PaymentStatusCustomerApprovalDenied, PaymentStatusFailed, PaymentStatusChargedBack:
		return true
	}
	return false
}

// RefundStatus is the status of a refund.
type RefundStatus string

// Known refund statuses.
const (
	RefundStatusCreated           RefundStatus = "created"
	RefundStatusPendingSubmission RefundStatus = "pending_submission"
	RefundStatusSubmitted         RefundStatus = "submitted"
	RefundStatusPaid              RefundStatus = "paid"
	RefundStatusCancelled         RefundStatus = "cancelled"
	RefundStatusBounced           RefundStatus = "bounced"
	RefundStatusFundsReturned     RefundStatus = "funds_returned"
)

// Known reports whether s is one of the statuses listed in this package.
func (s RefundStatus) Known() bool {
	switch s {
	case RefundStatusCreated, RefundStatusPendingSubmission, RefundStatusSubmitted, RefundStatusPaid,
		RefundStatusCancelled, RefundStatusBounced, RefundStatusFundsReturned:
		return true
	}
	return false
}

// MandateStatus is the status of a mandate.
type MandateStatus string

// Known mandate statuses.
const (
	MandateStatusPendingCustomerApproval MandateStatus = "pending_customer_approval"
	MandateStatusPendingSubmission       MandateStatus = "pending_submission"
	MandateStatusSubmitted               MandateStatus = "submitted"
	MandateStatusActive                  MandateStatus = "active"
	MandateStatusSuspendedByPayer        MandateStatus = "suspended_by_payer"
	MandateStatusFailed                  MandateStatus = "failed"
	MandateStatusCancelled               MandateStatus = "cancelled"
	MandateStatusExpired                 MandateStatus = "expired"
	MandateStatusConsumed                MandateStatus = "consumed"
	MandateStatusBlocked                 MandateStatus = "blocked"
)

// Known reports whether s is one of the statuses listed in this package.
func (s MandateStatus) Known() bool {
	switch s {
	case MandateStatusPendingCustomerApproval, MandateStatusPendingSubmission, MandateStatusSubmitted,
		MandateStatusActive, MandateStatusSuspendedByPayer, MandateStatusFailed, MandateStatusCancelled,
		MandateStatusExpired, MandateStatusConsumed, MandateStatusBlocked:
		return true
	}
	return false
}

// BillingRequest is a request to collect a payment and/or set up a mandate; the payer completes
// it through a BillingRequestFlow.
type BillingRequest struct {
	ID              string                 `json:"id"`
	CreatedAt       time.Time              `json:"created_at"`
	Status          BillingRequestStatus   `json:"status"`
	PaymentRequest  *PaymentRequest        `json:"payment_request"`
	MandateRequest  *MandateRequest        `json:"mandate_request"`
	Metadata        map[string]string      `json:"metadata"`
	FallbackEnabled bool                   `json:"fallback_enabled"`
	Links           BillingRequestLinks    `json:"links"`
	Actions         []BillingRequestAction `json:"actions"`
}

// PaymentRequest is the payment part of a billing request.
type PaymentRequest struct {
	Amount      int64             `json:"amount"`
	AppFee      int64             `json:"app_fee"`
	Currency    string            `json:"currency"`
	Description string            `json:"description"`
	Scheme      string            `json:"scheme"`
	Metadata    map[string]string `json:"metadata"`
}

// UnmarshalJSON accepts amounts as numbers or numeric strings (GoCardless's own examples show both).
func (p *PaymentRequest) UnmarshalJSON(b []byte) error {
	type plain PaymentRequest
	aux := struct {
		*plain
		Amount flexInt `json:"amount"`
		AppFee flexInt `json:"app_fee"`
	}{plain: (*plain)(p)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	p.Amount, p.AppFee = int64(aux.Amount), int64(aux.AppFee)
	return nil
}

// MandateRequest is the mandate part of a billing request.
type MandateRequest struct {
	Currency string            `json:"currency"`
	Scheme   string            `json:"scheme"`
	Verify   string            `json:"verify"`
	Metadata map[string]string `json:"metadata"`
	Links    struct {
		Mandate string `json:"mandate"`
	} `json:"links"`
}

// BillingRequestLinks are the ids a billing request points at. PaymentRequestPayment and
// MandateRequestMandate are only set once the request is fulfilled.
type BillingRequestLinks struct {
	Creditor              string `json:"creditor"`
	Customer              string `json:"customer"`
	CustomerBillingDetail string `json:"customer_billing_detail"`
	CustomerBankAccount   string `json:"customer_bank_account"`
	Organisation          string `json:"organisation"`
	PaymentRequest        string `json:"payment_request"`
	PaymentRequestPayment string `json:"payment_request_payment"`
	MandateRequest        string `json:"mandate_request"`
	MandateRequestMandate string `json:"mandate_request_mandate"`
}

// BillingRequestAction is one step the payer (or integrator) still has to complete.
type BillingRequestAction struct {
	Type             string   `json:"type"`
	Required         bool     `json:"required"`
	Status           string   `json:"status"`
	CompletesActions []string `json:"completes_actions"`
	RequiresActions  []string `json:"requires_actions"`
}

// BillingRequestFlow is a hosted authorisation session for a billing request: send the payer to
// AuthorisationURL; GoCardless fulfils the request itself when they finish.
type BillingRequestFlow struct {
	ID                  string             `json:"id"`
	CreatedAt           time.Time          `json:"created_at"`
	AuthorisationURL    string             `json:"authorisation_url"`
	ExpiresAt           time.Time          `json:"expires_at"`
	RedirectURI         string             `json:"redirect_uri"`
	ExitURI             string             `json:"exit_uri"`
	Language            string             `json:"language"`
	AutoFulfil          bool               `json:"auto_fulfil"`
	LockCurrency        bool               `json:"lock_currency"`
	LockCustomerDetails bool               `json:"lock_customer_details"`
	PrefilledCustomer   *PrefilledCustomer `json:"prefilled_customer"`
	Links               struct {
		BillingRequest string `json:"billing_request"`
	} `json:"links"`
}

// PrefilledCustomer holds payer details shown pre-filled on the authorisation page.
type PrefilledCustomer struct {
	GivenName    string `json:"given_name,omitempty"`
	FamilyName   string `json:"family_name,omitempty"`
	Email        string `json:"email,omitempty"`
	AddressLine1 string `json:"address_line1,omitempty"`
	City         string `json:"city,omitempty"`
	PostalCode   string `json:"postal_code,omitempty"`
	CountryCode  string `json:"country_code,omitempty"`
}

// Payment is a single collection of money. Amounts are integer minor units.
type Payment struct {
	ID             string            `json:"id"`
	CreatedAt      time.Time         `json:"created_at"`
	ChargeDate     string            `json:"charge_date"` // "YYYY-MM-DD"
	Amount         int64             `json:"amount"`
	AmountRefunded int64             `json:"amount_refunded"`
	Currency       string            `json:"currency"`
	Status         PaymentStatus     `json:"status"`
	Description    string            `json:"description"`
	Reference      string            `json:"reference"`
	Scheme         string            `json:"scheme"`
	Metadata       map[string]string `json:"metadata"`
	Links          PaymentLinks      `json:"links"`
}

// UnmarshalJSON accepts amounts as numbers or numeric strings.
func (p *Payment) UnmarshalJSON(b []byte) error {
	type plain Payment
	aux := struct {
		*plain
		Amount         flexInt `json:"amount"`
		AmountRefunded flexInt `json:"amount_refunded"`
	}{plain: (*plain)(p)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	p.Amount, p.AmountRefunded = int64(aux.Amount), int64(aux.AmountRefunded)
	return nil
}

// PaymentLinks are the ids a payment points at; Payout is set once it is paid out.
type PaymentLinks struct {
	Mandate      string `json:"mandate"`
	Payout       string `json:"payout"`
	Creditor     string `json:"creditor"`
	Subscription string `json:"subscription"`
}

// Refund returns (part of) a payment to the payer.
type Refund struct {
	ID        string            `json:"id"`
	CreatedAt time.Time         `json:"created_at"`
	Amount    int64             `json:"amount"`
	Currency  string            `json:"currency"`
	Status    RefundStatus      `json:"status"`
	Reference string            `json:"reference"`
	Metadata  map[string]string `json:"metadata"`
	Links     struct {
		Payment string `json:"payment"`
		Mandate string `json:"mandate"`
	} `json:"links"`
}

// UnmarshalJSON accepts the amount as a number or a numeric string.
func (r *Refund) UnmarshalJSON(b []byte) error {
	type plain Refund
	aux := struct {
		*plain
		Amount flexInt `json:"amount"`
	}{plain: (*plain)(r)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	r.Amount = int64(aux.Amount)
	return nil
}

// Mandate is the payer's authorisation to collect from their bank account.
type Mandate struct {
	ID                     string            `json:"id"`
	CreatedAt              time.Time         `json:"created_at"`
	Status                 MandateStatus     `json:"status"`
	Scheme                 string            `json:"scheme"`
	Reference              string            `json:"reference"`
	NextPossibleChargeDate string            `json:"next_possible_charge_date"`
	Metadata               map[string]string `json:"metadata"`
	Links                  struct {
		Creditor            string `json:"creditor"`
		Customer            string `json:"customer"`
		CustomerBankAccount string `json:"customer_bank_account"`
		NewMandate          string `json:"new_mandate"`
	} `json:"links"`
}

// Creditor is the merchant account the access token belongs to.
type Creditor struct {
	ID                 string    `json:"id"`
	CreatedAt          time.Time `json:"created_at"`
	Name               string    `json:"name"`
	CountryCode        string    `json:"country_code"`
	VerificationStatus string    `json:"verification_status"`
	CanCreateRefunds   bool      `json:"can_create_refunds"`
}

// flexInt decodes a JSON number or a string holding an integer; null leaves zero.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			return nil
		}
		b = []byte(s)
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("amount %q is not an integer", b)
	}
	*f = flexInt(n)
	return nil
}
