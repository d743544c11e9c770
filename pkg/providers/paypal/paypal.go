// Package paypal is the PayPal provider: Orders v2 with the buyer approving on PayPal's pages
// (the redirect flow), through github.com/plutov/paypal/v4.
//
// Starting a payment creates an order (intent CAPTURE) for the transaction's gross amount,
// PayPal-Request-Id derived from the transaction, and sends the buyer to its approve link;
// PayPal brings them back to the hosted page (?transaction=...&paypal=return), or, when they
// cancel, to the page's payment methods (?paypal=cancel). The approved order is captured by whichever comes first, exactly once:
// the buyer's return (status?sync=1, the Syncer), the CHECKOUT.ORDER.APPROVED webhook, or
// reconciliation; the capture's PayPal-Request-Id is the transaction's, so concurrent
// captures are one capture at PayPal, and outcomes go through the platform's transition table
// (idempotent, never backwards). PAYMENT.CAPTURE.* events apply the capture's state
// (fetched, so a late or repeated event cannot undo a newer one), refunds complete by the
// PAYMENT.CAPTURE.REFUNDED event or at once, and CUSTOMER.DISPUTE.* events are disputes.
// Webhooks are verified by PayPal's verify-webhook-signature call with the provider's
// webhook id. The environment follows the mode: sandbox for test, live for live.
//
// Tests run against paypalfake, a loopback PayPal written from PayPal's documentation.
package paypal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	pp "github.com/plutov/paypal/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/money"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/runtimeapi"
)

// Type is PayPal's provider type.
const Type domain.ProviderType = "paypal"

// Query parameters PayPal's return and cancel URLs add to the hosted page's URL.
const (
	ParamTransaction = "transaction"
	ParamPayPal      = "paypal"
	ReturnValue      = "return" // the buyer approved the order
	CancelValue      = "cancel" // the buyer left PayPal without approving
)

// Keys of the provider data stored on a PayPal transaction.
const (
	DataOrder         = "order"
	DataApproveURL    = "approveUrl"
	DataReturnsToPage = "returnsToPage"
	DataCapture       = "capture"
	DataCaptureStatus = "captureStatus"
)

// Order and capture statuses (Orders v2, Payments v2).
const (
	OrderCreated        = "CREATED"
	OrderSaved          = "SAVED"
	OrderApproved       = "APPROVED"
	OrderVoided         = "VOIDED"
	OrderCompleted      = "COMPLETED"
	OrderPayerAction    = "PAYER_ACTION_REQUIRED"
	CaptureCompleted    = "COMPLETED"
	CapturePending      = "PENDING"
	CaptureDeclined     = "DECLINED"
	CaptureFailed       = "FAILED"
	CaptureRefunded     = "REFUNDED"
	CapturePartRefunded = "PARTIALLY_REFUNDED"
)

// Config configures the PayPal provider.
type Config struct {
	// APIURL overrides the environment's API base (tests point it at paypalfake).
	APIURL string
	HTTP   *http.Client
	Log    *slog.Logger
	// Sleep overrides how calls wait between retries (tests).
	Sleep func(context.Context, time.Duration) error
}

// Provider implements providers.Provider, Webhooks and Syncer for PayPal.
type Provider struct {
	Config
	Platform providers.Platform
	// ReconcileBatch is how many open attempts one reconciliation run looks at (0: default).
	ReconcileBatch int
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Webhooks = (*Provider)(nil)
	_ providers.Syncer   = (*Provider)(nil)
)

// New builds the PayPal provider reporting to p.
func New(p providers.Platform, c Config) *Provider { return &Provider{Config: c, Platform: p} }

// Register is PayPal's line in the wiring's registry.
func Register(c Config) providers.Registration {
	return providers.Registration{Type: Type, New: func(p providers.Platform) providers.Provider { return New(p, c) }}
}

// Reconciliation: every 5 minutes, attempts open and untouched for 15 minutes (an approval
// whose webhook was lost is captured; an abandoned order is cancelled).
const (
	ReconcileEvery     = 5 * time.Minute
	ReconcileOlderThan = 15 * time.Minute
)

// Type is paypal.
func (a *Provider) Type() domain.ProviderType { return Type }

// Extras: the periodic reconciliation.
func (a *Provider) Extras() providers.Extras {
	return providers.Extras{Periodic: []providers.Periodic{{Name: "paypal.reconcile", Every: ReconcileEvery, Run: func(ctx context.Context) error {
		_, err := a.Reconcile(ctx, ReconcileOlderThan)
		return err
	}}}}
}

