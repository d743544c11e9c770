package domain

import "time"

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
	Search            string // reference, invoice number, e-mail or id
	CreatedFrom       *time.Time
	CreatedTo         *time.Time
	// After is a cursor: the id of the last checkout of the previous page.
	After string
	Limit int
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
	Search         string // id, provider reference or payment reference
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
