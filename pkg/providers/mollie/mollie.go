// Package mollie is the Mollie provider: the buyer pays on Mollie's hosted checkout and comes
// back to the hosted page (?transaction=…&mollie=return), which asks for the outcome
// (status?sync=1). Each organisation uses its own API key: test_ keys for test-mode
// providers, live_ keys for live ones.
//
// Mollie's webhooks carry only a payment id and are not signed, so nothing in them is
// trusted: the receiver reads the payment with the organisation's key (an id that is not one
// of its payments in the provider's mode is answered 200 and stores nothing), and the event
// job reads it again and applies what Mollie says. A forged call can only cause a re-read.
// Refunds (full and partial) are created with the refund's idempotency key and settled from
// the payment's refund list; chargebacks become disputes, lost at once (a Mollie chargeback
// is final unless reversed: the money is already taken back), and won when every chargeback of
// the payment is reversed. The API client is paygate.dev/pkg/mollieapi; tests run against molliefake.
package mollie

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/mollieapi"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/runtimeapi"
)

// Type is Mollie's provider type.
const Type domain.ProviderType = "mollie"

// Query parameters the payment's redirectUrl adds to the hosted page.
const (
	ParamTransaction = "transaction"
	ParamMollie      = "mollie"
	ReturnValue      = "return"
)

// Keys of the provider data stored on a Mollie transaction.
const (
	DataPayment       = "payment"
	DataCheckoutURL   = "checkoutUrl"
	DataExpiresAt     = "expiresAt"
	DataReturnsToPage = "returnsToPage"
	DataStatus        = "paymentStatus"
	DataMethod        = "method"
)

// Reconciliation: every 10 minutes ask about attempts open and untouched for 15 minutes
// (Mollie's checkout expires after 15 minutes for most methods).
const (
	ReconcileEvery     = 10 * time.Minute
	ReconcileOlderThan = 15 * time.Minute
)

// Config configures the Mollie provider.
type Config struct {
	// APIURL overrides https://api.mollie.com (tests point it at molliefake).
	APIURL string
	// HooksURL is the main backend's public base URL: payments are created with the webhookUrl
	// HooksURL/hooks/mollie/<provider id> ("": no webhooks; sync and reconciliation only).
	HooksURL string
	HTTP     *http.Client
	Log      *slog.Logger
	// Sleep overrides how the client waits between retries (tests).
	Sleep func(context.Context, time.Duration) error
}

// Provider implements providers.Provider, Webhooks and Syncer for Mollie.
type Provider struct {
	Config
	Platform providers.Platform
	// ReconcileBatch is how many open attempts one run looks at (0: the platform's default).
	ReconcileBatch int
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Webhooks = (*Provider)(nil)
	_ providers.Syncer   = (*Provider)(nil)
)

// New builds the provider reporting to p.
func New(p providers.Platform, c Config) *Provider { return &Provider{Config: c, Platform: p} }

// Register is Mollie's line in the wiring's registry.
func Register(c Config) providers.Registration {
	return providers.Registration{Type: Type, New: func(p providers.Platform) providers.Provider { return New(p, c) }}
}

// Type is mollie.
func (a *Provider) Type() domain.ProviderType { return Type }

// Extras: the periodic reconciliation.
func (a *Provider) Extras() providers.Extras {
	return providers.Extras{Periodic: []providers.Periodic{{Name: "mollie.reconcile", Every: ReconcileEvery, Run: func(ctx context.Context) error {
		_, err := a.Reconcile(ctx, ReconcileOlderThan)
		return err
	}}}}
}

// Fields: the API key (secret) and an optional restriction of the methods offered.
func (a *Provider) Fields() domain.ProviderFields {
	return domain.ProviderFields{Settings: []string{"methods"}, Credentials: []string{"apiKey"}, RequiredSecrets: []string{"apiKey"},
		Labels: map[string]domain.FieldInfo{
			"methods": {Label: "Payment methods", Hint: "Optional: Mollie method ids separated by commas (ideal, creditcard, bancontact ...); empty offers every method enabled in Mollie."},
			"apiKey":  {Label: "API key", Hint: "From Mollie's dashboard (Developers → API keys): test_... for a test-mode provider, live_... for a live one."},
		}}
}