// Fields: the REST app's client id and secret, and the webhook's id (for PayPal's signature
// verification); all secret, all required.
func (a *Provider) Fields() domain.ProviderFields {
	return domain.ProviderFields{
		Credentials:     []string{"clientId", "clientSecret", "webhookId"},
		RequiredSecrets: []string{"clientId", "clientSecret", "webhookId"},
		Labels: map[string]domain.FieldInfo{
			"clientId":     {Label: "Client ID", Hint: "Of your REST API app (sandbox app for test mode, live app for live mode)."},
			"clientSecret": {Label: "Client secret", Hint: "The app's secret."},
			"webhookId":    {Label: "Webhook ID", Hint: "The id PayPal shows for the webhook pointing at the URL below."},
		},
	}
}

// Describe names PayPal for the screens.
func (a *Provider) Describe() domain.ProviderKind {
	return domain.ProviderKind{Name: "PayPal", Description: "PayPal checkout: the buyer approves the payment on PayPal's pages.",
		RefundNote: "PayPal refunds the captured payment, in full or in part."}
}

// ValidateSettings: PayPal takes no public settings.
func (a *Provider) ValidateSettings(*domain.Provider) error { return nil }

var (
	credentialRE = regexp.MustCompile(`^[A-Za-z0-9_\-]{8,200}$`)
	webhookIDRE  = regexp.MustCompile(`^[A-Za-z0-9\-]{5,50}$`)
)

// ValidateCredentials checks the shapes of the credentials given.
func (a *Provider) ValidateCredentials(_ domain.Mode, creds map[string]string) error {
	for _, k := range []string{"clientId", "clientSecret"} {
		if v, ok := creds[k]; ok && !credentialRE.MatchString(v) {
			return domain.Invalid("credentials."+k, "%s must be the 8 to 200 letters, digits, - and _ PayPal shows", k)
		}
	}
	if v, ok := creds["webhookId"]; ok && !webhookIDRE.MatchString(v) {
		return domain.Invalid("credentials.webhookId", "webhookId must be the webhook's id as PayPal shows it")
	}
	return nil
}

// baseURL is the API of the provider's mode: sandbox for test, live for live.
func (a *Provider) baseURL(p *domain.Provider) string {
	switch {
	case a.APIURL != "":
		return strings.TrimRight(a.APIURL, "/")
	case p.Mode == domain.ModeLive:
		return pp.APIBaseLive
	}
	return pp.APIBaseSandBox
}

// Client builds a PayPal client for one provider's credentials.
func (a *Provider) Client(p *domain.Provider, creds map[string]string) (*pp.Client, error) {
	c, err := pp.NewClient(creds["clientId"], creds["clientSecret"], a.baseURL(p))
	if err != nil {
		return nil, domain.Unprocessable("PROVIDER_MISCONFIGURED", "the PayPal provider is misconfigured: its client id and secret are required")
	}
	hc := a.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	c.SetHTTPClient(hc)
	return c, nil
}

func (a *Provider) client(ctx context.Context, prov *domain.Provider) (*pp.Client, error) {
	creds, err := a.Platform.ProviderCredentials(ctx, prov)
	if err != nil {
		return nil, err
	}
	return a.Client(prov, creds)
}

// retry runs a call up to three times while PayPal is unavailable (429, 5xx, the network).
// Every POST carries a PayPal-Request-Id, so a repeated call is the same call.
func (a *Provider) retry(ctx context.Context, call func() error) error {
	wait := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := call()
		if err == nil || attempt == 3 || !transient(err) {
			return err
		}
		sleep := a.Sleep
		if sleep == nil {
			sleep = func(ctx context.Context, d time.Duration) error {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(d):
					return nil
				}
			}
		}
		if serr := sleep(ctx, wait); serr != nil {
			return err
		}
		wait *= 4
	}
}

// transient reports whether PayPal was unavailable rather than refusing.
func transient(err error) bool {
	var er *pp.ErrorResponse
	if errors.As(err, &er) {
		return er.Response != nil && (er.Response.StatusCode == http.StatusTooManyRequests || er.Response.StatusCode >= 500)
	}
	var ne net.Error
	var se *json.SyntaxError
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &se) || errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded)
}

// issue is the first detail's issue of a PayPal error ("" if none).
func issue(err error) string {
	var er *pp.ErrorResponse
	if errors.As(err, &er) && len(er.Details) > 0 {
		return er.Details[0].Issue
	}
	return ""
}

