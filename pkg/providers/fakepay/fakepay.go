// Package fakepay is a payment provider for tests only, written the way a real one is added:
// everything it does is in this package, and a service gets it with one registration line
// (Register, in a test's apptest.Options.Providers or config.Common.Providers). It proves the
// provider interface: start and resume (a redirect to the fake's page), refund, test the
// connection, verify and parse its webhooks (an HMAC-SHA256 of the body), apply their events
// as typed outcomes, sync (nothing to ask), reconcile, and a runtime route of its own.
//
// Its webhook body is {"id": "...", "type": "payment.succeeded" | "payment.failed" |
// "payment.refunded", "payment": "<provider reference>", "charge": "...", "refund": "...",
// "amount": n, "created": unix seconds}, signed in the Fakepay-Signature header (hex HMAC with
// the provider's webhookSecret).
package fakepay

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/runtimeapi"
)

// Type is the fake's provider type.
const Type domain.ProviderType = "fakepay"

// SignatureHeader carries the webhook's signature.
const SignatureHeader = "Fakepay-Signature"

// PayURL is the fake's payment page (nothing listens there: tests send its webhook instead).
const PayURL = "https://fakepay.test/pay/"

// Provider is the fake provider.
type Provider struct {
	Platform providers.Platform
	// Reconciled counts the transactions Reconcile looked at.
	Reconciled atomic.Int64
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Webhooks = (*Provider)(nil)
	_ providers.Syncer   = (*Provider)(nil)
)

// Register is the fake's line in a registry.
func Register() providers.Registration {
	return providers.Registration{Type: Type, New: func(p providers.Platform) providers.Provider { return &Provider{Platform: p} }}
}

// Type is fakepay.
func (f *Provider) Type() domain.ProviderType { return Type }

// Fields: a public label and a webhook secret.
func (f *Provider) Fields() domain.ProviderFields {
	return domain.ProviderFields{Settings: []string{"label"}, Credentials: []string{"webhookSecret"}, RequiredSecrets: []string{"webhookSecret"},
		Labels: map[string]domain.FieldInfo{"label": {Label: "Label", Hint: "At most 40 characters."}, "webhookSecret": {Label: "Webhook secret", Hint: "Starts with fp_whsec_."}}}
}

// Describe names the fake for the panel.
func (f *Provider) Describe() domain.ProviderKind {
	return domain.ProviderKind{Name: "Fakepay", Description: "A payment provider for tests."}
}

// ValidateSettings: the label is at most 40 characters.
func (f *Provider) ValidateSettings(p *domain.Provider) error {
	if len(p.Settings["label"]) > 40 {
		return domain.Invalid("settings.label", "label must be at most 40 characters")
	}
	return nil
}

// ValidateCredentials: the webhook secret starts with fp_whsec_.
func (f *Provider) ValidateCredentials(_ domain.Mode, creds map[string]string) error {
	if s, ok := creds["webhookSecret"]; ok && !strings.HasPrefix(s, "fp_whsec_") {
		return domain.Invalid("credentials.webhookSecret", "webhookSecret must start with fp_whsec_")
	}
	return nil
}

// Reference is the fake's payment id of a transaction.
func Reference(txnID string) string { return "fp_" + txnID }

// Start sends the buyer to the fake's page.
func (f *Provider) Start(_ context.Context, req providers.StartRequest) (*providers.StartResult, error) {
	ref := Reference(req.Transaction.ID)
	return &providers.StartResult{Next: runtimeapi.Next{Type: "redirect", RedirectURL: PayURL + ref}, ProviderReference: ref,
		ProviderData: map[string]any{"label": req.Provider.Settings["label"]}, Status: domain.TxnInitiated}, nil
}

// Resume sends the buyer to the same page.
func (f *Provider) Resume(ctx context.Context, req providers.StartRequest) (*providers.StartResult, error) {
	res, err := f.Start(ctx, req)
	if err == nil {
		res.ProviderData, res.Status = nil, req.Transaction.Status
	}
	return res, err
}

// Refund is pending until the fake's payment.refunded webhook settles it.
func (f *Provider) Refund(_ context.Context, req providers.RefundRequest) (*providers.RefundResult, error) {
	return &providers.RefundResult{ProviderReference: "fpr_" + req.Refund.ID, Status: domain.RefundPending}, nil
}