// Describe names the type for the screens.
func (a *Provider) Describe() domain.ProviderKind {
	return domain.ProviderKind{Name: "Mollie", Description: "Cards, iDEAL, Bancontact and more on Mollie's hosted checkout, with your Mollie account."}
}

var methodID = regexp.MustCompile(`^[a-z0-9]{2,32}$`)

// methods are the configured method ids.
func methods(p *domain.Provider) []string {
	var out []string
	for _, m := range strings.Split(p.Settings["methods"], ",") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, m)
		}
	}
	return out
}

// ValidateSettings: methods, when given, are Mollie method ids.
func (a *Provider) ValidateSettings(p *domain.Provider) error {
	ms := methods(p)
	if len(ms) > 20 {
		return domain.Invalid("settings.methods", "at most 20 methods")
	}
	for _, m := range ms {
		if !methodID.MatchString(m) {
			return domain.Invalid("settings.methods", "%q is not a Mollie method id (lower-case letters and digits, e.g. ideal)", m)
		}
	}
	return nil
}

// ValidateCredentials: the API key's prefix must match the mode (test_ for test, live_ for live).
func (a *Provider) ValidateCredentials(mode domain.Mode, creds map[string]string) error {
	k, ok := creds["apiKey"]
	if !ok {
		return nil
	}
	if strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' || r == 0x7f }) || mollieapi.KeyMode(k) == "" {
		return domain.Invalid("credentials.apiKey", "apiKey must be a Mollie API key (test_... or live_...)")
	}
	if mollieapi.KeyMode(k) != string(mode) {
		return domain.Invalid("credentials.apiKey", "a %s-mode provider needs a %s_ API key", mode, mode)
	}
	return nil
}

// Client builds a client with a provider's API key; a key that does not fit the provider's
// mode is refused before anything is sent.
func (a *Provider) Client(p *domain.Provider, creds map[string]string) (*mollieapi.Client, error) {
	hc := a.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	c, err := mollieapi.New(mollieapi.Config{APIKey: creds["apiKey"], BaseURL: a.APIURL, HTTPClient: hc, Sleep: a.Sleep})
	if err != nil {
		return nil, providerError(err)
	}
	if c.Mode() != string(p.Mode) {
		return nil, domain.Unprocessable("PROVIDER_MISCONFIGURED", "the Mollie provider is misconfigured: a %s-mode provider needs a %s_ API key", p.Mode, p.Mode)
	}
	return c, nil
}

// webhookURL is where Mollie calls about this provider's payments.
func (a *Provider) webhookURL(p *domain.Provider) string {
	if a.HooksURL == "" {
		return ""
	}
	return strings.TrimRight(a.HooksURL, "/") + "/hooks/" + string(Type) + "/" + url.PathEscape(p.ID)
}

// Start creates the Mollie payment for the transaction's authoritative gross amount and sends
// the buyer to Mollie's checkout. The idempotency key derives from the transaction, so a
// retried start returns the same payment.
func (a *Provider) Start(ctx context.Context, req providers.StartRequest) (*providers.StartResult, error) {
	cl, err := a.Client(req.Provider, req.Credentials)
	if err != nil {
		return nil, err
	}
	t, c := req.Transaction, req.Checkout
	amount, err := mollieapi.AmountOf(t.GrossAmount, t.Currency)
	if err != nil {
		return nil, providerError(err)
	}
	back := returnURL(req)
	if back == "" {
		return nil, domain.Unprocessable(domain.CodeInvalidState, "Mollie needs a page to send the buyer back to: pay on the checkout's payment page")
	}
	in := mollieapi.PaymentCreate{Amount: amount, Description: description(req), RedirectURL: back, WebhookURL: a.webhookURL(req.Provider),
		Locale: locale(req), Method: methods(req.Provider), Metadata: map[string]string{"transaction_id": t.ID, "checkout_id": c.ID}}
	pm, err := cl.CreatePayment(ctx, in, t.ID+":payment")
	if err != nil {
		return nil, providerError(err)
	}
	if pm.CheckoutURL() == "" {
		return nil, domain.Unavailable(domain.CodeProviderError, nil, "Mollie gave no checkout for payment %s (status %s)", pm.ID, pm.Status)
	}
	return &providers.StartResult{Next: runtimeapi.Next{Type: "redirect", RedirectURL: pm.CheckoutURL()}, ProviderReference: pm.ID,
		ProviderData: paymentData(pm, req.PageURL != ""), Status: domain.TxnInitiated}, nil
}

