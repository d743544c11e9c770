package domain

import "time"

// Event types written to the outbox with each state change.
const (
	EventCheckoutCreated   = "checkout.created"
	EventCheckoutCompleted = "checkout.completed"
	EventCheckoutExpired   = "checkout.expired"
	EventCheckoutCancelled = "checkout.cancelled"
	EventCheckoutUpdated   = "checkout.updated"
	// EventCheckoutReopened: the payment that completed the checkout failed late (a Direct
	// Debit failing after it was confirmed) and no other attempt paid it.
	EventCheckoutReopened = "checkout.reopened"
	EventRefundCreated    = "refund.created"
	EventRefundUpdated    = "refund.updated"
	EventDisputeClosed    = "transaction.dispute_closed"
	EventDisputeUpdated   = "transaction.dispute_updated"
)

// TransactionEventType is the event type of a move to status s ("transaction.succeeded").
func TransactionEventType(s TransactionStatus) string { return "transaction." + string(s) }

// Event is one row of the transactional outbox: a fact about a state change, written in the
// same database transaction as the change. Background workers deliver it.
type Event struct {
	ID             string `gorm:"primaryKey"`
	OrganizationID string
	Type           string
	CheckoutID     *string
	TransactionID  *string
	// Version is the transaction's event version (strictly increasing per transaction).
	Version      int
	Status       string
	Data         map[string]any `gorm:"serializer:json"`
	OccurredAt   time.Time
	CreatedAt    time.Time
	DispatchedAt *time.Time
}

// TableName tells the store which table holds events.
func (Event) TableName() string { return "events" }

// AuditEntry records who changed what.
type AuditEntry struct {
	ID             string `gorm:"primaryKey"`
	OrganizationID *string
	ActorType      string // user, api_key, system
	ActorID        string
	ActorLabel     string
	Action         string // e.g. site.create
	TargetType     string
	TargetID       string
	Details        map[string]any `gorm:"serializer:json"`
	IP             string         `gorm:"column:ip"`
	RequestID      string
	CreatedAt      time.Time
}

// TableName tells the store which table holds the audit log.
func (AuditEntry) TableName() string { return "audit_log" }

// Actor is who performs an action, for audit and authorisation.
type Actor struct {
	Type           string // user, api_key, system
	ID             string
	Label          string
	OrganizationID string
	Role           Role     // for users
	Scopes         []string // for API keys
	Mode           Mode     // for API keys: the only mode of objects they see, change and create (users: empty, both)
	PlatformAdmin  bool
	IP             string
	RequestID      string
}

// Sees reports whether the actor may see and change an object of mode m: an API key only its
// own mode's objects, users and the system both modes.
func (a Actor) Sees(m Mode) bool { return a.Mode == "" || a.Mode == m }

// Actor types.
const (
	ActorUser   = "user"
	ActorAPIKey = "api_key"
	ActorSystem = "system"
)

// SystemActor is the platform itself acting (workers, webhooks).
func SystemActor(orgID string) Actor {
	return Actor{Type: ActorSystem, ID: "system", Label: "system", OrganizationID: orgID}
}

// WebhookDelivery is a provider's webhook request, kept raw before anything else is done.
type WebhookDelivery struct {
	ID             string `gorm:"primaryKey"`
	ProviderID     string
	OrganizationID string
	ProviderType   ProviderType
	Headers        map[string]string `gorm:"serializer:json"`
	Body           string
	ReceivedAt     time.Time
}

// TableName tells the store which table holds webhook deliveries.
func (WebhookDelivery) TableName() string { return "webhook_deliveries" }

// Provider event processing states.
const (
	ProviderEventReceived  = "received"
	ProviderEventProcessed = "processed"
	ProviderEventIgnored   = "ignored"
	ProviderEventFailed    = "failed"
)

// ProviderEvent is one event a provider reported (a Stripe event, a GoCardless event),
// applied once by its provider-side id.
type ProviderEvent struct {
	ID             string `gorm:"primaryKey"`
	ProviderID     string
	OrganizationID string
	ProviderType   ProviderType
	ExternalID     string
	Type           string
	DeliveryID     *string
	Payload        string
	// ObjectID is the provider object the event reports on (a PaymentIntent, a payment), and
	// OccurredAt when the provider created the event (nil: not known).
	ObjectID    string
	OccurredAt  *time.Time
	Status      string
	Error       string
	ReceivedAt  time.Time
	ProcessedAt *time.Time
}

// TableName tells the store which table holds provider events.
func (ProviderEvent) TableName() string { return "provider_events" }
