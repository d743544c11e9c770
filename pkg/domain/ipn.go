package domain

import "time"

// Merchant notification (IPN) delivery statuses.
const (
	IPNDeliveryPending   = "pending"
	IPNDeliveryDelivered = "delivered"
	IPNDeliveryFailed    = "failed"
)

// What made an IPN attempt.
const (
	IPNAttemptScheduled = "scheduled"
	IPNAttemptManual    = "manual"
)

// IPNAttemptInterrupted is the error written on an attempt whose worker stopped (crashed, was
// killed, lost its lease) before recording the answer.
const IPNAttemptInterrupted = "interrupted: the worker stopped before the attempt finished"

// Why no attempt of a transaction's notifications is owed now (the store's DueIPNHead and
// ClaimIPNAttempt).
const (
	IPNIdle    = "idle"    // nothing is owed now (no pending delivery, or the next is not due)
	IPNBusy    = "busy"    // an attempt of the transaction is in flight: its worker goes on
	IPNBlocked = "blocked" // an earlier event of the transaction is not dispatched yet
)

// SiteEventsVersion is the IPNVersion of a delivery that is not an IPN but a site event (an
// invoice event sent to the site's events URL, pkg/invoice SiteEvent). Its TransactionID is
// the invoice's id: the ordering key of the delivery machinery, which never reads the
// transaction itself. Such deliveries have no CheckoutID.
const SiteEventsVersion = 0

// IPNDelivery is one merchant notification: the body is built once, when the event is
// dispatched, and never changes; retries and manual resends send the same bytes. (Its row is
// the store's: the store maps it.)
type IPNDelivery struct {
	ID             string
	OrganizationID string
	SiteID         string
	CheckoutID     string
	TransactionID  string
	EventID        string
	EventVersion   int
	URL            string
	IPNVersion     int
	Body           string
	Status         string // IPNDeliveryPending, IPNDeliveryDelivered, IPNDeliveryFailed
	Attempts       int
	NextAttemptAt  *time.Time
	LastStatusCode *int
	LastError      string
	DeliveredAt    *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time

	// AllowPrivate is the SSRF policy the target was accepted under, copied from the checkout
	// (Checkout.IPNAllowPrivate) when the delivery is created. The notifier sends to an internal
	// address only if this and its own IPN_ALLOW_PRIVATE_TARGETS both allow it. Rows from before
	// the column existed are false: the safe default.
	AllowPrivate bool

	// ResendRequestedAt is set while an operator's manual resend waits for its attempt (it is
	// made in the transaction's order, then cleared); ResendRequestedBy names who asked.
	ResendRequestedAt *time.Time
	ResendRequestedBy *string
}

// IPNAttempt is one HTTP request of a delivery, as sent and as answered.
type IPNAttempt struct {
	ID              string
	DeliveryID      string
	OrganizationID  string
	TransactionID   string
	Attempt         int
	TriggerKind     string // IPNAttemptScheduled or IPNAttemptManual
	StartedAt       time.Time
	RequestBody     string
	SignatureTS     string
	StatusCode      *int
	ResponseExcerpt string
	LatencyMS       int
	Error           string
	FinishedAt      *time.Time
}

// IPNQueueStats describes the notification backlog.
type IPNQueueStats struct {
	PendingDeliveries  int64
	OldestPending      *time.Time // creation of the oldest pending delivery
	UndispatchedEvents int64
	OldestUndispatched *time.Time // creation of the oldest event not yet dispatched
}
