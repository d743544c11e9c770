package domain

import "time"

// ReceiptKind says why a receipt e-mail was sent.
type ReceiptKind string

// Receipt kinds.
const (
	ReceiptAutomatic ReceiptKind = "automatic" // the one a successful payment owes its buyer
	ReceiptResend    ReceiptKind = "resend"    // sent again on a merchant's explicit request
)

// ReceiptStatus is where a receipt e-mail is.
type ReceiptStatus string

// Receipt statuses. A receipt is sending while a worker hands it to the mail server; a worker
// that finds it still sending after its predecessor died cannot know whether the server took
// it, and marks it uncertain rather than risk sending it twice (the merchant can resend).
const (
	ReceiptPending   ReceiptStatus = "pending"
	ReceiptSending   ReceiptStatus = "sending"
	ReceiptSent      ReceiptStatus = "sent"
	ReceiptFailed    ReceiptStatus = "failed"
	ReceiptUncertain ReceiptStatus = "uncertain"
)

// Receipt is one receipt e-mail to a buyer.
type Receipt struct {
	ID             string `gorm:"primaryKey"`
	OrganizationID string
	SiteID         string
	CheckoutID     string
	TransactionID  string
	Mode           Mode
	Kind           ReceiptKind
	// DedupeKey is unique: "auto:<transaction id>" for the automatic receipt, the id for a resend.
	DedupeKey   string
	Recipient   string
	Language    string
	Status      ReceiptStatus
	Attempts    int
	LastError   string
	RequestedBy string // the user who asked for a resend
	SentAt      *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TableName tells the store which table holds receipts.
func (Receipt) TableName() string { return "receipts" }

// AutomaticReceiptKey is the dedupe key of a transaction's automatic receipt.
func AutomaticReceiptKey(transactionID string) string { return "auto:" + transactionID }
