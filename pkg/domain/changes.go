package domain

import (
	"errors"
	"time"
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
func (c TransactionChanges) Empty() bool {
	return c.ProviderReference == nil && c.PaymentReference == nil && c.ProviderPaymentID == nil && c.ProviderData == nil &&
		c.FailureCode == nil && c.FailureMessage == nil && c.DisputeStatus == nil && c.RefundedAmount == nil &&
		c.BuyerMarkedPendingAt == nil && c.Duplicate == nil
}

// RefundChanges are the fields an update writes on a refund; a nil field is left as it is.
type RefundChanges struct {
	Status            *RefundStatus
	ProviderReference *string
	FailureMessage    *string
	// Manual says the operator gives the money back outside the platform (wire transfer).
	Manual *bool
}

// Ptr returns a pointer to v (for the optional fields of changes).
func Ptr[T any](v T) *T { return &v }

// Transition is one move of a transaction's state machine.
type Transition struct {
	OrganizationID string
	TransactionID  string
	// Kind, when set, is the provider report being applied: the transition table
	// (Decide) decides from the transaction's current status and provider times
	// whether it moves, To is the kind's target and From is not used.
	Kind OutcomeKind
	// At is the provider time of the report (with Kind): when the provider created the event,
	// or when its state was read. Zero: not known (never stale).
	At time.Time
	// Only, with Kind, narrows the table to these current statuses (never widens it): a report
	// whose meaning depends on the attempt still being open, say.
	Only []TransactionStatus
	// From lists the statuses the move may start from; empty means every status the state
	// machine allows to reach To.
	From []TransactionStatus
	To   TransactionStatus
	// Changes are further fields written with the move (provider references, failure details,
	// refunded amount ...).
	Changes    TransactionChanges
	EventType  string // default transaction.<to>
	EventData  map[string]any
	OccurredAt time.Time
}

// CodeAlreadyInState is the code of the conflict returned when a transaction already has the
// target status: callers applying a duplicate provider event treat it as done.
const CodeAlreadyInState = "ALREADY_IN_STATE"

// CodeStaleReport is the code of the conflict returned when a provider report is older than the
// last one applied to the transaction and would change its status: it is not applied.
const CodeStaleReport = "STALE_REPORT"

// OpenTransaction names a transaction still waiting for its outcome.
type OpenTransaction struct {
	ID             string
	OrganizationID string
	ProviderID     string
}

// ExpiredCheckout names an open checkout past its expiry.
type ExpiredCheckout struct {
	ID             string
	OrganizationID string
}

// QueuedRefunds names a transaction with refunds the provider has not accepted yet.
type QueuedRefunds struct {
	OrganizationID string
	TransactionID  string
}

// Now is the clock of stored times: UTC, microsecond precision (what PostgreSQL keeps).
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// UTC normalises a time for writing or comparing: UTC, microsecond precision.
func UTC(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// StampNewCheckout fills in what writing a new checkout sets: its creation and update times
// (now, unless already stamped), a UTC expiry at the store's precision, empty metadata for
// none, and its items' keys. Call it before rendering an answer that is stored with the checkout
// (the store's CreateCheckoutAnswered), so that the answer shows the checkout exactly as it is
// written.
func StampNewCheckout(c *Checkout) {
	if c.CreatedAt.IsZero() {
		now := Now()
		c.CreatedAt, c.UpdatedAt = now, now
	}
	c.CreatedAt, c.UpdatedAt = UTC(c.CreatedAt), UTC(c.UpdatedAt)
	c.ExpiresAt = UTC(c.ExpiresAt)
	if c.Metadata == nil {
		c.Metadata = map[string]any{}
	}
	for i := range c.Items {
		c.Items[i].CheckoutID = c.ID
		c.Items[i].OrganizationID = c.OrganizationID
		c.Items[i].Position = i
	}
}

// ConstraintConflict is the conflict error (wrapped in a *Error) for a violated unique
// constraint; callers that need to tell constraints apart compare Constraint (IsConstraint).
type ConstraintConflict struct {
	Constraint string
}

func (c *ConstraintConflict) Error() string { return "unique constraint " + c.Constraint }

// IsConstraint reports whether err is the violation of the named unique constraint.
func IsConstraint(err error, name string) bool {
	var cc *ConstraintConflict
	return errors.As(err, &cc) && cc.Constraint == name
}

// PageStamps come with the checkout the hosted page reads (GetCheckoutForPage), from the same
// statement: Tenant changes whenever the checkout's site, its organisation or the site's
// providers (assignments, order, settings) are written, so a cached copy of those is used only
// while its stamp is the current one; Transactions is the number of the checkout's attempts
// (none: no need to read them).
type PageStamps struct {
	Tenant       string
	Transactions int64
}
