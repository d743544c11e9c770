// Package gocardless is the GoCardless provider: bank payments through Billing Requests and the
// hosted Billing Request Flow. Starting a payment creates a billing request for the
// transaction's gross amount and a flow whose authorisation page the buyer is sent to; the
// flow brings them back to the hosted page (?gocardless=return) or lets them leave
// (?gocardless=exit). Payments take days: webhooks (processed once per event id, in any order)
// report the outcome, the hosted page's status?sync=1 asks at once, and a reconciliation job
// asks about attempts still open long after their charge date. Every organisation has its own
// GoCardless account, so each call uses a client built from that provider's access token.
//
// The API client itself is paygate.dev/pkg/gcapi; tests run against its fake, gcfake.
package gocardless

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"paygate.dev/pkg/gcapi"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/runtimeapi"
)

// Query parameters the flow adds to the hosted page's URL when it sends the buyer back.
const (
	ParamTransaction = "transaction"
	ParamGoCardless  = "gocardless"
	ReturnValue      = "return" // the buyer finished the flow
	ExitValue        = "exit"   // the buyer left the flow to choose another method
)

// Keys of the provider data stored on a GoCardless transaction.
const (
	DataBillingRequest   = "billingRequest"
	DataFlow             = "flow"
	DataAuthorisationURL = "authorisationUrl"
	DataFlowExpiresAt    = "flowExpiresAt"
	// DataFlowReturnsToPage says whether the stored flow sends the payer back to the hosted
	// page (its redirect and exit URIs name the short code). Flows stored before it was kept
	// all did.
	DataFlowReturnsToPage = "flowReturnsToPage"
	DataPayment           = "payment"
	DataMandate           = "mandate"
	DataPaymentStatus     = "paymentStatus"
	DataChargeDate        = "chargeDate"
)

// flowReuseMargin is how long a stored flow must still be valid to be offered again.
const flowReuseMargin = 15 * time.Minute

// Config configures the GoCardless provider.
type Config struct {
	// APIURL overrides the environment's API base (tests point it at gcfake).
	APIURL string
	HTTP   *http.Client
	Log    *slog.Logger
	// Now is the clock flows' expiry is compared with (default: the platform's clock, else
	// time.Now).
	Now func() time.Time
	// Sleep overrides how the client waits between retries (tests).
	Sleep func(context.Context, time.Duration) error
}

// Provider implements providers.Provider (with webhooks and sync) for GoCardless: it starts,
// resumes and refunds payments, receives GoCardless's webhooks and applies its events to
// transactions and refunds, asks GoCardless directly (the buyer's return, reconciliation),
// serves the runtime's billing-request route and cancels abandoned billing requests.
//
// GoCardless events carry ids only, and may arrive late, twice or out of order, so every event
// is applied by fetching the resource it names and applying the resource's current state
// through the platform's ApplyOutcome (idempotent, never backwards): an old event can never
// undo a newer state.
type Provider struct {
	Config
	// Platform is what the provider reports to (nil: payments only, no events).
	Platform providers.Platform
	// ChargeGrace overrides DefaultChargeGrace.
	ChargeGrace time.Duration
	// ReconcileBatch is how many open attempts one reconciliation run looks at (the platform's
	// default if 0).
	ReconcileBatch int
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Webhooks = (*Provider)(nil)
	_ providers.Syncer   = (*Provider)(nil)
)

// New builds the GoCardless provider reporting to p.
func New(p providers.Platform, c Config) *Provider { return &Provider{Config: c, Platform: p} }

// Register is GoCardless's line in the wiring's registry.
func Register(c Config) providers.Registration {
	return providers.Registration{Type: domain.ProviderGoCardless, New: func(p providers.Platform) providers.Provider { return New(p, c) }}
}

// Reconciliation: payments take days, so every 10 minutes ask GoCardless about attempts open
// and untouched for 30 minutes (those long after their charge date, or never authorised).
const (
	ReconcileEvery     = 10 * time.Minute
	ReconcileOlderThan = 30 * time.Minute
)

