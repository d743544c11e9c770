package domain

import (
	"errors"
	"time"
)

// The shapes of the questions use cases ask the store (filters) and of the answers that are
// not one table's rows (statistics, memberships with their users). They live here so that the
// HTTP layer and the use cases speak them without importing the store.

// AuditFilter selects audit entries.
type AuditFilter struct {
	OrganizationID string
	TargetID       string
	Action         string
	From, To       *time.Time
	After          string
	Limit          int
}

// CheckoutFilter selects checkouts for a list. Zero fields do not filter.
type CheckoutFilter struct {
	OrganizationID    string
	SiteID            string
	Status            CheckoutStatus
	Mode              Mode
	ExternalReference string
	// Search is the search box (ParseSearch): an id of the checkout or of one of its
	// transactions, its session id or short code, its order reference exactly, a wire
	// reference, or a part of its e-mail, buyer name, order reference or invoice number.
	Search      string
	CreatedFrom *time.Time
	CreatedTo   *time.Time
	// After is a cursor: the id of the last checkout of the previous page (the next page).
	// Before is the id of the first checkout of the next page (the previous page); the
	// list is newest first either way.
	After  string
	Before string
	Limit  int
}

// CurrencyVolume is what was taken in one currency over a period.
type CurrencyVolume struct {
	Currency string
	// Count is how many transactions succeeded; Gross their total, Refunded what was given back
	// of it so far (minor units).
	Count    int64
	Gross    int64
	Refunded int64
}

// PaymentStats is an organisation's payments since a time, in one mode.
type PaymentStats struct {
	Since time.Time
	// Volumes lists, per currency (by code), the transactions that succeeded since Since.
	Volumes []CurrencyVolume
	// Succeeded and Finished count the attempts created since Since that are over: succeeded
	// (money taken) among all finished ones (succeeded, failed or cancelled). Open attempts
	// are in neither.
	Succeeded int64
	Finished  int64
}

// Member is a membership with its user.
type Member struct {
	User User
	Role Role
}

// UserOrganization is an organisation a user belongs to, with the user's role there.
type UserOrganization struct {
	Organization Organization
	Role         Role
}

// TransactionFilter selects transactions for a list. Zero fields do not filter.
type TransactionFilter struct {
	OrganizationID string
	SiteID         string
	CheckoutID     string
	ProviderID     string
	Status         TransactionStatus
	Mode           Mode
	// Search is the search box (ParseSearch): an id of the transaction or of its checkout,
	// a provider reference or payment id, a wire reference, its checkout's order reference
	// exactly, or a part of the buyer's e-mail or name.
	Search string
	// Email keeps the transactions whose buyer e-mail contains it (any case).
	Email       string
	CreatedFrom *time.Time
	CreatedTo   *time.Time
	// After and Before are cursors, as for checkouts.
	After  string
	Before string
	Limit  int
}

// RefundFilter selects refunds for a list (an export): by their transaction's mode, site and
// provider, and by when they were made. Zero fields do not filter.
type RefundFilter struct {
	OrganizationID string
	TransactionID  string
	SiteID         string
	ProviderID     string
	Mode           Mode
	Status         RefundStatus
	CreatedFrom    *time.Time
	CreatedTo      *time.Time
	After          string
	Limit          int
}

// IdempotencyClaim is an Idempotency-Key with the answer to store for it, written in the same
// statement as the request's effect (a checkout), so that neither exists without the other.
type IdempotencyClaim struct {
	OrganizationID string
	Key            string
	Hash           string // of the request
	TTL            time.Duration
	Status         int
	Body           []byte
	ContentType    string
}

// IdempotencyRecord is what is known of an Idempotency-Key: the request it was first used
// with (its hash) and, once that request finished, its answer.
type IdempotencyRecord struct {
	OrganizationID string
	Key            string
	RequestHash    string
	Completed      bool // the answer is stored; otherwise a request holds the key
	StatusCode     int
	Body           *string
	ContentType    string
	LockedUntil    *time.Time // a holder's lease
	ExpiresAt      time.Time
}

// Outcomes of writing with an IdempotencyClaim. Neither wrote anything.
var (
	// ErrIdempotencyAnswered: the key already has a record (look it up and answer from it).
	ErrIdempotencyAnswered = errors.New("the idempotency key already has a record")
	// ErrIdempotencyBusy: another request holds the key right now.
	ErrIdempotencyBusy = errors.New("another request holds the idempotency key")
)

// LoginAttempt is the outcome of reserving a sign-in attempt (the store's ReserveLoginAttempt).
type LoginAttempt struct {
	// Allowed is false when the account was locked: nothing was counted and the password must
	// not be checked.
	Allowed bool
	// Failures counts the attempts since the last successful sign-in, this one included.
	Failures int
	// LockedUntil is when the lock ends: the lock this attempt engaged, or the one in force.
	LockedUntil *time.Time
}

// CutPage is a list page from rows read with one more than limit (the store reads limit+1 to
// know whether another page follows): the first limit rows, and whether there were more.
func CutPage[T any](rows []T, limit int) ([]T, bool) {
	if len(rows) > limit {
		return rows[:limit], true
	}
	return rows, false
}
