// Package stripe is the Stripe provider: card (and other) payments through PaymentIntents and
// the Payment Element on the hosted page, refunds, webhooks and reconciliation. Every
// organisation has its own Stripe account, so each call uses a client built from that
// provider's own secret key — never stripe-go's package-global key.
package stripe

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/runtimeapi"
)

// Config configures the Stripe provider.
type Config struct {
	// APIURL overrides Stripe's API base (tests point it at stripe-mock).
	APIURL string
	HTTP   *http.Client
	Log    *slog.Logger
}

// Provider implements providers.Provider (with webhooks and sync) for Stripe: it starts,
// resumes and refunds payments, receives Stripe's webhooks and applies Stripe's events to
// transactions and refunds, and asks Stripe directly (the buyer's return, reconciliation).
type Provider struct {
	Config
	// Platform is what the provider reports to (nil: payments only, no events).
	Platform providers.Platform
	// ReconcileBatch is how many open attempts one reconciliation run asks about
	// (the platform's default if 0).
	ReconcileBatch int
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Webhooks = (*Provider)(nil)
	_ providers.Syncer   = (*Provider)(nil)
)

// New builds the Stripe provider reporting to p.
func New(p providers.Platform, c Config) *Provider { return &Provider{Config: c, Platform: p} }

// Register is Stripe's line in the wiring's registry.
func Register(c Config) providers.Registration {
	return providers.Registration{Type: domain.ProviderStripe, New: func(p providers.Platform) providers.Provider { return New(p, c) }}
}

// Reconciliation: every minute, ask Stripe about attempts open and untouched for 3 minutes, so
// a lost webhook never leaves a paid order unpaid.
const (
	ReconcileEvery     = time.Minute
	ReconcileOlderThan = 3 * time.Minute
)

// Extras: Stripe's periodic reconciliation.
func (a *Provider) Extras() providers.Extras {
	return providers.Extras{Periodic: []providers.Periodic{{Name: "stripe.reconcile", Every: ReconcileEvery, Run: func(ctx context.Context) error {
		_, err := a.Reconcile(ctx, ReconcileOlderThan)
		return err
	}}}}
}

// Type is stripe.
func (a *Provider) Type() domain.ProviderType { return domain.ProviderStripe }

// quietLogger keeps stripe-go from writing to stderr; errors are returned and logged by us.
type quietLogger struct{}

func (quietLogger) Debugf(string, ...any) {}
func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}

// Client builds a Stripe client for one secret key.
func (a *Provider) Client(secretKey string) *client.API {
	hc := a.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	cfg := &stripego.BackendConfig{HTTPClient: hc, LeveledLogger: quietLogger{}, MaxNetworkRetries: stripego.Int64(2)}
	if a.APIURL != "" {
		cfg.URL = stripego.String(a.APIURL)
	}
	backend := stripego.GetBackendWithConfig(stripego.APIBackend, cfg)
	sc := &client.API{}
	sc.Init(secretKey, &stripego.Backends{API: backend, Connect: backend, Uploads: backend})
	return sc
}

// Start creates the PaymentIntent for the authoritative gross amount and returns what the
// Payment Element needs. The idempotency key derives from the transaction, so a retried start
// returns the same PaymentIntent.
func (a *Provider) Start(ctx context.Context, req providers.StartRequest) (*providers.StartResult, error) {
	sc := a.Client(req.Credentials["secretKey"])
	t, c := req.Transaction, req.Checkout
	p := &stripego.PaymentIntentParams{
		Amount:                  stripego.Int64(t.GrossAmount),
		Currency:                stripego.String(strings.ToLower(t.Currency)),
		AutomaticPaymentMethods: &stripego.PaymentIntentAutomaticPaymentMethodsParams{Enabled: stripego.Bool(true)},
		Description:             stripego.String(description(req)),
	}
	if email := buyerEmail(req); email != "" {
		p.ReceiptEmail = stripego.String(email)
	}
	p.Context = ctx
	p.SetIdempotencyKey("paygate:" + t.ID + ":payment_intent")
	for k, v := range map[string]string{"transaction_id": t.ID, "checkout_id": c.ID, "site_id": c.SiteID, "organization_id": c.OrganizationID,
		"external_reference": c.Reference()} {
		if v != "" {
			p.AddMetadata(k, v)
		}
	}
	pi, err := sc.PaymentIntents.New(p)
	if err != nil {
		return nil, providerError(err)
	}
	return &providers.StartResult{
		Next:              a.next(req, pi.ClientSecret),
		ProviderReference: pi.ID,
		ProviderData:      map[string]any{"paymentIntent": pi.ID, "status": string(pi.Status), dataStartedByPage: req.PageURL != ""},
		Status:            domain.TxnInitiated,
	}, nil
}

// dataStartedByPage records whether the hosted page (a holder of the short code) started the
// PaymentIntent: its receipt_email may then be the buyer's stored address, which its client
// secret lets Stripe.js read.
const dataStartedByPage = "startedByPage"

// Resume fetches the PaymentIntent again for its client secret. A PaymentIntent the hosted page
// started is resumed only by a caller that holds the short code: its client secret would show
// the buyer's e-mail to a holder of the sessionPublicId alone. (Intents stored before this was
// recorded count as the page's.)
func (a *Provider) Resume(ctx context.Context, req providers.StartRequest) (*providers.StartResult, error) {
	if req.Transaction.ProviderReference == nil {
		return a.Start(ctx, req)
	}
	if byPage, ok := req.Transaction.ProviderData[dataStartedByPage].(bool); req.PageURL == "" && (!ok || byPage) {
		return nil, domain.Conflict(domain.CodeInvalidState, "this card payment was started on the checkout page: continue it there")
	}
	p := &stripego.PaymentIntentParams{}
	p.Context = ctx
	pi, err := a.Client(req.Credentials["secretKey"]).PaymentIntents.Get(*req.Transaction.ProviderReference, p)
	if err != nil {
		return nil, providerError(err)
	}
	return &providers.StartResult{Next: a.next(req, pi.ClientSecret), ProviderReference: pi.ID, Status: req.Transaction.Status}, nil
}

