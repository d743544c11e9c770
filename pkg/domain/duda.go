package domain

import "time"

// The Duda gateway app's records (shared/design/DUDA.md): the connections of Duda apps to sites,
// the Duda sites the app is installed on, the payment sessions made into checkouts, the refund
// notifications Duda sent and the signed lifecycle calls already processed.

// DudaConnection is an organisation's Duda gateway app connected to one of its sites: the app's
// identity and its sealed credentials (app password, app secret and the connection's settings).
type DudaConnection struct {
	ID             string `gorm:"primaryKey"`
	OrganizationID string `gorm:"column:organization_id"`
	SiteID         string `gorm:"column:site_id"`
	AppUUID        string `gorm:"column:app_uuid"`
	AppUser        string `gorm:"column:app_user"`
	// Credentials is the sealed JSON of the secret fields, under the organisation's data key.
	Credentials string `gorm:"column:credentials"`
	Enabled     bool   `gorm:"column:enabled"`
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TableName tells GORM which table holds Duda connections.
func (DudaConnection) TableName() string { return "duda_connections" }

// DudaSite is one Duda site the app was installed on through a connection: where its API is,
// its sealed tokens and the payment gateway registered there.
type DudaSite struct {
	ID             string `gorm:"primaryKey"`
	OrganizationID string `gorm:"column:organization_id"`
	ConnectionID   string `gorm:"column:connection_id"`
	SiteName       string `gorm:"column:site_name"`
	APIEndpoint    string `gorm:"column:api_endpoint"`
	// Tokens is the sealed JSON of the access and refresh tokens; empty after an uninstall.
	Tokens         string     `gorm:"column:tokens"`
	TokenExpiresAt *time.Time `gorm:"column:token_expires_at"`
	GatewayID      string     `gorm:"column:gateway_id"`
	// InstallData is the install payload without its tokens, as JSON text.
	InstallData   string     `gorm:"column:install_data"`
	InstalledAt   *time.Time `gorm:"column:installed_at"`
	UninstalledAt *time.Time `gorm:"column:uninstalled_at"`
	// GatewayState says where registering our payment gateway stands (DudaGateway*), with
	// Duda's last refusal, the attempts so far and when the next one runs while retrying.
	GatewayState         string     `gorm:"column:gateway_state"`
	GatewayError         string     `gorm:"column:gateway_error"`
	GatewayAttempts      int        `gorm:"column:gateway_attempts"`
	GatewayNextAttemptAt *time.Time `gorm:"column:gateway_next_attempt_at"`
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

// States of a Duda site's gateway registration.
const (
	DudaGatewayRegistered = "registered"
	DudaGatewayRetrying   = "retrying"
	DudaGatewayFailed     = "failed"
)

// TableName tells GORM which table holds Duda sites.
func (DudaSite) TableName() string { return "duda_sites" }

// Installed reports whether the app is currently installed on the site.
func (s *DudaSite) Installed() bool { return s.InstalledAt != nil && s.UninstalledAt == nil }

// DudaSession links a Duda payment session to the checkout made for it, with what was
// confirmed back to Duda and the return URL Duda answered with.
type DudaSession struct {
	CheckoutID             string  `gorm:"primaryKey;column:checkout_id"`
	OrganizationID         string  `gorm:"column:organization_id"`
	ConnectionID           string  `gorm:"column:connection_id"`
	DudaSiteID             string  `gorm:"column:duda_site_id"`
	SiteName               string  `gorm:"column:site_name"`
	SessionID              string  `gorm:"column:session_id"`
	PurchaseID             string  `gorm:"column:purchase_id"`
	Mode                   string  `gorm:"column:mode"`
	ConfirmedState         string  `gorm:"column:confirmed_state"`
	ConfirmedTransactionID *string `gorm:"column:confirmed_transaction_id"`
	ReturnURL              string  `gorm:"column:return_url"`
	// CancelledBy is DudaCancelledByShopper when the shopper cancelled on the payment page.
	CancelledBy string `gorm:"column:cancelled_by"`
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TableName tells GORM which table holds Duda sessions.
func (DudaSession) TableName() string { return "duda_sessions" }

// Duda refund notification states.
const (
	DudaRefundReceived = "received"
	DudaRefundRecorded = "recorded"
	DudaRefundRejected = "rejected"
)

// DudaRefund is one refund notification Duda POSTed to a transaction's refunds link, kept raw
// before anything else is done and applied once per key.
type DudaRefund struct {
	ConnectionID   string  `gorm:"primaryKey;column:connection_id"`
	RefundKey      string  `gorm:"primaryKey;column:refund_key"`
	OrganizationID string  `gorm:"column:organization_id"`
	TransactionID  string  `gorm:"column:transaction_id"`
	RefundID       *string `gorm:"column:refund_id"`
	RawBody        string  `gorm:"column:raw_body"`
	Status         string  `gorm:"column:status"`
	Error          string  `gorm:"column:error"`
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// TableName tells GORM which table holds Duda refund notifications.
func (DudaRefund) TableName() string { return "duda_refunds" }

// DudaLifecycleCall is a signed lifecycle call already processed, by the digest of its signed text.
type DudaLifecycleCall struct {
	ConnectionID string `gorm:"primaryKey;column:connection_id"`
	Digest       string `gorm:"primaryKey;column:digest"`
	Kind         string `gorm:"column:kind"`
	SiteName     string `gorm:"column:site_name"`
	CreatedAt    time.Time
}

// TableName tells GORM which table holds processed Duda lifecycle calls.
func (DudaLifecycleCall) TableName() string { return "duda_lifecycle_calls" }

// DudaCancelledByShopper marks a Duda checkout the shopper cancelled on the payment page.
const DudaCancelledByShopper = "shopper"
