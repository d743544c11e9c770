// Package providers defines what a payment provider is to the platform, and the registry the
// wiring fills with one line per provider.
//
// A provider (Stripe, GoCardless, wire transfer) implements Provider entirely in its own
// package: start a payment for a transaction, rebuild its next step, refund, test a
// configuration, and the extras it brings (runtime API routes, River workers, periodic tasks,
// outbox hooks). A provider that the money's movement is reported by implements Webhooks
// (verify and parse a delivery, apply a stored event) and Syncer (ask the provider about one
// transaction, reconcile the open ones).
//
// The rule for optional capabilities: Provider is what every provider has; an interface is
// optional only when a provider genuinely lacks the capability (a wire transfer is confirmed by
// an operator: it sends no webhooks and there is nobody to ask). Everything else a provider has
// goes through Provider, so the platform, the webhook receiver, the runtime API, the workers
// and the reconciliation loops take every provider from the registry and none is named in the
// wiring but by its one registration line.
//
// Providers never import the platform: they report through the narrow ports declared here
// (Platform, Store, HookTx), which the platform and the store implement. What a provider reports
// about a transaction is a typed Outcome, never a map of columns.
package providers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/riverqueue/river"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/runtimeapi"
)

// Provider is one payment provider.
type Provider interface {
	Type() domain.ProviderType
	// Start begins paying a transaction that is initiated. It must be idempotent per
	// transaction (a retry returns the same provider object).
	Start(ctx context.Context, req StartRequest) (*StartResult, error)
	// Resume rebuilds the next step of an attempt that is still open (a page reload).
	Resume(ctx context.Context, req StartRequest) (*StartResult, error)
	// Refund gives money back; it must be idempotent per refund id.
	Refund(ctx context.Context, req RefundRequest) (*RefundResult, error)
	// TestConnection makes one harmless call with the configuration and reports the result.
	TestConnection(ctx context.Context, p *domain.Provider, creds map[string]string) error
	// Fields are the public settings and secret credentials a configuration takes (which are
	// required): the platform checks a configuration against them, then asks ValidateSettings
	// and ValidateCredentials for the provider's own rules (key formats, an IBAN ...).
	Fields() domain.ProviderFields
	// Describe names the type for the screens (its Type, Fields and Webhooks are filled in by
	// Set.Kinds from the provider itself).
	Describe() domain.ProviderKind
	ValidateSettings(p *domain.Provider) error
	// ValidateCredentials checks the credentials given (all of them, or the changed ones).
	ValidateCredentials(mode domain.Mode, creds map[string]string) error
	// Extras are the provider's own routes, workers, periodic tasks and outbox hooks (zero:
	// none). The main backend mounts them; other services ignore them.
	Extras() Extras
}

// Webhooks is a provider that reports by webhook (every provider but wire transfer).
type Webhooks interface {
	// VerifyWebhook checks a delivery's signature with the provider's credentials and only then
	// parses its events. A bad signature wraps ErrBadSignature; a signed body that is not
	// well-formed wraps ErrMalformed.
	VerifyWebhook(ctx context.Context, p *domain.Provider, creds map[string]string, body []byte, h http.Header) ([]IncomingEvent, error)
	// WebhookAnswers says how the provider expects its deliveries to be answered.
	WebhookAnswers() Answers
	// ApplyEvent applies one stored event (the provider.event job): it reports what the event
	// means as typed Outcomes (and refund updates) through the Platform port, and says how the
	// event was handled: domain.ProviderEventProcessed, domain.ProviderEventIgnored or
	// IgnoredBecause(reason). An error leaves the event to be retried.
	ApplyEvent(ctx context.Context, ev *domain.ProviderEvent) (status string, err error)
}

// Syncer is a provider that can be asked about a transaction (every provider but wire transfer).
type Syncer interface {
	// Sync asks the provider for a transaction's state and applies it (the buyer's return).
	Sync(ctx context.Context, t *domain.Transaction) error
	// Reconcile asks about the provider's transactions still open and neither changed nor
	// looked at for olderThan, and returns how many it asked about.
	Reconcile(ctx context.Context, olderThan time.Duration) (int, error)
}

// Extras are what a provider adds to the main backend besides payments.
type Extras struct {
	// Routes are mounted on the runtime API (under /api/v1, with its rate limits and CORS).
	Routes []Route
	// Workers adds the provider's job kinds.
	Workers func(ws *river.Workers)
	// Periodic tasks run on River's leader (the reconcile queue).
	Periodic []Periodic
	// EventHooks are outbox consumers (ipn.Hook), by a name unique across the platform.
	EventHooks map[string]EventHook
}

// Route is one runtime API endpoint of a provider.
type Route struct {
	Method, Path string
	Handler      echo.HandlerFunc
}

// Periodic is a task run every Every.
type Periodic struct {
	Name  string
	Every time.Duration
	Run   func(ctx context.Context) error
}

// EventHook consumes one outbox event inside the database transaction tx (an ipn.Hook).
type EventHook func(ctx context.Context, tx HookTx, e domain.Event) error