// TestConnection accepts any configuration.
func (f *Provider) TestConnection(context.Context, *domain.Provider, map[string]string) error {
	return nil
}

// Extras: a runtime route saying which providers of a checkout are the fake's.
func (f *Provider) Extras() providers.Extras {
	return providers.Extras{Routes: []providers.Route{{Method: http.MethodGet, Path: "/fakepay/ping", Handler: func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"provider": string(Type)})
	}}}}
}

// WebhookAnswers: 200, and 401 for a bad signature.
func (f *Provider) WebhookAnswers() providers.Answers {
	return providers.Answers{OK: http.StatusOK, BadSignature: http.StatusUnauthorized}
}

// Event is the fake's webhook body.
type Event struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Payment string `json:"payment"`
	Charge  string `json:"charge,omitempty"`
	Refund  string `json:"refund,omitempty"`
	Amount  int64  `json:"amount,omitempty"`
	Created int64  `json:"created,omitempty"`
}

// Sign is the signature of a webhook body.
func Sign(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhook checks the signature, then parses the one event.
func (f *Provider) VerifyWebhook(_ context.Context, _ *domain.Provider, creds map[string]string, body []byte, h http.Header) ([]providers.IncomingEvent, error) {
	secret := creds["webhookSecret"]
	if secret == "" || !hmac.Equal([]byte(Sign(body, secret)), []byte(h.Get(SignatureHeader))) {
		return nil, fmt.Errorf("%w: fakepay", providers.ErrBadSignature)
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" || ev.Type == "" || ev.Payment == "" {
		return nil, fmt.Errorf("%w: not a fakepay event", providers.ErrMalformed)
	}
	in := providers.IncomingEvent{ExternalID: ev.ID, Type: ev.Type, Payload: body, ObjectID: ev.Payment}
	if ev.Created > 0 {
		in.OccurredAt = time.Unix(ev.Created, 0).UTC()
	}
	return []providers.IncomingEvent{in}, nil
}

// ApplyEvent applies a stored event as a typed outcome.
func (f *Provider) ApplyEvent(ctx context.Context, stored *domain.ProviderEvent) (string, error) {
	var ev Event
	if err := json.Unmarshal([]byte(stored.Payload), &ev); err != nil {
		return "", err
	}
	t, err := f.Platform.Store().GetTransactionByProviderRef(ctx, stored.ProviderID, ev.Payment)
	if domain.IsNotFound(err) {
		return providers.IgnoredBecause("no transaction for " + ev.Payment), nil
	}
	if err != nil {
		return "", err
	}
	var at time.Time
	if stored.OccurredAt != nil {
		at = *stored.OccurredAt
	}
	var o providers.Outcome
	switch ev.Type {
	case "payment.succeeded":
		o = providers.Outcome{Kind: domain.OutcomeSucceeded, At: at, ProviderPaymentID: ev.Charge, EventData: map[string]any{"source": ev.Type}}
	case "payment.failed":
		o = providers.Outcome{Kind: domain.OutcomeFailed, At: at, FailureCode: "fake_declined", FailureMessage: "the fake declined the payment",
			EventData: map[string]any{"source": ev.Type}}
	case "payment.refunded":
		return domain.ProviderEventProcessed, f.Platform.RecordProviderRefund(ctx, t, ev.Refund, ev.Amount, domain.RefundSucceeded, "fake refund")
	default:
		return domain.ProviderEventIgnored, nil
	}
	if _, err := f.Platform.ApplyOutcome(ctx, t, o); err != nil {
		return "", err
	}
	return domain.ProviderEventProcessed, nil
}

// Sync has nothing to ask: the fake reports by webhook only.
func (f *Provider) Sync(context.Context, *domain.Transaction) error { return nil }

// Reconcile looks at the fake's open transactions (counting them) without asking anybody.
func (f *Provider) Reconcile(ctx context.Context, olderThan time.Duration) (int, error) {
	return f.Platform.ReconcileOpen(ctx, Type, olderThan, 0, func(context.Context, *domain.Transaction) (bool, error) {
		f.Reconciled.Add(1)
		return true, nil
	})
}