// Extras: the runtime's billing-request route, the job that cancels abandoned billing
// requests and the outbox hook that queues it, and the periodic reconciliation.
func (a *Provider) Extras() providers.Extras {
	return providers.Extras{
		Routes:  []providers.Route{{Method: http.MethodPost, Path: "/billing-requests/create", Handler: a.CreateBillingRequest}},
		Workers: a.RegisterWorkers,
		Periodic: []providers.Periodic{{Name: "gocardless.reconcile", Every: ReconcileEvery, Run: func(ctx context.Context) error {
			_, err := a.Reconcile(ctx, ReconcileOlderThan)
			return err
		}}},
		// A buyer leaving the GoCardless flow cancels the attempt; its billing request goes with it.
		EventHooks: map[string]providers.EventHook{"gocardless.cancel": a.CancelHook},
	}
}

// Type is gocardless.
func (a *Provider) Type() domain.ProviderType { return domain.ProviderGoCardless }

func (a *Provider) now() time.Time {
	if a.Config.Now != nil {
		return a.Config.Now()
	}
	if a.Platform != nil {
		return a.Platform.Now()
	}
	return time.Now()
}

// Client builds a GoCardless client for one provider's access token and environment.
// A token that does not fit the environment is UNPROCESSABLE.
func (a *Provider) Client(p *domain.Provider, creds map[string]string) (*gcapi.Client, error) {
	hc := a.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	c, err := gcapi.New(gcapi.Config{AccessToken: creds["accessToken"], Environment: p.Settings["environment"], BaseURL: a.APIURL, HTTPClient: hc,
		Sleep: a.Sleep})
	if err != nil {
		return nil, providerError(err)
	}
	return c, nil
}

// instantCurrencies are the currencies GoCardless collects as instant bank payments (a payment
// request alone); the others need a Direct Debit mandate to collect the one-off payment from.
var instantCurrencies = map[string]bool{"GBP": true, "EUR": true}

// Start creates the billing request for the transaction's authoritative gross amount and the
// flow the buyer authorises it in, and sends the buyer to the flow's authorisation page. The
// billing request's idempotency key derives from the transaction, so a retried start returns
// the same request; GoCardless picks the scheme from the currency.
func (a *Provider) Start(ctx context.Context, req providers.StartRequest) (*providers.StartResult, error) {
	cl, err := a.Client(req.Provider, req.Credentials)
	if err != nil {
		return nil, err
	}
	t, c := req.Transaction, req.Checkout
	meta := map[string]string{"transaction_id": t.ID, "checkout_id": c.ID}
	in := gcapi.BillingRequestCreate{
		// The payment request's metadata is copied onto the payment, so payment events name
		// the transaction even before the payment is linked to it.
		PaymentRequest: &gcapi.PaymentRequestCreate{Amount: t.GrossAmount, Currency: t.Currency, Description: description(req), Metadata: meta},
		Metadata:       meta,
	}
	if !instantCurrencies[strings.ToUpper(t.Currency)] {
		in.MandateRequest = &gcapi.MandateRequestCreate{Currency: t.Currency, Metadata: meta}
	}
	br, err := cl.CreateBillingRequest(ctx, in, t.ID+":billing_request")
	if err != nil {
		return nil, providerError(err)
	}
	flow, err := a.createFlow(ctx, cl, req, br.ID, t.ID+":billing_request_flow")
	if err != nil {
		return nil, providerError(err)
	}
	return &providers.StartResult{
		Next:              runtimeapi.Next{Type: "redirect", RedirectURL: flow.AuthorisationURL},
		ProviderReference: br.ID,
		ProviderData:      flowData(br.ID, flow, req.PageURL != ""),
		Status:            domain.TxnInitiated,
	}, nil
}