// HookTx is the database transaction an event hook runs in.
type HookTx interface {
	GetTransaction(ctx context.Context, orgID, id string) (*domain.Transaction, error)
	// Enqueue inserts a job in the same transaction.
	Enqueue(ctx context.Context, args river.JobArgs) error
}

// Answers says how a provider expects its webhook deliveries to be answered.
type Answers struct {
	OK           int // e.g. 200 (Stripe), 204 (GoCardless)
	BadSignature int // e.g. 400 (Stripe), 498 (GoCardless)
}

// ErrBadSignature is what verifiers return (wrapped) for a signature that does not verify.
var ErrBadSignature = errors.New("bad webhook signature")

// ErrMalformed is what verifiers return (wrapped) for a correctly signed body that is not a
// well-formed event (or batch) of the provider: verifiers check the signature first and parse
// only a body whose signature verifies.
var ErrMalformed = errors.New("malformed event")

// IncomingEvent is one event of a verified provider webhook.
type IncomingEvent struct {
	ExternalID string
	Type       string
	Payload    []byte
	// ObjectID is the provider object the event reports on and OccurredAt when the provider
	// created the event (zero: not known); stale events are recognised by them.
	ObjectID   string
	OccurredAt time.Time
}

// IgnoredBecause is the status of an event recorded but not applied, with the reason kept on
// the stored event.
func IgnoredBecause(reason string) string { return domain.ProviderEventIgnored + ": " + reason }

// Outcome is a provider's report about a transaction: typed fields, never columns.
type Outcome struct {
	// Kind is what the provider reports; the transition table (domain.Decide) says whether it
	// applies to the transaction's current status.
	Kind domain.OutcomeKind
	// To is used only without Kind: the kind is then the one that reaches To.
	To domain.TransactionStatus
	// At is the report's provider time: when the provider created the event, or when the state
	// applied was read from the provider. Zero: not known (never treated as stale).
	At time.Time
	// Only narrows the table to these current statuses (never widens it).
	Only []domain.TransactionStatus
	// ProviderPaymentID is the provider's payment behind the transaction (a Stripe charge, a
	// GoCardless payment), recorded with the move ("": unchanged).
	ProviderPaymentID string
	// DisputeStatus is the dispute's status in the contract's terms (open, under_review, won,
	// lost, accepted) ("": unchanged).
	DisputeStatus string
	// FailureCode and FailureMessage explain a failure or cancellation ("": unchanged).
	FailureCode    string
	FailureMessage string
	// EventData is the data of the timeline event (and of the IPN) the move writes.
	EventData map[string]any
}

// Platform is what providers need of the platform (package payment implements it).
type Platform interface {
	Log() *slog.Logger
	Now() time.Time
	Store() Store
	// ProviderCredentials decrypts a provider's secret fields.
	ProviderCredentials(ctx context.Context, p *domain.Provider) (map[string]string, error)
	// ApplyOutcome moves a transaction as its provider reports, idempotently, by the transition
	// table; reports the table does not take or older ones are ignored (no error).
	ApplyOutcome(ctx context.Context, t *domain.Transaction, o Outcome) (*domain.Transaction, error)
	// RecordDispute notes a dispute's progress without a status change.
	RecordDispute(ctx context.Context, t *domain.Transaction, eventType, status string, data map[string]any) error
	// LinkProviderPayment records the provider's payment id on a transaction and merges data
	// into its provider data; MergeProviderData merges data alone.
	LinkProviderPayment(ctx context.Context, t *domain.Transaction, paymentID string, data map[string]any) error
	MergeProviderData(ctx context.Context, t *domain.Transaction, data map[string]any) error
	// RecordTransactionNote adds a timeline event without a status change.
	RecordTransactionNote(ctx context.Context, t *domain.Transaction, eventType string, data map[string]any) error
	// Refunds: our refund completed (with the provider's id of it), failed, revived (the provider
	// made a refund we had given up on), or given its provider id while pending; a refund the
	// provider reports that we did not ask for is recorded once by its provider id.
	CompleteRefund(ctx context.Context, orgID, refundID string, upd RefundUpdate) error
	FailRefund(ctx context.Context, orgID, refundID, message string) error
	ReviveRefund(ctx context.Context, orgID, refundID, providerRef string) error
	NoteRefundReference(ctx context.Context, orgID, refundID, providerRef string) error
	RecordProviderRefund(ctx context.Context, t *domain.Transaction, providerRef string, amount int64, status domain.RefundStatus, reason string) error
	// ReconcileOpen runs check on up to batch of the provider type's open transactions not
	// looked at for olderThan, those looked at longest ago first (0 batch: the default).
	ReconcileOpen(ctx context.Context, pt domain.ProviderType, olderThan time.Duration, batch int, check ReconcileCheck) (int, error)
	// StartPayment starts (or resumes) a checkout's attempt with one of its providers of type
	// pt, for a provider's own runtime endpoint (GoCardless's billing requests).
	StartPayment(ctx context.Context, pt domain.ProviderType, in StartPayment) (*domain.Transaction, *StartResult, error)
}

// ReconcileCheck asks the provider about one open transaction and applies what it says. asked
// reports whether the provider was asked (a check may decide it is too early to).
type ReconcileCheck func(ctx context.Context, t *domain.Transaction) (asked bool, err error)

