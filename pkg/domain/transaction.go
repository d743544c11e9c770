package domain

import "time"

// TransactionStatus is where one payment attempt is.
type TransactionStatus string

// Transaction statuses: initiated → pending_provider → succeeded | failed | canceled,
// then refunded / partially_refunded / disputed.
const (
	TxnInitiated         TransactionStatus = "initiated"
	TxnPendingProvider   TransactionStatus = "pending_provider"
	TxnSucceeded         TransactionStatus = "succeeded"
	TxnFailed            TransactionStatus = "failed"
	TxnCanceled          TransactionStatus = "canceled"
	TxnRefunded          TransactionStatus = "refunded"
	TxnPartiallyRefunded TransactionStatus = "partially_refunded"
	TxnDisputed          TransactionStatus = "disputed"
)

// CanTransition reports whether a transaction may move from one status to another: whether some
// outcome kind of the transition table (transitions.go) makes that move.
func CanTransition(from, to TransactionStatus) bool {
	for _, k := range OutcomeKinds {
		if k.Target() != to {
			continue
		}
		switch RuleFor(from, k) {
		case Apply, ApplyIfNotOlder, ApplyIfNewer:
			return true
		}
	}
	return false
}

// SourcesFor lists the statuses from which a transaction may move to `to`.
func SourcesFor(to TransactionStatus) []TransactionStatus {
	var out []TransactionStatus
	for _, from := range TransactionStatuses {
		if CanTransition(from, to) {
			out = append(out, from)
		}
	}
	return out
}

// Paid reports whether money was taken (and not given back in full).
func (s TransactionStatus) Paid() bool {
	return s == TxnSucceeded || s == TxnPartiallyRefunded || s == TxnDisputed
}

// Final reports whether the attempt is over without money taken.
func (s TransactionStatus) Final() bool { return s == TxnFailed || s == TxnCanceled }

// Open reports whether the attempt is still waiting for an outcome.
func (s TransactionStatus) Open() bool { return s == TxnInitiated || s == TxnPendingProvider }

// IPN status integers of the payment-gateway.app protocol.
const (
	IPNCancelled = -2
	IPNInitiated = -1
	IPNPending   = 0
	IPNSucceeded = 1
	IPNFailed    = 2
	IPNRefunded  = 3
	IPNDisputed  = 4
)

// IPNStatus maps a transaction status to the IPN status integer; ok is false for statuses
// that have no IPN of their own (a partial refund leaves the order paid).
func IPNStatus(s TransactionStatus) (code int, ok bool) {
	switch s {
	case TxnInitiated:
		return IPNInitiated, true
	case TxnPendingProvider:
		return IPNPending, true
	case TxnSucceeded:
		return IPNSucceeded, true
	case TxnFailed:
		return IPNFailed, true
	case TxnCanceled:
		return IPNCancelled, true
	case TxnRefunded:
		return IPNRefunded, true
	case TxnDisputed:
		return IPNDisputed, true
	}
	return 0, false
}

// BillingDetails is what the buyer entered on the hosted page.
type BillingDetails struct {
	Name       string `json:"name,omitempty"`
	Email      string `json:"email,omitempty"`
	Company    string `json:"company,omitempty"`
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	PostalCode string `json:"postalCode,omitempty"`
	Country    string `json:"country,omitempty"`
	VATID      string `json:"vatId,omitempty"`
}

// Transaction is one payment attempt on a checkout with one provider.
type Transaction struct {
	ID                string `gorm:"primaryKey"`
	OrganizationID    string
	CheckoutID        string
	SiteID            string
	ProviderID        string
	ProviderType      ProviderType
	Mode              Mode
	Status            TransactionStatus
	Currency          string
	NetAmount         int64
	TaxAmount         int64
	GrossAmount       int64
	RefundedAmount    int64
	ProviderReference *string
	ProviderPaymentID *string
	PaymentReference  *string
	BillingDetails    BillingDetails `gorm:"serializer:json"`
	TaxEvidence       map[string]any `gorm:"serializer:json"`
	ProviderData      map[string]any `gorm:"serializer:json"`
	FailureCode       string
	FailureMessage    string
	DisputeStatus     string
	// Language is the language of the page the buyer started paying on ("fr", "pt-BR"), if
	// known: the buyer's receipt speaks it.
	Language string
	// Duplicate marks a paid attempt of a checkout another attempt had already paid: its money
	// is held and refundable, but it is not the checkout's payment and the merchant is never
	// notified about it.
	Duplicate    bool
	EventVersion int
	// ProviderEventAt is the provider time of the last provider report applied (see Decide).
	ProviderEventAt    *time.Time
	BuyerMarkedPending *time.Time `gorm:"column:buyer_marked_pending_at"`
	SucceededAt        *time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// TableName tells the store which table holds transactions.
func (Transaction) TableName() string { return "transactions" }

// Refundable is what can still be refunded.
func (t *Transaction) Refundable() int64 {
	if !t.Status.Paid() {
		return 0
	}
	return t.GrossAmount - t.RefundedAmount
}

// RefundStatus is where a refund is.
type RefundStatus string

// Refund statuses.
const (
	RefundPending   RefundStatus = "pending"
	RefundSucceeded RefundStatus = "succeeded"
	RefundFailed    RefundStatus = "failed"
)

// Refund gives money back for (part of) a transaction.
type Refund struct {
	ID                string `gorm:"primaryKey"`
	OrganizationID    string
	TransactionID     string
	Amount            int64
	Currency          string
	Reason            string
	Status            RefundStatus
	Manual            bool
	Source            string
	ProviderReference *string
	FailureMessage    string
	CreatedBy         string
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// TableName tells the store which table holds refunds.
func (Refund) TableName() string { return "refunds" }