// Resume sends the buyer back to the stored flow while it is valid, or creates a new flow for
// the same billing request. When the request was fulfilled meanwhile there is nothing left for
// the buyer to do at GoCardless: Next is "none" and Status pending_provider.
func (a *Provider) Resume(ctx context.Context, req providers.StartRequest) (*providers.StartResult, error) {
	t := req.Transaction
	if t.ProviderReference == nil || *t.ProviderReference == "" {
		return a.Start(ctx, req)
	}
	brID := *t.ProviderReference
	// The stored flow is offered again only to a caller of its kind: a flow that returns to the
	// hosted page leads (through GoCardless's page) to the short code, so a caller without the
	// short code gets a flow of its own that does not, and the page gets one that returns to it.
	if u, exp := storedFlow(t.ProviderData); u != "" && exp.After(a.now().Add(flowReuseMargin)) &&
		flowReturnsToPage(t.ProviderData) == (req.PageURL != "") {
		return &providers.StartResult{Next: runtimeapi.Next{Type: "redirect", RedirectURL: u}, ProviderReference: brID,
			ProviderData: t.ProviderData, Status: t.Status}, nil
	}
	cl, err := a.Client(req.Provider, req.Credentials)
	if err != nil {
		return nil, err
	}
	flow, err := a.createFlow(ctx, cl, req, brID, "")
	var ae *gcapi.APIError
	if errors.As(err, &ae) && ae.Type == gcapi.ErrorTypeInvalidState {
		br, gerr := cl.GetBillingRequest(ctx, brID)
		if gerr == nil && br.Status == gcapi.BillingRequestStatusFulfilled {
			return &providers.StartResult{Next: runtimeapi.Next{Type: "none"}, ProviderReference: brID, ProviderData: t.ProviderData,
				Status: domain.TxnPendingProvider}, nil
		}
		if gerr == nil && br.Status == gcapi.BillingRequestStatusCancelled {
			return nil, domain.Conflict(domain.CodeInvalidState, "this GoCardless payment was cancelled; choose a payment method again")
		}
	}
	if err != nil {
		return nil, providerError(err)
	}
	return &providers.StartResult{Next: runtimeapi.Next{Type: "redirect", RedirectURL: flow.AuthorisationURL}, ProviderReference: brID,
		ProviderData: flowData(brID, flow, req.PageURL != ""), Status: t.Status}, nil
}

// createFlow creates the authorisation flow. Flows cannot be fetched, so when the key already
// created one (a retry after a lost answer) a new flow is created under a fresh key: flows are
// cheap and carry no money.
//
// The flow brings the payer back to the hosted page only when the caller holds its short code
// (req.PageURL is set): for a caller with the sessionPublicId alone it has no redirect or exit
// URI (both are optional at GoCardless, which then ends on its own page), so nothing it leads
// to names the short code.
func (a *Provider) createFlow(ctx context.Context, cl *gcapi.Client, req providers.StartRequest, brID, idemKey string) (*gcapi.BillingRequestFlow, error) {
	in := gcapi.BillingRequestFlowCreate{
		Links:             gcapi.BillingRequestFlowCreateLinks{BillingRequest: brID},
		Language:          language(req),
		PrefilledCustomer: prefilled(req),
		LockCurrency:      true,
	}
	if req.PageURL != "" {
		in.RedirectURI = pageURL(req.PageURL, req.Transaction.ID, ReturnValue)
		in.ExitURI = pageURL(req.PageURL, req.Transaction.ID, ExitValue)
	}
	flow, err := cl.CreateBillingRequestFlow(ctx, in, idemKey)
	var ae *gcapi.APIError
	if idemKey != "" && errors.As(err, &ae) && ae.ConflictingResourceID() != "" {
		return cl.CreateBillingRequestFlow(ctx, in, "")
	}
	return flow, err
}