// RefundUpdate is what a provider reports with a refund's completion.
type RefundUpdate struct {
	// ProviderReference is the provider's id of the refund ("": unchanged).
	ProviderReference string
}

// StartPayment is a start request from a provider's runtime endpoint.
type StartPayment struct {
	SessionPublicID string
	ProviderID      string
	// TransactionID, when set, must be an attempt of this checkout that is not paid.
	TransactionID string
	Language      string
	ShortCode     string
	Billing       domain.BillingDetails
}

// Store is what providers read of the store (implemented by *store.Store).
type Store interface {
	GetProvider(ctx context.Context, orgID, id string) (*domain.Provider, error)
	GetCheckout(ctx context.Context, orgID, id string) (*domain.Checkout, error)
	GetTransaction(ctx context.Context, orgID, id string) (*domain.Transaction, error)
	GetTransactionByProviderRef(ctx context.Context, providerID, ref string) (*domain.Transaction, error)
	GetTransactionByProviderPayment(ctx context.Context, providerID, paymentID string) (*domain.Transaction, error)
	GetRefund(ctx context.Context, orgID, id string) (*domain.Refund, error)
	// NewerProviderEvent names a stored event of the provider about objectID of one of types
	// created after after ("" if none).
	NewerProviderEvent(ctx context.Context, providerID, objectID string, after time.Time, types []string) (string, error)
}

// StartRequest is what a provider needs to start or resume a payment.
type StartRequest struct {
	Provider    *domain.Provider
	Credentials map[string]string
	Checkout    *domain.Checkout
	Site        *domain.Site
	Transaction *domain.Transaction
	Billing     domain.BillingDetails
	// PageURL is the hosted page of the checkout: the place to come back to after a redirect.
	// It names the short code, which opens the buyer's personal data, so it is set only when
	// the caller proved it holds the payment link (the hosted page sends the short code). When
	// it is empty the provider answers, and sends the provider, no URL back to the page: a
	// holder of the sessionPublicId alone (it travels in every IPN) must not learn the short
	// code from a return, redirect or exit URL.
	PageURL  string
	Language string
}

// StartResult is what the page does next and what to store on the transaction.
type StartResult struct {
	Next              runtimeapi.Next
	ProviderReference string // e.g. the PaymentIntent or billing request id
	PaymentReference  string // the wire-transfer reference the buyer quotes
	ProviderData      map[string]any
	// Status is where the transaction goes once started: initiated (the buyer still has to
	// act at the provider) or pending_provider (waiting for the money).
	Status domain.TransactionStatus
}

// RefundRequest gives back (part of) a transaction.
type RefundRequest struct {
	Provider    *domain.Provider
	Credentials map[string]string
	Transaction *domain.Transaction
	Refund      *domain.Refund
	// TotalRefunded is every refund of the transaction including this one (GoCardless's
	// total_amount_confirmation).
	TotalRefunded  int64
	IdempotencyKey string
}

// RefundResult says what the provider did.
type RefundResult struct {
	ProviderReference string
	// Status failed is the provider refusing the refund in its answer (PayPal's FAILED): the
	// refund is recorded failed at once, with FailureMessage (a webhook that says so later
	// changes nothing more).
	Status         domain.RefundStatus
	FailureMessage string
	// Manual refunds are done by the operator outside the platform (wire transfer).
	Manual bool
}

// Registration is one provider's line in the registry: its type and how to build it once the
// platform it reports to exists.
type Registration struct {
	Type domain.ProviderType
	New  func(p Platform) Provider
}

// Registry is the wiring's list of providers, one Registration per provider.
type Registry []Registration

// Build builds every registered provider for the platform p.
func (r Registry) Build(p Platform) Set {
	out := Set{}
	for _, reg := range r {
		out[reg.Type] = reg.New(p)
	}
	return out
}

// Set is the providers built for one platform, by type.
type Set map[domain.ProviderType]Provider

// Get returns the provider of a type, or an error saying the type is not available here.
func (s Set) Get(t domain.ProviderType) (Provider, error) {
	if a, ok := s[t]; ok {
		return a, nil
	}
	return nil, domain.Unprocessable("PROVIDER_NOT_SUPPORTED", "payments with %s are not available on this server", t)
}

// Types lists the set's provider types in a stable order.
func (s Set) Types() []domain.ProviderType {
	out := make([]domain.ProviderType, 0, len(s))
	for t := range s {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Kinds describes the set's provider types, in Types' order, for the screens that configure
// and show them.
func (s Set) Kinds() []domain.ProviderKind {
	out := make([]domain.ProviderKind, 0, len(s))
	for _, t := range s.Types() {
		p := s[t]
		k := p.Describe()
		k.Type, k.Fields = t, p.Fields()
		_, k.Webhooks = p.(Webhooks)
		if k.Name == "" {
			k.Name = string(t)
		}
		out = append(out, k)
	}
	return out
}

// Now is the store's clock (UTC, microsecond precision, as store.Now): the time a provider's
// state was read, compared with the provider times of stored events.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
