package store

import (
	"context"
	"time"

	"paygate.dev/pkg/domain"
)

// TransactionChanges are the fields an update writes on a transaction besides its status: a
// provider's references, its raw data, failure details, the dispute's status, the amount
// refunded. A nil field is left as it is. Callers name fields, never columns: the store alone
// knows how they are stored.
type TransactionChanges struct {
	ProviderReference *string
	PaymentReference  *string
	ProviderPaymentID *string
	// ProviderData replaces the stored provider data when not nil.
	ProviderData         map[string]any
	FailureCode          *string
	FailureMessage       *string
	DisputeStatus        *string
	RefundedAmount       *int64
	BuyerMarkedPendingAt *time.Time
	// Duplicate flags a paid attempt that is not its checkout's payment (another paid first).
	Duplicate *bool
}

// MaxFailureMessage is the longest failure message kept on a transaction.
const MaxFailureMessage = 500

// Empty reports whether the changes write nothing.
func (c TransactionChanges) Empty() bool { return len(c.columns()) == 0 }

// columns maps the changes to their columns.
func (c TransactionChanges) columns() map[string]any {
	set := map[string]any{}
	put := func(col string, v *string) {
		if v != nil {
			set[col] = *v
		}
	}
	put("provider_reference", c.ProviderReference)
	put("payment_reference", c.PaymentReference)
	put("provider_payment_id", c.ProviderPaymentID)
	put("failure_code", c.FailureCode)
	if c.FailureMessage != nil {
		msg := *c.FailureMessage
		if len(msg) > MaxFailureMessage {
			msg = msg[:MaxFailureMessage]
		}
		set["failure_message"] = msg
	}
	put("dispute_status", c.DisputeStatus)
	if c.ProviderData != nil {
		set["provider_data"] = jsonValue(c.ProviderData)
	}
	if c.RefundedAmount != nil {
		set["refunded_amount"] = *c.RefundedAmount
	}
	if c.Duplicate != nil {
		set["duplicate"] = *c.Duplicate
	}
	if c.BuyerMarkedPendingAt != nil {
		set["buyer_marked_pending_at"] = UTC(*c.BuyerMarkedPendingAt)
	}
	return set
}

// RefundChanges are the fields an update writes on a refund; a nil field is left as it is.
type RefundChanges struct {
	Status            *domain.RefundStatus
	ProviderReference *string
	FailureMessage    *string
	// Manual says the operator gives the money back outside the platform (wire transfer).
	Manual *bool
}

func (c RefundChanges) columns() map[string]any {
	set := map[string]any{}
	if c.Status != nil {
		set["status"] = *c.Status
	}
	if c.ProviderReference != nil {
		set["provider_reference"] = *c.ProviderReference
	}
	if c.FailureMessage != nil {
		set["failure_message"] = *c.FailureMessage
	}
	if c.Manual != nil {
		set["manual"] = *c.Manual
	}
	return set
}

// Ptr returns a pointer to v (for the optional fields of changes).
func Ptr[T any](v T) *T { return &v }

// RewriteTransactionForTest writes raw columns of a transaction (status, created_at ...) with
// no state machine, event or guard: for test fixtures only (backdating a payment), never for
// the platform, which writes TransactionChanges through TransitionTransaction and
// UpdateTransactionFields.
func (s *Store) RewriteTransactionForTest(ctx context.Context, orgID, id string, cols map[string]any) error {
	return translate(s.q(ctx).Model(&domain.Transaction{}).Where("id = ? AND organization_id = ?", id, orgID).Updates(cols).Error, "transaction")
}