func status(err error) int {
	var er *pp.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// providerError turns a client error into a domain error: PayPal refusing (4xx) is
// UNPROCESSABLE with its name, issue and debug id; a bad client id or secret is
// PROVIDER_AUTHENTICATION; PayPal unavailable (429, 5xx, the network) is UNAVAILABLE.
func providerError(err error) error {
	var er *pp.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		msg := strings.TrimSpace(er.Name + " " + er.Message)
		if d := issue(err); d != "" {
			msg += " (" + d + ")"
		}
		if er.DebugID != "" {
			msg += " [debug_id " + er.DebugID + "]"
		}
		switch code := er.Response.StatusCode; {
		case code == http.StatusUnauthorized || code == http.StatusForbidden:
			return domain.Unprocessable("PROVIDER_AUTHENTICATION", "PayPal rejected the client id and secret: %s", msg)
		case code >= 400 && code < 500 && code != http.StatusTooManyRequests:
			return domain.Unprocessable(domain.CodeProviderError, "PayPal: %s", msg)
		}
		return domain.Unavailable(domain.CodeProviderError, err, "PayPal is not available: %s", msg)
	}
	if de := (*domain.Error)(nil); errors.As(err, &de) {
		return err
	}
	return domain.Unavailable(domain.CodeProviderError, err, "PayPal could not be reached")
}

// TestConnection obtains an OAuth token with the credentials.
func (a *Provider) TestConnection(ctx context.Context, p *domain.Provider, creds map[string]string) error {
	cl, err := a.Client(p, creds)
	if err != nil {
		return err
	}
	if err := a.retry(ctx, func() error { _, err := cl.GetAccessToken(ctx); return err }); err != nil {
		return providerError(err)
	}
	return nil
}

// amountOf renders minor units as PayPal's decimal string of the currency.
func amountOf(minor int64, currency string) (*pp.Money, error) {
	c, ok := money.Lookup(strings.ToUpper(currency))
	if !ok {
		return nil, domain.Unprocessable(domain.CodeProviderError, "PayPal: unknown currency %s", currency)
	}
	return &pp.Money{Currency: c.Code, Value: money.FormatDecimal(minor, c)}, nil
}

// minorOf parses PayPal's decimal string exactly.
func minorOf(value, currency string) (int64, error) {
	c, ok := money.Lookup(strings.ToUpper(currency))
	if !ok {
		return 0, fmt.Errorf("paypal: unknown currency %q", currency)
	}
	return money.ParseDecimal(value, c)
}

// Start creates the order for the transaction's authoritative gross amount (PayPal-Request-Id
// "<transaction>:order": a retried start is the same order) and sends the buyer to its approve
// link. The order returns to the hosted page only when the caller holds its short code.
func (a *Provider) Start(ctx context.Context, req providers.StartRequest) (*providers.StartResult, error) {
	cl, err := a.Client(req.Provider, req.Credentials)
	if err != nil {
		return nil, err
	}
	t := req.Transaction
	amt, err := amountOf(t.GrossAmount, t.Currency)
	if err != nil {
		return nil, err
	}
	unit := pp.PurchaseUnitRequest{ReferenceID: t.ID, CustomID: t.ID, Description: description(req),
		Amount: &pp.PurchaseUnitAmount{Currency: amt.Currency, Value: amt.Value}}
	ac := &pp.ApplicationContext{ShippingPreference: pp.ShippingPreferenceNoShipping, UserAction: pp.UserActionPayNow}
	if req.Site != nil {
		ac.BrandName = truncate(req.Site.Name, 127)
	}
	if req.PageURL != "" {
		ac.ReturnURL = pageURL(req.PageURL, t.ID, ReturnValue)
		// Cancelling returns to the page without the transaction: the page shows the payment
		// methods again (the attempt stays open, PayPal again resumes its order; reconciliation
		// cancels it once the checkout can no longer be paid).
		ac.CancelURL = cancelURL(req.PageURL)
	}
	var o *pp.Order
	err = a.retry(ctx, func() (err error) {
		o, err = cl.CreateOrderWithPaypalRequestID(ctx, pp.OrderIntentCapture, []pp.PurchaseUnitRequest{unit}, nil, ac, t.ID+":order")
		return err
	})
	if err != nil {
		return nil, providerError(err)
	}
	approve := link(o.Links, "approve", "payer-action")
	if o.ID == "" || approve == "" {
		return nil, domain.Unavailable(domain.CodeProviderError, nil, "PayPal answered an order without an approve link")
	}
	return &providers.StartResult{
		Next:              runtimeapi.Next{Type: "redirect", RedirectURL: approve},
		ProviderReference: o.ID,
		ProviderData:      map[string]any{DataOrder: o.ID, DataApproveURL: approve, DataReturnsToPage: req.PageURL != ""},
		Status:            domain.TxnInitiated,
	}, nil
}