func flowData(brID string, f *gcapi.BillingRequestFlow, toPage bool) map[string]any {
	d := map[string]any{DataBillingRequest: brID, DataFlow: f.ID, DataAuthorisationURL: f.AuthorisationURL, DataFlowReturnsToPage: toPage}
	if !f.ExpiresAt.IsZero() {
		d[DataFlowExpiresAt] = f.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return d
}

// flowReturnsToPage says whether the stored flow sends the payer back to the hosted page.
func flowReturnsToPage(data map[string]any) bool {
	v, ok := data[DataFlowReturnsToPage].(bool)
	return !ok || v
}

// storedFlow returns the authorisation URL and expiry kept on a transaction.
func storedFlow(data map[string]any) (string, time.Time) {
	u, _ := data[DataAuthorisationURL].(string)
	s, _ := data[DataFlowExpiresAt].(string)
	exp, err := time.Parse(time.RFC3339, s)
	if u == "" || err != nil {
		return "", time.Time{}
	}
	return u, exp
}

// pageURL is the hosted page with the transaction and what the buyer did at GoCardless.
func pageURL(page, txnID, what string) string {
	sep := "?"
	if strings.Contains(page, "?") {
		sep = "&"
	}
	return page + sep + ParamTransaction + "=" + url.QueryEscape(txnID) + "&" + ParamGoCardless + "=" + what
}

// flowLanguages are the languages GoCardless's payment pages are available in.
var flowLanguages = map[string]bool{"en": true, "fr": true, "de": true, "pt": true, "es": true, "it": true, "nl": true,
	"da": true, "nb": true, "sl": true, "sv": true}

// language is the checkout's language (else the site's default) when GoCardless has it.
func language(req providers.StartRequest) string {
	for _, l := range []string{req.Language, req.Checkout.Language, siteLanguage(req)} {
		l = strings.ToLower(strings.TrimSpace(l))
		if len(l) >= 2 && flowLanguages[l[:2]] {
			return l[:2]
		}
	}
	return ""
}

func siteLanguage(req providers.StartRequest) string {
	if req.Site == nil {
		return ""
	}
	return req.Site.DefaultLanguage
}

// prefilled is the buyer's details from the hosted page's form, else from the checkout.
func prefilled(req providers.StartRequest) *gcapi.PrefilledCustomer {
	b := req.Billing
	pc := &gcapi.PrefilledCustomer{Email: b.Email, AddressLine1: b.Line1, City: b.City, PostalCode: b.PostalCode, CountryCode: strings.ToUpper(b.Country)}
	pc.GivenName, pc.FamilyName = splitName(b.Name)
	c := req.Checkout
	if pc.Email == "" {
		pc.Email = c.Email
	}
	if a := c.BillingAddress; a != nil {
		if pc.GivenName == "" && pc.FamilyName == "" {
			pc.GivenName, pc.FamilyName = strings.TrimSpace(a.FirstName), strings.TrimSpace(a.LastName)
		}
		if pc.AddressLine1 == "" && pc.City == "" && pc.PostalCode == "" {
			pc.AddressLine1, pc.City, pc.PostalCode = a.Address1, a.City, a.Postcode
		}
		if pc.CountryCode == "" {
			pc.CountryCode = strings.ToUpper(a.Country)
		}
	}
	if len(pc.CountryCode) != 2 {
		pc.CountryCode = ""
	}
	if *pc == (gcapi.PrefilledCustomer{}) {
		return nil
	}
	return pc
}

// splitName splits "Ada Lovelace King" into "Ada Lovelace" and "King"; one word is a given name.
func splitName(name string) (given, family string) {
	name = strings.Join(strings.Fields(name), " ")
	i := strings.LastIndexByte(name, ' ')
	if i < 0 {
		return name, ""
	}
	return name[:i], name[i+1:]
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
	return truncate(d, 255)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// Refund refunds (part of) the transaction's payment. total_amount_confirmation is every
// refund of the transaction including this one, so a duplicated refund cannot pay out twice;
// the idempotency key is the refund's. A refund is pending until GoCardless pays it (a
// refunds.paid webhook completes it).
func (a *Provider) Refund(ctx context.Context, req providers.RefundRequest) (*providers.RefundResult, error) {
	cl, err := a.Client(req.Provider, req.Credentials)
	if err != nil {
		return nil, err
	}
	t := req.Transaction
	paymentID := ""
	if t.ProviderPaymentID != nil {
		paymentID = *t.ProviderPaymentID
	}
	if paymentID == "" && t.ProviderReference != nil {
		// The fulfilment webhook has not linked the payment yet: ask the billing request.
		br, err := cl.GetBillingRequest(ctx, *t.ProviderReference)
		if err != nil {
			return nil, providerError(err)
		}
		paymentID = br.Links.PaymentRequestPayment
	}
	if paymentID == "" {
		return nil, domain.Unprocessable(domain.CodeInvalidState, "the transaction has no GoCardless payment to refund")
	}
	rf, err := cl.CreateRefund(ctx, gcapi.RefundCreate{Amount: req.Refund.Amount, TotalAmountConfirmation: req.TotalRefunded, PaymentID: paymentID,
		Metadata: map[string]string{"refund_id": req.Refund.ID, "transaction_id": t.ID}}, req.IdempotencyKey)
	if err != nil {
		return nil, providerError(err)
	}
	return &providers.RefundResult{ProviderReference: rf.ID, Status: RefundStatus(rf.Status)}, nil
}

// RefundStatus maps a GoCardless refund status: paid is done, bounced / cancelled /
// funds_returned (and the "failed" action) mean the money did not reach the buyer.
func RefundStatus(s gcapi.RefundStatus) domain.RefundStatus {
	switch s {
	case gcapi.RefundStatusPaid:
		return domain.RefundSucceeded
	case gcapi.RefundStatusBounced, gcapi.RefundStatusCancelled, gcapi.RefundStatusFundsReturned, "failed":
		return domain.RefundFailed
	}
	return domain.RefundPending
}

// TestConnection lists one creditor: harmless, and it proves the token works in its environment.
func (a *Provider) TestConnection(ctx context.Context, p *domain.Provider, creds map[string]string) error {
	cl, err := a.Client(p, creds)
	if err != nil {
		return err
	}
	if _, err := cl.ListCreditors(ctx, 1); err != nil {
		return providerError(err)
	}
	return nil
}

// providerError turns a client error into a domain error the page or API can show: GoCardless
// refusing the request (validation, state, a bad token) is UNPROCESSABLE with its message;
// GoCardless being unavailable after the client's retries (5xx, 429, an HTML page from a
// proxy, the network) is UNAVAILABLE.
func providerError(err error) error {
	var ve *gcapi.ValidationError
	var ae *gcapi.APIError
	switch {
	case errors.Is(err, gcapi.ErrInvalidConfig):
		return domain.Unprocessable("PROVIDER_MISCONFIGURED", "the GoCardless provider is misconfigured: %s",
			strings.TrimPrefix(strings.TrimPrefix(err.Error(), gcapi.ErrInvalidConfig.Error()), ": "))
	case errors.Is(err, gcapi.ErrIdempotencyKeyReused):
		return domain.Internal(err, "GoCardless idempotency key reused")
	case errors.As(err, &ve):
		return domain.Unprocessable(domain.CodeProviderError, "GoCardless: %s", strings.TrimPrefix(ve.Error(), "gocardless: "))
	case errors.As(err, &ae):
		msg := ae.Message
		if d := fieldDetails(ae.Errors); d != "" {
			msg += " (" + d + ")"
		}
		switch {
		case ae.StatusCode == http.StatusUnauthorized || ae.StatusCode == http.StatusForbidden:
			return domain.Unprocessable("PROVIDER_AUTHENTICATION", "GoCardless rejected the access token: %s", msg)
		case ae.StatusCode >= 400 && ae.StatusCode < 500 && ae.StatusCode != http.StatusTooManyRequests:
			return domain.Unprocessable(domain.CodeProviderError, "GoCardless: %s", msg)
		}
		return domain.Unavailable(domain.CodeProviderError, err, "GoCardless is not available: %s", msg)
	}
	return domain.Unavailable(domain.CodeProviderError, err, "GoCardless could not be reached")
}

func fieldDetails(errs []gcapi.FieldError) string {
	parts := make([]string, 0, len(errs))
	for _, fe := range errs {
		if fe.Field != "" {
			parts = append(parts, fmt.Sprintf("%s %s", fe.Field, fe.Message))
		}
	}
	return strings.Join(parts, "; ")
}

// Fields are the built-in type's (domain.FieldsFor).
func (a *Provider) Fields() domain.ProviderFields { return domain.FieldsFor(domain.ProviderGoCardless) }

// Describe names the type for the panel.
func (a *Provider) Describe() domain.ProviderKind {
	return domain.ProviderKind{Name: "GoCardless", Description: "Direct Debit and instant bank payments through your GoCardless account."}
}

// ValidateSettings applies the built-in type's rules (domain.ValidateBuiltinSettings).
func (a *Provider) ValidateSettings(p *domain.Provider) error {
	return domain.ValidateBuiltinSettings(p)
}

// ValidateCredentials applies the built-in type's rules (domain.ValidateBuiltinCredentials).
func (a *Provider) ValidateCredentials(mode domain.Mode, creds map[string]string) error {
	return domain.ValidateBuiltinCredentials(domain.ProviderGoCardless, mode, creds)
}
