package duda

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	dudaapi "paygate.dev/pkg/duda"
	"paygate.dev/pkg/integration/dudaconn"
	"paygate.dev/pkg/payment"
	"paygate.dev/pkg/tax"
)

// Store is the storage the Duda use cases need (implemented over pkg/store by package
// dudastore). A Store handed to a callback (WithSessionLocked, the outbox hook) acts inside the
// caller's database transaction.
type Store interface {
	GetDudaConnectionByID(ctx context.Context, id string) (*domain.DudaConnection, error)
	GetDudaSite(ctx context.Context, connectionID, siteName string) (*domain.DudaSite, error)
	GetDudaSiteByID(ctx context.Context, id string) (*domain.DudaSite, error)
	SetDudaSiteGatewayState(ctx context.Context, id, state, errText string, attempts int, next *time.Time) error

	GetDudaSession(ctx context.Context, checkoutID string) (*domain.DudaSession, error)
	GetDudaSessionBySessionID(ctx context.Context, connectionID, sessionID string) (*domain.DudaSession, error)
	ListDudaSessionsNotProcessed(ctx context.Context, dudaSiteID string, createdBefore time.Time, after string, limit int) ([]domain.DudaSession, error)
	SetDudaSessionConfirmed(ctx context.Context, checkoutID, state string, transactionID *string, returnURL string) error
	// WithSessionLocked runs fn with a checkout's Duda session locked against every other
	// WithSessionLocked of it, fn's Store acting under that lock.
	WithSessionLocked(ctx context.Context, checkoutID string, fn func(tx Store, sess *domain.DudaSession) error) error
	// CancelDudaCheckoutByShopper ends an open checkout as cancelled by the shopper, noted on its session.
	CancelDudaCheckoutByShopper(ctx context.Context, orgID, checkoutID string) error

	RememberDudaLifecycleCall(ctx context.Context, c *domain.DudaLifecycleCall, forgetBefore time.Time) (bool, error)
	ForgetDudaLifecycleCall(ctx context.Context, connectionID, digest string) error

	InsertDudaRefund(ctx context.Context, r *domain.DudaRefund) (created bool, err error)
	ClaimDudaRefund(ctx context.Context, connectionID, key string, staleBefore time.Time) (bool, error)
	ReleaseDudaRefund(ctx context.Context, connectionID, key, errText string) error
	FinishDudaRefund(ctx context.Context, connectionID, key, status string, refundID *string, errText string) error

	GetOrganization(ctx context.Context, id string) (*domain.Organization, error)
	GetSite(ctx context.Context, orgID, id string) (*domain.Site, error)
	ListSiteProviders(ctx context.Context, orgID, siteID string) ([]domain.Provider, error)
	GetProvider(ctx context.Context, orgID, id string) (*domain.Provider, error)
	GetCheckout(ctx context.Context, orgID, id string) (*domain.Checkout, error)
	GetCheckoutByOrigin(ctx context.Context, orgID string, origin domain.CheckoutOrigin, ref string) (*domain.Checkout, error)
	ListCheckoutTransactions(ctx context.Context, orgID, checkoutID string) ([]domain.Transaction, error)
	GetTransaction(ctx context.Context, orgID, id string) (*domain.Transaction, error)
	GetRefund(ctx context.Context, orgID, id string) (*domain.Refund, error)
	ListRefunds(ctx context.Context, orgID, transactionID string) ([]domain.Refund, error)

	// InsertJob queues a job (in the Store's transaction, if it acts in one).
	InsertJob(ctx context.Context, args river.JobArgs) error
}

// Connections are what the Duda use cases need of the Duda connections (package
// integration/dudaconn implements it): where things live, a session's checkout, the sealed
// secrets of connections and sites.
type Connections interface {
	Places
	CreateDudaCheckout(ctx context.Context, actor domain.Actor, orgID, siteID string, in checkout.CheckoutInput, sess *domain.DudaSession) (*domain.Checkout, error)
	Sealed
}

// Places say where things live.
type Places interface {
	Hosts() config.Hosts
	DudaBaseURL(connectionID string) string
	DudaURLs(connectionID string) dudaconn.DudaURLs
}

// Sealed keeps the secrets of connections and sites sealed, and audits what changes them.
type Sealed interface {
	OpenDudaConnection(ctx context.Context, c *domain.DudaConnection) (*dudaconn.DudaApp, error)
	RecordDudaInstall(ctx context.Context, c *domain.DudaConnection, site *domain.DudaSite, t dudaapi.Tokens) error
	UninstallDudaSite(ctx context.Context, site *domain.DudaSite) error
	SetDudaGateway(ctx context.Context, site *domain.DudaSite, gatewayID string) error
	DudaTokens(ctx context.Context, site *domain.DudaSite) (dudaapi.Tokens, error)
	SaveDudaTokens(ctx context.Context, c *domain.DudaConnection, site *domain.DudaSite, t dudaapi.Tokens) error
}

// Payments are what the Duda use cases need of the payments (package payment implements it):
// the clock, the tax the hosted page will compute, a shopper's cancel, refunds, and the
// hosted page's return and cancel rules.
type Payments interface {
	Now() time.Time
	TaxFor(ctx context.Context, org *domain.Organization, site *domain.Site, c *domain.Checkout, b domain.BillingDetails) (tax.Result, error)
	CancelByBuyer(ctx context.Context, transactionID string) (*domain.Transaction, error)
	Refunds
	CheckoutRules
}

// Refunds refunds a transaction through its provider.
type Refunds interface {
	Refund(ctx context.Context, actor domain.Actor, orgID, txnID string, in payment.RefundInput) (*domain.Refund, error)
}

// CheckoutRules registers the Duda origin's return and cancel rules with the hosted page.
type CheckoutRules interface {
	RegisterReturnURL(origin domain.CheckoutOrigin, fn payment.ReturnURLFunc)
	RegisterCancelURL(origin domain.CheckoutOrigin, fn payment.CancelURLFunc)
	RegisterReturnOnPending(origin domain.CheckoutOrigin)
}

var (
	_ Connections = (*dudaconn.Service)(nil)
	_ Payments    = (*payment.Service)(nil)
)