// Resume sends the buyer back to the order's approve link while PayPal waits for them. An
// order approved meanwhile is captured (Sync) and there is nothing left to do at PayPal: a
// CONFLICT. An order that returns to the hosted page is continued only by a caller holding the
// short code (and one that does not, only by a caller without it): its approve link leads to
// the page.
func (a *Provider) Resume(ctx context.Context, req providers.StartRequest) (*providers.StartResult, error) {
	t := req.Transaction
	if t.ProviderReference == nil || *t.ProviderReference == "" {
		return a.Start(ctx, req)
	}
	if v, ok := t.ProviderData[DataReturnsToPage].(bool); ok && v != (req.PageURL != "") {
		return nil, domain.Conflict(domain.CodeInvalidState, "this PayPal payment can only be continued from the page it was started on")
	}
	cl, err := a.Client(req.Provider, req.Credentials)
	if err != nil {
		return nil, err
	}
	var o *pp.Order
	if err := a.retry(ctx, func() (err error) { o, err = cl.GetOrder(ctx, *t.ProviderReference); return err }); err != nil {
		return nil, providerError(err)
	}
	switch o.Status {
	case OrderCreated, OrderPayerAction, OrderSaved:
		if u := link(o.Links, "approve", "payer-action"); u != "" {
			return &providers.StartResult{Next: runtimeapi.Next{Type: "redirect", RedirectURL: u}, ProviderReference: o.ID,
				ProviderData: t.ProviderData, Status: t.Status}, nil
		}
	case OrderApproved, OrderCompleted:
		if err := a.applyOrder(ctx, cl, t, o, "resume", providers.Now()); err != nil {
			return nil, err
		}
		return nil, domain.Conflict(domain.CodeInvalidState, "the payment was already approved at PayPal; its confirmation is on its way")
	}
	return nil, domain.Conflict(domain.CodeInvalidState, "this PayPal payment can no longer be continued (order %s); choose a payment method again", strings.ToLower(o.Status))
}

func link(ls []pp.Link, rels ...string) string {
	for _, rel := range rels {
		for _, l := range ls {
			if l.Rel == rel && l.Href != "" {
				return l.Href
			}
		}
	}
	return ""
}

// pageURL is the hosted page with the transaction and what the buyer did at PayPal.
func pageURL(page, txnID, what string) string {
	sep := "?"
	if strings.Contains(page, "?") {
		sep = "&"
	}
	return page + sep + ParamTransaction + "=" + url.QueryEscape(txnID) + "&" + ParamPayPal + "=" + what
}

// cancelURL is the hosted page with paypal=cancel and no transaction.
func cancelURL(page string) string {
	sep := "?"
	if strings.Contains(page, "?") {
		sep = "&"
	}
	return page + sep + ParamPayPal + "=" + CancelValue
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
	return truncate(d, 127)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// Refund refunds (part of) the transaction's capture, PayPal-Request-Id the refund's
// idempotency key, our refund id as the refund's invoice_id (PAYMENT.CAPTURE.REFUNDED names
// it). COMPLETED is done; PENDING settles by webhook; FAILED or CANCELLED failed.
func (a *Provider) Refund(ctx context.Context, req providers.RefundRequest) (*providers.RefundResult, error) {
	cl, err := a.Client(req.Provider, req.Credentials)
	if err != nil {
		return nil, err
	}
	t := req.Transaction
	capID := ""
	if t.ProviderPaymentID != nil {
		capID = *t.ProviderPaymentID
	}
	if capID == "" && t.ProviderReference != nil {
		var o *pp.Order
		if err := a.retry(ctx, func() (err error) { o, err = cl.GetOrder(ctx, *t.ProviderReference); return err }); err != nil {
			return nil, providerError(err)
		}
		if c := orderCapture(o); c != nil {
			capID = c.ID
		}
	}
	if capID == "" {
		return nil, domain.Unprocessable(domain.CodeInvalidState, "the transaction has no PayPal capture to refund")
	}
	amt, err := amountOf(req.Refund.Amount, t.Currency)
	if err != nil {
		return nil, err
	}
	var rf *pp.RefundResponse
	err = a.retry(ctx, func() (err error) {
		rf, err = cl.RefundCaptureWithPaypalRequestId(ctx, capID, pp.RefundCaptureRequest{Amount: amt, InvoiceID: req.Refund.ID}, req.IdempotencyKey)
		return err
	})
	if err != nil {
		return nil, providerError(err)
	}
	out := &providers.RefundResult{ProviderReference: rf.ID, Status: RefundStatus(rf.Status)}
	if out.Status == domain.RefundFailed {
		out.FailureMessage = "PayPal: the refund " + strings.ToLower(rf.Status)
	}
	return out, nil
}

// RefundStatus maps a PayPal refund status.
func RefundStatus(s string) domain.RefundStatus {
	switch s {
	case "COMPLETED":
		return domain.RefundSucceeded
	case "FAILED", "CANCELLED":
		return domain.RefundFailed
	}
	return domain.RefundPending
}