// next is what the page needs to confirm the PaymentIntent. The return URL (where 3-D Secure
// and other redirecting methods bring the buyer back) is the hosted page, so it is given only
// to a caller that holds the page's short code (req.PageURL is empty otherwise).
func (a *Provider) next(req providers.StartRequest, clientSecret string) runtimeapi.Next {
	ret := ""
	if req.PageURL != "" {
		ret = req.PageURL + "?transaction=" + url.QueryEscape(req.Transaction.ID)
	}
	return runtimeapi.Next{Type: "stripe", Stripe: &runtimeapi.StripeNext{ClientSecret: clientSecret,
		PublishableKey: req.Provider.Settings["publishableKey"], ReturnURL: ret}}
}

func description(req providers.StartRequest) string {
	d := req.Site.Name
	if ref := req.Checkout.Reference(); ref != "" {
		d += " — " + ref
	}
	if len(d) > 500 {
		d = d[:500]
	}
	return d
}

func buyerEmail(req providers.StartRequest) string {
	if req.Billing.Email != "" {
		return req.Billing.Email
	}
	return req.Checkout.Email
}

// Refund creates a Stripe refund on the PaymentIntent; the refund id is the idempotency key.
func (a *Provider) Refund(ctx context.Context, req providers.RefundRequest) (*providers.RefundResult, error) {
	if req.Transaction.ProviderReference == nil {
		return nil, domain.Unprocessable(domain.CodeInvalidState, "the transaction has no Stripe PaymentIntent to refund")
	}
	p := &stripego.RefundParams{PaymentIntent: req.Transaction.ProviderReference, Amount: stripego.Int64(req.Refund.Amount)}
	p.Context = ctx
	p.SetIdempotencyKey("paygate:" + req.IdempotencyKey)
	p.AddMetadata("refund_id", req.Refund.ID)
	p.AddMetadata("transaction_id", req.Transaction.ID)
	if r := stripeReason(req.Refund.Reason); r != "" {
		p.Reason = stripego.String(r)
	}
	rf, err := a.Client(req.Credentials["secretKey"]).Refunds.New(p)
	if err != nil {
		return nil, providerError(err)
	}
	return &providers.RefundResult{ProviderReference: rf.ID, Status: RefundStatus(rf.Status)}, nil
}

// stripeReason maps free text to Stripe's refund reasons where it clearly is one.
func stripeReason(reason string) string {
	switch strings.ToLower(strings.TrimSpace(reason)) {
	case "duplicate":
		return "duplicate"
	case "fraudulent", "fraud":
		return "fraudulent"
	case "requested_by_customer", "customer request", "requested by customer":
		return "requested_by_customer"
	}
	return ""
}

// RefundStatus maps a Stripe refund status.
func RefundStatus(s stripego.RefundStatus) domain.RefundStatus {
	switch s {
	case stripego.RefundStatusSucceeded:
		return domain.RefundSucceeded
	case stripego.RefundStatusFailed, stripego.RefundStatusCanceled:
		return domain.RefundFailed
	}
	return domain.RefundPending
}

// TestConnection reads the account's balance: harmless, and it proves the key works.
func (a *Provider) TestConnection(ctx context.Context, p *domain.Provider, creds map[string]string) error {
	params := &stripego.BalanceParams{}
	params.Context = ctx
	if _, err := a.Client(creds["secretKey"]).Balance.Get(params); err != nil {
		return providerError(err)
	}
	return nil
}

// providerError turns a Stripe error into a domain error the page or API can show.
func providerError(err error) error {
	var se *stripego.Error
	if errors.As(err, &se) {
		msg := se.Msg
		if msg == "" {
			msg = string(se.Type)
		}
		switch {
		case se.HTTPStatusCode == http.StatusUnauthorized:
			return domain.Unprocessable("PROVIDER_AUTHENTICATION", "Stripe rejected the API key: %s", msg)
		case se.HTTPStatusCode >= 400 && se.HTTPStatusCode < 500 && se.HTTPStatusCode != http.StatusTooManyRequests:
			return domain.Unprocessable(domain.CodeProviderError, "Stripe: %s", msg)
		}
		return domain.Unavailable(domain.CodeProviderError, err, "Stripe is not available: %s", msg)
	}
	return domain.Unavailable(domain.CodeProviderError, err, "Stripe could not be reached")
}

// Fields are the built-in type's (domain.FieldsFor).
func (a *Provider) Fields() domain.ProviderFields { return domain.FieldsFor(domain.ProviderStripe) }

// Describe names the type for the panel.
func (a *Provider) Describe() domain.ProviderKind {
	return domain.ProviderKind{Name: "Stripe", Description: "Cards and wallets through your Stripe account (Payment Element)."}
}

// ValidateSettings applies the built-in type's rules (domain.ValidateBuiltinSettings).
func (a *Provider) ValidateSettings(p *domain.Provider) error {
	return domain.ValidateBuiltinSettings(p)
}

// ValidateCredentials applies the built-in type's rules (domain.ValidateBuiltinCredentials).
func (a *Provider) ValidateCredentials(mode domain.Mode, creds map[string]string) error {
	return domain.ValidateBuiltinCredentials(domain.ProviderStripe, mode, creds)
}