// returnURL is the hosted page with the transaction when the caller holds the payment link;
// otherwise the checkout's own return URL (never the short code to a caller without it).
func returnURL(req providers.StartRequest) string {
	if req.PageURL == "" {
		return req.Checkout.ReturnURL
	}
	sep := "?"
	if strings.Contains(req.PageURL, "?") {
		sep = "&"
	}
	return req.PageURL + sep + ParamTransaction + "=" + url.QueryEscape(req.Transaction.ID) + "&" + ParamMollie + "=" + ReturnValue
}

func paymentData(pm *mollieapi.Payment, toPage bool) map[string]any {
	d := map[string]any{DataPayment: pm.ID, DataStatus: string(pm.Status), DataReturnsToPage: toPage}
	if u := pm.CheckoutURL(); u != "" {
		d[DataCheckoutURL] = u
	}
	if pm.ExpiresAt != nil {
		d[DataExpiresAt] = pm.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return d
}

// Resume sends the buyer back to the payment's checkout while it is open. Once the buyer has
// paid (or the payment is pending), there is nothing left to do at Mollie: Next is "none".
func (a *Provider) Resume(ctx context.Context, req providers.StartRequest) (*providers.StartResult, error) {
	t := req.Transaction
	if t.ProviderReference == nil || *t.ProviderReference == "" {
		return a.Start(ctx, req)
	}
	if toPage, _ := t.ProviderData[DataReturnsToPage].(bool); toPage && req.PageURL == "" {
		// Its redirectUrl names the short code, which this caller does not hold.
		return nil, domain.Conflict(domain.CodeInvalidState, "this Mollie payment continues on the checkout's payment page")
	}
	cl, err := a.Client(req.Provider, req.Credentials)
	if err != nil {
		return nil, err
	}
	pm, err := cl.GetPayment(ctx, *t.ProviderReference)
	if err != nil {
		return nil, providerError(err)
	}
	switch pm.Status {
	case mollieapi.PaymentOpen:
		if u := pm.CheckoutURL(); u != "" {
			return &providers.StartResult{Next: runtimeapi.Next{Type: "redirect", RedirectURL: u}, ProviderReference: pm.ID,
				ProviderData: t.ProviderData, Status: t.Status}, nil
		}
	case mollieapi.PaymentPending, mollieapi.PaymentAuthorized, mollieapi.PaymentPaid:
		return &providers.StartResult{Next: runtimeapi.Next{Type: "none"}, ProviderReference: pm.ID, ProviderData: t.ProviderData,
			Status: domain.TxnPendingProvider}, nil
	}
	return nil, domain.Conflict(domain.CodeInvalidState, "this Mollie payment is %s; choose a payment method again", pm.Status)
}

// mollieLocales are the locales Mollie's checkout speaks, by language.
var mollieLocales = map[string]string{"en": "en_US", "nl": "nl_NL", "fr": "fr_FR", "de": "de_DE", "es": "es_ES", "ca": "ca_ES", "pt": "pt_PT",
	"it": "it_IT", "nb": "nb_NO", "sv": "sv_SE", "fi": "fi_FI", "da": "da_DK", "is": "is_IS", "hu": "hu_HU", "pl": "pl_PL", "lv": "lv_LV", "lt": "lt_LT"}

func locale(req providers.StartRequest) string {
	ls := []string{req.Language, req.Checkout.Language}
	if req.Site != nil {
		ls = append(ls, req.Site.DefaultLanguage)
	}
	for _, l := range ls {
		l = strings.ToLower(strings.TrimSpace(l))
		if len(l) >= 2 {
			if m, ok := mollieLocales[l[:2]]; ok {
				return m
			}
		}
	}
	return ""
}

func description(req providers.StartRequest) string {
	d := ""
	if req.Site != nil {
		d = req.Site.Name
	}
	if ref := req.Checkout.Reference(); ref != "" {
		if d != "" {
			d += " — "
		}
		d += ref
	}
	if strings.TrimSpace(d) == "" {
		d = "Payment " + req.Transaction.ID
	}
	if utf8.RuneCountInString(d) > 255 {
		d = string([]rune(d)[:255])
	}
	return d
}

// Refund refunds (part of) the payment with the refund's idempotency key. Mollie refunds are
// queued or pending at first; the payment's webhook reports when they are refunded or failed.
func (a *Provider) Refund(ctx context.Context, req providers.RefundRequest) (*providers.RefundResult, error) {
	cl, err := a.Client(req.Provider, req.Credentials)
	if err != nil {
		return nil, err
	}
	t := req.Transaction
	pmID := paymentID(t)
	if pmID == "" {
		return nil, domain.Unprocessable(domain.CodeInvalidState, "the transaction has no Mollie payment to refund")
	}
	amount, err := mollieapi.AmountOf(req.Refund.Amount, req.Refund.Currency)
	if err != nil {
		return nil, providerError(err)
	}
	rf, err := cl.CreateRefund(ctx, pmID, mollieapi.RefundCreate{Amount: amount, Description: truncate(req.Refund.Reason, 140),
		Metadata: map[string]string{"refund_id": req.Refund.ID, "transaction_id": t.ID}}, req.IdempotencyKey)
	if err != nil {
		return nil, providerError(err)
	}
	return &providers.RefundResult{ProviderReference: rf.ID, Status: RefundStatus(rf.Status)}, nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// paymentID is the Mollie payment of a transaction.
func paymentID(t *domain.Transaction) string {
	if t.ProviderPaymentID != nil && *t.ProviderPaymentID != "" {
		return *t.ProviderPaymentID
	}
	if t.ProviderReference != nil {
		return *t.ProviderReference
	}
	return ""
}

// RefundStatus maps a Mollie refund status.
func RefundStatus(s mollieapi.RefundStatus) domain.RefundStatus {
	switch s {
	case mollieapi.RefundRefunded:
		return domain.RefundSucceeded
	case mollieapi.RefundFailed, mollieapi.RefundCanceled:
		return domain.RefundFailed
	}
	return domain.RefundPending
}

// TestConnection lists the enabled payment methods: harmless, and it proves the key works.
func (a *Provider) TestConnection(ctx context.Context, p *domain.Provider, creds map[string]string) error {
	cl, err := a.Client(p, creds)
	if err != nil {
		return err
	}
	if _, err := cl.ListMethods(ctx, nil); err != nil {
		return providerError(err)
	}
	return nil
}

// providerError turns a client error into a domain error: Mollie refusing the request
// (validation, state, a bad key) is UNPROCESSABLE with its detail; Mollie unavailable after
// the client's retries (5xx, 429, the network) is UNAVAILABLE.
func providerError(err error) error {
	var ve *mollieapi.ValidationError
	var ae *mollieapi.APIError
	switch {
	case errors.Is(err, mollieapi.ErrInvalidConfig):
		return domain.Unprocessable("PROVIDER_MISCONFIGURED", "the Mollie provider is misconfigured: %s",
			strings.TrimPrefix(strings.TrimPrefix(err.Error(), mollieapi.ErrInvalidConfig.Error()), ": "))
	case errors.As(err, &ve):
		return domain.Unprocessable(domain.CodeProviderError, "Mollie: %s %s", ve.Field, ve.Message)
	case errors.As(err, &ae):
		msg := ae.Detail
		if ae.Field != "" {
			msg += " (" + ae.Field + ")"
		}
		switch {
		case mollieapi.IsUnauthorized(err):
			return domain.Unprocessable("PROVIDER_AUTHENTICATION", "Mollie rejected the API key: %s", msg)
		case mollieapi.IsUnprocessable(err):
			return domain.Unprocessable(domain.CodeProviderError, "Mollie: %s", msg)
		}
		return domain.Unavailable(domain.CodeProviderError, err, "Mollie is not available: %s", msg)
	}
	return domain.Unavailable(domain.CodeProviderError, err, "Mollie could not be reached")
}
