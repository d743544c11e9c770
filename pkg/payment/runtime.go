package payment

import (
	"context"
	"crypto/subtle"
	"errors"
	"regexp"
	"strings"
	"time"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/tax"
)

// ReturnURLFunc decides where the buyer goes after a transaction (integrations whose store
// answers with its own return URL, such as Duda, register one for their checkout origin).
type ReturnURLFunc func(ctx context.Context, c *domain.Checkout, t *domain.Transaction) (string, error)

// RegisterReturnURL sets the return-URL rule of a checkout origin.
func (s *Service) RegisterReturnURL(origin domain.CheckoutOrigin, fn ReturnURLFunc) {
	s.returnURLs[origin] = fn
}

// ReturnURL is where the buyer goes after paying: the merchant's returnUrl with the literal
// {transactionId} replaced (or what the checkout's integration says).
func (s *Service) ReturnURL(ctx context.Context, c *domain.Checkout, t *domain.Transaction) (string, error) {
	if fn, ok := s.returnURLs[c.Origin]; ok {
		return fn(ctx, c, t)
	}
	return strings.ReplaceAll(c.ReturnURL, "{transactionId}", t.ID), nil
}

// CancelURLFunc decides where the hosted page's cancel link goes (integrations that must hear of
// a buyer's cancel, such as Duda, register one for their checkout origin).
type CancelURLFunc func(ctx context.Context, c *domain.Checkout) (string, error)

// RegisterCancelURL sets the cancel-link rule of a checkout origin.
func (s *Service) RegisterCancelURL(origin domain.CheckoutOrigin, fn CancelURLFunc) {
	s.cancelURLs[origin] = fn
}

// CancelURL is where the hosted page's cancel link goes: the checkout's cancelUrl (or what the
// checkout's integration says).
func (s *Service) CancelURL(ctx context.Context, c *domain.Checkout) (string, error) {
	if fn, ok := s.cancelURLs[c.Origin]; ok && c.CancelURL != "" {
		return fn(ctx, c)
	}
	return c.CancelURL, nil
}

// RegisterReturnOnPending makes the buyers of an origin's checkouts go back to the return URL as
// soon as their payment is pending (a transfer they said they sent, an authorised direct debit):
// the integration has told its store, which confirms the order when the money arrives.
func (s *Service) RegisterReturnOnPending(origin domain.CheckoutOrigin) {
	s.returnOnPending[origin] = true
}

// ReturnsOnPending reports whether a pending payment sends the buyer back (see
// RegisterReturnOnPending): the attempt is pending, of a checkout whose origin asks for it, and
// the buyer is done with it (a wire transfer only once they said it was sent).
func (s *Service) ReturnsOnPending(c *domain.Checkout, t *domain.Transaction) bool {
	if !s.returnOnPending[c.Origin] || t.Status != domain.TxnPendingProvider {
		return false
	}
	return t.ProviderType != domain.ProviderWireTransfer || t.BuyerMarkedPending != nil
}

// Provider returns the provider of a type.
func (s *Service) Provider(t domain.ProviderType) (providers.Provider, error) {
	return s.providers.Get(t)
}

// Buyer is what the buyer entered on the hosted page.
type Buyer struct {
	domain.BillingDetails
}

// Validate checks the buyer's details (all optional except where a provider needs them).
func (b *Buyer) Validate() error {
	for name, v := range map[string]*string{"name": &b.Name, "company": &b.Company, "line1": &b.Line1, "line2": &b.Line2,
		"city": &b.City, "postalCode": &b.PostalCode, "vatId": &b.VATID, "email": &b.Email} {
		*v = strings.TrimSpace(*v)
		if len(*v) > 255 {
			return domain.Invalid("billingAddress."+name, "%s must be at most 255 characters", name)
		}
	}
	if b.Email != "" {
		if err := domain.ValidateEmail("billingAddress.email", b.Email); err != nil {
			return err
		}
	}
	if b.Country != "" {
		b.Country = domain.NormalizeCountry(b.Country)
		if !domain.IsCountryCode(b.Country) {
			return domain.Invalid("billingAddress.country", "country must be an ISO 3166 alpha-2 code")
		}
	}
	return nil
}

// TaxFor computes the tax of a checkout for a buyer: the organisation's tax settings, the
// checkout's lines (or one goods line for the amount), the buyer's billing country (from the
// form, else the checkout), the checkout's shipping country, and the VAT id checked as the site
// asks (none, format, or VIES).
func (s *Service) TaxFor(ctx context.Context, org *domain.Organization, site *domain.Site, c *domain.Checkout, b domain.BillingDetails) (tax.Result, error) {
	lines := taxLines(c)
	buyer := tax.Buyer{VATIDStatus: tax.VATIDNone}
	switch {
	case b.Country != "":
		buyer.BillingCountry, buyer.BillingSource = b.Country, "billing_form"
	case c.BillingAddress != nil && c.BillingAddress.Country != "":
		buyer.BillingCountry, buyer.BillingSource = c.BillingAddress.Country, "checkout_billing_address"
	}
	if c.ShippingAddress != nil && c.ShippingAddress.Country != "" {
		buyer.ShippingCountry, buyer.ShippingSource = c.ShippingAddress.Country, "checkout_shipping_address"
	}
	vatID := b.VATID
	if vatID == "" && c.BillingAddress != nil {
		vatID = c.BillingAddress.VATID
	}
	if site.VATIDValidation != domain.VATIDNone && vatID != "" {
		var checker tax.VATChecker
		if site.VATIDValidation == domain.VATIDVIES {
			checker = s.vies
		}
		id, status, _, err := tax.VerifyVATID(ctx, checker, vatID)
		if err != nil {
			// VIES answered something unexpected: fall back to the format check, on record.
			s.log.WarnContext(ctx, "VIES check failed; using the format check", "error", err)
			id, status, _, _ = tax.VerifyVATID(ctx, nil, vatID)
			if status == tax.VATIDFormatValid {
				status = tax.VATIDVIESUnavailable
			}
		}
		buyer.VATID, buyer.VATIDStatus = id, status
	}
	res, err := tax.Compute(tax.Input{
		Settings: tax.Settings{SellerCountry: org.SellerCountry, PricesIncludeTax: org.PricesIncludeTax, OSSRegistered: org.OSSRegistered},
		Currency: c.Currency, Lines: lines, Buyer: buyer, At: s.now(),
	})
	if err != nil {
		return tax.Result{}, domain.Invalid("billingAddress", "cannot compute tax: %s", strings.TrimPrefix(err.Error(), "tax: invalid input: "))
	}
	return res, nil
}

// taxLines are a checkout's lines as the tax engine takes them (one goods line for the amount
// when the checkout has no items).
func taxLines(c *domain.Checkout) []tax.Line {
	lines := make([]tax.Line, 0, len(c.Items))
	for _, it := range c.Items {
		l := tax.Line{Type: tax.SupplyType(it.ItemType), Quantity: it.Quantity, UnitPrice: it.UnitPrice}
		if it.VATRate != nil {
			r := tax.Rate(*it.VATRate)
			l.Rate = &r
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		lines = append(lines, tax.Line{Type: tax.SupplyGoods, Quantity: 1, UnitPrice: c.Amount})
	}
	return lines
}

// TransactionTax is the tax a transaction was created with, so that a page reloaded after the
// buyer started paying shows what the buyer pays, not a preview for the checkout's own address.
// The evidence stored with the transaction records every input of that computation (seller
// settings, buyer countries, VAT id and its status, the instant of the rates), so it is computed
// again from the evidence and the checkout's lines; when that does not give the stored totals (an
// older record), the totals, treatment and rates are taken from the record as they are. ok is
// false for a transaction without tax evidence.
func TransactionTax(c *domain.Checkout, t *domain.Transaction) (res tax.Result, ok bool) {
	if len(t.TaxEvidence) == 0 {
		return tax.Result{}, false
	}
	var ev tax.Evidence
	if err := remarshal(t.TaxEvidence, &ev); err != nil || ev.Treatment == "" {
		return tax.Result{}, false
	}
	res, err := tax.Compute(tax.Input{
		Settings: tax.Settings{SellerCountry: ev.SellerCountry, PricesIncludeTax: ev.PricesIncludeTax, OSSRegistered: ev.OSSRegistered},
		Currency: c.Currency, Lines: taxLines(c), At: ev.RatesEffectiveAt,
		Buyer: tax.Buyer{BillingCountry: ev.BillingCountry, ShippingCountry: ev.ShippingCountry, BillingSource: ev.BillingSource,
			ShippingSource: ev.ShippingSource, VATID: ev.VATID, VATIDStatus: ev.VATIDStatus},
	})
	if err == nil && res.TotalNet == t.NetAmount && res.TotalTax == t.TaxAmount && res.TotalGross == t.GrossAmount {
		return res, true
	}
	return tax.Result{TaxIncluded: ev.PricesIncludeTax, Treatment: ev.Treatment, TotalNet: t.NetAmount, TotalTax: t.TaxAmount,
		TotalGross: t.GrossAmount, Breakdown: ev.Rates, Evidence: ev}, true
}

// RuntimeCheckout is a checkout with what the hosted page needs around it.
type RuntimeCheckout struct {
	Checkout     *domain.Checkout
	Site         *domain.Site
	Organization *domain.Organization
	Providers    []domain.Provider // offered: assigned, enabled, mode and currency fit
	// Transaction is the latest attempt that is waiting or paid (to resume the page).
	Transaction *domain.Transaction
	Provider    *domain.Provider // the Transaction's provider
	// ByShortCode says the caller named the checkout by its short code. Only the short code
	// (the payment link the merchant gives the buyer) shows the buyer's personal data: the
	// sessionPublicId travels in every IPN, and so in merchants' logs.
	ByShortCode bool
}

// WithoutBuyer returns a copy of c without the buyer's personal data (e-mail, billing and
// shipping addresses with names, phone and VAT id): what a holder of the sessionPublicId only
// may see or have forwarded to a provider.
func WithoutBuyer(c *domain.Checkout) *domain.Checkout {
	cp := *c
	cp.Email, cp.BillingAddress, cp.ShippingAddress = "", nil, nil
	return &cp
}

// RuntimeCheckout loads a checkout by its short code or public session id (the capabilities
// the hosted page holds). Unknown codes are NOT_FOUND.
func (s *Service) RuntimeCheckout(ctx context.Context, code string) (*RuntimeCheckout, error) {
	var c *domain.Checkout
	var err error
	if strings.HasPrefix(code, domain.PrefixSession+"_") {
		c, err = s.store.GetCheckoutBySession(ctx, code)
	} else {
		c, err = s.store.GetCheckoutByShortCode(ctx, code)
	}
	if err != nil {
		return nil, err
	}
	site, err := s.store.GetSite(ctx, c.OrganizationID, c.SiteID)
	if err != nil {
		return nil, err
	}
	org, err := s.store.GetOrganization(ctx, c.OrganizationID)
	if err != nil {
		return nil, err
	}
	ps, err := s.store.ListSiteProviders(ctx, c.OrganizationID, c.SiteID)
	if err != nil {
		return nil, err
	}
	rc := &RuntimeCheckout{Checkout: c, Site: site, Organization: org, Providers: offeredTo(c, checkout.OfferedProviders(ps, domain.Offer{Mode: c.Mode, Currency: c.Currency, Amount: c.Amount})),
		ByShortCode: !strings.HasPrefix(code, domain.PrefixSession+"_")}
	return rc, s.loadAttempt(ctx, rc)
}

// loadAttempt sets the checkout's latest attempt that is waiting or paid, and its provider.
func (s *Service) loadAttempt(ctx context.Context, rc *RuntimeCheckout) error {
	c := rc.Checkout
	txns, err := s.store.ListCheckoutTransactions(ctx, c.OrganizationID, c.ID)
	if err != nil {
		return err
	}
	for i := len(txns) - 1; i >= 0; i-- {
		t := txns[i]
		if t.Status.Paid() || t.Status == domain.TxnRefunded || t.Status == domain.TxnPendingProvider {
			rc.Transaction = &txns[i]
			break
		}
	}
	if rc.Transaction != nil {
		if rc.Provider, err = s.store.GetProvider(ctx, c.OrganizationID, rc.Transaction.ProviderID); err != nil {
			return err
		}
	}
	return nil
}

// StartInput is the hosted page's request to pay.
type StartInput struct {
	SessionPublicID string
	ProviderID      string
	Buyer           Buyer
	// Language is the hosted page's language as the buyer chose it; the provider's own pages
	// use it, else the checkout's language. Anything but a language tag is ignored.
	Language string
	// ShortCode, when it is the checkout's, proves the caller holds the payment link: only then
	// are the checkout's stored buyer details (e-mail, addresses) forwarded to the provider to
	// prefill its pages, and only then does the answer carry URLs back to the hosted page (they
	// name the short code). A holder of the sessionPublicId alone gets only what it typed, and
	// no URL that names the short code.
	ShortCode string
}

// languageTagRE is a language tag the start of a payment accepts: "fr", "pt-BR".
var languageTagRE = regexp.MustCompile(`^[a-z]{2}(-[A-Za-z]{2})?$`)

// Started is a transaction that began, and what the page does next.
type Started struct {
	Transaction *domain.Transaction
	Tax         tax.Result
	Result      *providers.StartResult
}

// StartTransaction creates a payment attempt with the authoritative tax and starts it at the
// provider. A second request for the same provider while an attempt is still open resumes that
// attempt instead of starting another (double submits, reloads).
//
// Errors: NOT_FOUND for an unknown session; CONFLICT CHECKOUT_EXPIRED, CHECKOUT_NOT_OPEN or
// CHECKOUT_ALREADY_PAID; 422 PROVIDER_NOT_AVAILABLE for a provider the checkout does not offer;
// 503 PROVIDER_ERROR when the provider fails (the attempt is marked failed).
func (s *Service) StartTransaction(ctx context.Context, in StartInput) (*Started, error) {
	if err := in.Buyer.Validate(); err != nil {
		return nil, err
	}
	rc, err := s.RuntimeCheckout(ctx, in.SessionPublicID)
	if err != nil {
		return nil, err
	}
	c := rc.Checkout
	if err := checkOpen(c, s.now()); err != nil {
		return nil, err
	}
	prov := offeredProvider(rc, in.ProviderID)
	if prov == nil {
		return nil, domain.Unprocessable(CodeProviderNotAvailable, "this payment method is not available for this checkout")
	}
	if !prov.Availability.AllowsCountry(in.Buyer.Country) {
		if in.Buyer.Country == "" {
			return nil, domain.Unprocessable(CodeProviderNotAvailable, "this payment method is offered only to buyers of some countries: give the billing country")
		}
		return nil, domain.Unprocessable(CodeProviderNotAvailable, "this payment method is not available to buyers in %s", in.Buyer.Country)
	}
	adapter, err := s.providers.Get(prov.Type)
	if err != nil {
		return nil, err
	}
	creds, err := s.ProviderCredentials(ctx, prov)
	if err != nil {
		return nil, err
	}
	res, err := s.TaxFor(ctx, rc.Organization, rc.Site, c, in.Buyer.BillingDetails)
	if err != nil {
		return nil, err
	}
	if res.TotalGross <= 0 {
		return nil, domain.Unprocessable(domain.CodeInvalidState, "the amount to pay must be positive")
	}
	req := s.startRequest(in, rc, prov, creds)

	// Resume an open attempt with the same provider and amount.
	if started, err := s.resumeAttempt(ctx, adapter, req, c, prov, res); err != nil || started != nil {
		return started, err
	}

	t, err := s.newAttempt(ctx, in, c, prov, res)
	if err != nil {
		return nil, err
	}
	req.Transaction = t
	out, err := adapter.Start(ctx, req)
	if err != nil {
		return nil, s.failStart(ctx, t, err)
	}
	if t, err = s.recordStart(ctx, t, prov, out); err != nil {
		return nil, err
	}
	return &Started{Transaction: t, Tax: res, Result: out}, nil
}

// CodeProviderNotAvailable (422): the provider is not one the checkout offers (not assigned to
// its site, disabled, of the other mode, or its availability rules refuse the checkout's
// currency, amount or mode, or the buyer's country). Nothing is written.
const CodeProviderNotAvailable = "PROVIDER_NOT_AVAILABLE"

// offeredTo keeps the providers the checkout may offer: a customer risk hold may have narrowed
// them when it was created (Checkout.AllowedProviderIDs); the page shows only those, and a
// payment with another is refused like one with a provider the site does not have.
func offeredTo(c *domain.Checkout, ps []domain.Provider) []domain.Provider {
	if c.AllowedProviderIDs == nil {
		return ps
	}
	out := ps[:0:0]
	for _, p := range ps {
		if c.Offers(p.ID) {
			out = append(out, p)
		}
	}
	return out
}

// offeredProvider is the provider with this id among those the checkout offers (the last one
// listed), or nil.
func offeredProvider(rc *RuntimeCheckout, id string) *domain.Provider {
	var prov *domain.Provider
	for i := range rc.Providers {
		if rc.Providers[i].ID == id {
			prov = &rc.Providers[i]
		}
	}
	return prov
}

// startRequest is the request for the provider, without its transaction.
//
// A caller that does not send the checkout's short code (it holds the sessionPublicId, which
// travels in every IPN) gets neither the stored buyer details (forwarded to the provider to
// prefill its pages) nor the short code itself: the hosted page's URL names it, so such a
// caller gets no return, redirect or exit URL back to the page — no Stripe returnUrl, and a
// GoCardless flow that ends on GoCardless's own page. The hosted page always sends the short
// code and gets its URLs; nothing else needs them (Duda arrivals go to the page by its code).
func (s *Service) startRequest(in StartInput, rc *RuntimeCheckout, prov *domain.Provider, creds map[string]string) providers.StartRequest {
	c := rc.Checkout
	req := providers.StartRequest{Provider: prov, Credentials: creds, Checkout: c, Site: rc.Site, Billing: in.Buyer.BillingDetails,
		PageURL: s.Hosts().PaymentURL(c.ShortCode), Language: c.Language}
	if in.ShortCode == "" || subtle.ConstantTimeCompare([]byte(in.ShortCode), []byte(c.ShortCode)) != 1 {
		req.Checkout, req.PageURL = WithoutBuyer(c), ""
	}
	if languageTagRE.MatchString(in.Language) {
		req.Language = in.Language
	}
	return req
}

// resumeAttempt resumes the checkout's latest open attempt with this provider and amount that
// the provider already knows, and returns nil (no error) when there is none. An attempt the
// provider is already processing is a CONFLICT PAYMENT_IN_PROGRESS.
func (s *Service) resumeAttempt(ctx context.Context, adapter providers.Provider, req providers.StartRequest, c *domain.Checkout,
	prov *domain.Provider, res tax.Result) (*Started, error) {
	txns, err := s.store.ListCheckoutTransactions(ctx, c.OrganizationID, c.ID)
	if err != nil {
		return nil, err
	}
	for i := len(txns) - 1; i >= 0; i-- {
		t := txns[i]
		if t.ProviderID == prov.ID && t.Status == domain.TxnPendingProvider && t.ProviderType != domain.ProviderWireTransfer {
			// The provider is already processing this attempt (authorised, or money on its way).
			return nil, domain.Conflict(CodePaymentInProgress, "a payment with this method is already being processed for this checkout")
		}
		if t.ProviderID == prov.ID && t.Status.Open() && t.GrossAmount == res.TotalGross && (t.ProviderReference != nil || t.PaymentReference != nil) {
			req.Transaction = &t
			out, err := adapter.Resume(ctx, req)
			switch {
			case domain.IsConflict(err):
				return nil, err // the adapter's own refusal (an attempt only its page may continue)
			case err != nil:
				return nil, domain.Unavailable(domain.CodeProviderError, err, "the payment provider is not available; try again")
			}
			return &Started{Transaction: &t, Tax: res, Result: out}, nil
		}
	}
	return nil, nil
}

// newAttempt creates the payment attempt (initiated) with the authoritative tax.
func (s *Service) newAttempt(ctx context.Context, in StartInput, c *domain.Checkout, prov *domain.Provider, res tax.Result) (*domain.Transaction, error) {
	evidence := map[string]any{}
	if err := remarshal(res.Evidence, &evidence); err != nil {
		return nil, domain.Internal(err, "encode tax evidence")
	}
	t := &domain.Transaction{
		ID: domain.NewID(domain.PrefixTransaction), OrganizationID: c.OrganizationID, CheckoutID: c.ID, SiteID: c.SiteID,
		ProviderID: prov.ID, ProviderType: prov.Type, Mode: c.Mode, Currency: c.Currency,
		NetAmount: res.TotalNet, TaxAmount: res.TotalTax, GrossAmount: res.TotalGross, BillingDetails: in.Buyer.BillingDetails, TaxEvidence: evidence,
	}
	if languageTagRE.MatchString(in.Language) {
		t.Language = in.Language // the page's language: the receipt's
	}
	err := s.store.InTx(ctx, func(tx Store) error {
		if err := tx.CreateTransaction(ctx, t); err != nil {
			return err
		}
		return recordClientVAT(ctx, tx, c, res.Evidence, s.now())
	})
	if err != nil {
		return nil, err
	}
	s.metrics.TransactionsByStat.WithLabelValues(string(prov.Type), string(domain.TxnInitiated)).Inc()
	return t, nil
}

// recordClientVAT keeps the tax engine's check of the buyer's VAT id on the checkout's client
// (pkg/client): VIES confirmed it (valid) or it is invalid. A format check alone, or VIES not
// answering, changes nothing.
func recordClientVAT(ctx context.Context, tx Store, c *domain.Checkout, ev tax.Evidence, now time.Time) error {
	if c.LinkedClientID == nil || ev.VATID == "" {
		return nil
	}
	var status domain.VATIDStatus
	switch ev.VATIDStatus {
	case tax.VATIDVIESValid:
		status = domain.VATIDValid
	case tax.VATIDInvalid:
		status = domain.VATIDInvalid
	default:
		return nil
	}
	return tx.RecordClientVATCheck(ctx, c.OrganizationID, *c.LinkedClientID, ev.VATID, status, now)
}

// failStart marks the attempt failed after the provider refused to start it, and returns the
// error for the caller: the provider's own domain error, else 503 PROVIDER_ERROR.
func (s *Service) failStart(ctx context.Context, t *domain.Transaction, err error) error {
	msg := err.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	if _, terr := s.store.TransitionTransaction(ctx, domain.Transition{OrganizationID: t.OrganizationID, TransactionID: t.ID, Kind: domain.OutcomeFailed,
		Changes: domain.TransactionChanges{FailureCode: domain.Ptr("provider_error"), FailureMessage: &msg}}); terr != nil {
		s.log.ErrorContext(ctx, "mark failed start", "transaction_id", t.ID, "error", terr)
	}
	if de, ok := errors.AsType[*domain.Error](err); ok && de.Kind != domain.KindInternal {
		return err
	}
	return domain.Unavailable(domain.CodeProviderError, err, "the payment provider could not start the payment; try again or choose another method")
}

// recordStart writes what the provider answered to the start: its references and data, and
// the move to pending_provider when the provider already holds the payment. It returns the
// attempt as it is now.
func (s *Service) recordStart(ctx context.Context, t *domain.Transaction, prov *domain.Provider, out *providers.StartResult) (*domain.Transaction, error) {
	var set domain.TransactionChanges
	if out.ProviderReference != "" {
		set.ProviderReference = domain.Ptr(out.ProviderReference)
		t.ProviderReference = &out.ProviderReference
	}
	if out.PaymentReference != "" {
		set.PaymentReference = domain.Ptr(out.PaymentReference)
		t.PaymentReference = &out.PaymentReference
	}
	set.ProviderData = out.ProviderData
	if out.Status == domain.TxnPendingProvider {
		moved, err := s.store.TransitionTransaction(ctx, domain.Transition{OrganizationID: t.OrganizationID, TransactionID: t.ID, Kind: domain.OutcomePending, Changes: set})
		if err != nil {
			return nil, err
		}
		s.metrics.TransactionsByStat.WithLabelValues(string(prov.Type), string(domain.TxnPendingProvider)).Inc()
		return moved, nil
	}
	if !set.Empty() {
		if err := s.store.UpdateTransactionFields(ctx, t.OrganizationID, t.ID, set); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// checkOpen says why a checkout cannot take a new payment.
func checkOpen(c *domain.Checkout, now time.Time) error {
	switch c.EffectiveStatus(now) {
	case domain.CheckoutOpen:
		return nil
	case domain.CheckoutCompleted:
		return domain.Conflict(domain.CodeAlreadyPaid, "this checkout has already been paid")
	case domain.CheckoutExpired:
		return domain.Conflict(domain.CodeCheckoutExpired, "this checkout has expired")
	}
	return domain.Conflict(domain.CodeCheckoutClosed, "this checkout is %s", c.Status)
}

// RuntimeTransaction is a transaction as the hosted page may see it (by its id, the page's
// capability), with its checkout and provider.
type RuntimeTransaction struct {
	Transaction *domain.Transaction
	Checkout    *domain.Checkout
	Provider    *domain.Provider
}

// RuntimeTransaction loads a transaction for the hosted page.
func (s *Service) RuntimeTransaction(ctx context.Context, id string) (*RuntimeTransaction, error) {
	t, err := s.store.GetTransactionByID(ctx, id)
	if err != nil {
		return nil, err
	}
	c, err := s.store.GetCheckout(ctx, t.OrganizationID, t.CheckoutID)
	if err != nil {
		return nil, err
	}
	p, err := s.store.GetProvider(ctx, t.OrganizationID, t.ProviderID)
	if err != nil {
		return nil, err
	}
	return &RuntimeTransaction{Transaction: t, Checkout: c, Provider: p}, nil
}

// MarkPendingByBuyer records that the buyer says they paid ("I have sent the transfer", or a
// finished GoCardless mandate): an initiated attempt waits for the provider from now on.
func (s *Service) MarkPendingByBuyer(ctx context.Context, id string) (*domain.Transaction, error) {
	t, err := s.store.GetTransactionByID(ctx, id)
	if err != nil {
		return nil, err
	}
	now := domain.Now()
	switch t.Status {
	case domain.TxnInitiated:
		moved, err := s.store.TransitionTransaction(ctx, domain.Transition{OrganizationID: t.OrganizationID, TransactionID: t.ID,
			Kind: domain.OutcomePending, Changes: domain.TransactionChanges{BuyerMarkedPendingAt: &now}, EventData: map[string]any{"by": "buyer"}})
		if err == nil || domain.ErrorCode(err) != domain.CodeAlreadyInState {
			return moved, err
		}
	case domain.TxnPendingProvider:
	default:
		if t.Status.Paid() {
			return t, nil // the money arrived already: nothing to record
		}
		return nil, domain.Conflict(domain.CodeInvalidState, "the payment is %s", t.Status)
	}
	if t.BuyerMarkedPending == nil {
		if err := s.store.UpdateTransactionFields(ctx, t.OrganizationID, t.ID, domain.TransactionChanges{BuyerMarkedPendingAt: &now}, domain.TxnPendingProvider); err != nil {
			return nil, err
		}
	}
	return s.store.GetTransactionByID(ctx, id)
}

// NoteBuyerReturn records when the buyer came back from a provider that reports the attempt
// as being processed or paid (it never moves the status: only the provider does that).
func (s *Service) NoteBuyerReturn(ctx context.Context, id string) error {
	t, err := s.store.GetTransactionByID(ctx, id)
	if err != nil {
		return err
	}
	if t.BuyerMarkedPending != nil || !(t.Status == domain.TxnPendingProvider || t.Status.Paid()) {
		return nil
	}
	err = s.store.UpdateTransactionFields(ctx, t.OrganizationID, t.ID, domain.TransactionChanges{BuyerMarkedPendingAt: domain.Ptr(domain.Now())})
	if domain.IsConflict(err) {
		return nil
	}
	return err
}

// CancelByBuyer ends an attempt the buyer abandons (choosing another method, leaving a
// provider's page). A paid attempt cannot be cancelled.
func (s *Service) CancelByBuyer(ctx context.Context, id string) (*domain.Transaction, error) {
	t, err := s.store.GetTransactionByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if !t.Status.Open() {
		if t.Status == domain.TxnCanceled {
			return t, nil
		}
		return nil, domain.Conflict(domain.CodeInvalidState, "the payment is %s and cannot be cancelled", t.Status)
	}
	if !buyerMayCancel(t) {
		return nil, domain.Conflict(CodePaymentInProgress, "the payment is already being processed and can no longer be cancelled here")
	}
	moved, err := s.store.TransitionTransaction(ctx, domain.Transition{OrganizationID: t.OrganizationID, TransactionID: t.ID, Kind: domain.OutcomeCancelled,
		Changes: domain.TransactionChanges{FailureCode: domain.Ptr("buyer_cancelled"), FailureMessage: domain.Ptr("cancelled by the buyer")}, EventData: map[string]any{"by": "buyer"}})
	if domain.ErrorCode(err) == domain.CodeAlreadyInState {
		return s.store.GetTransactionByID(ctx, id)
	}
	if err == nil {
		s.metrics.TransactionsByStat.WithLabelValues(string(t.ProviderType), string(domain.TxnCanceled)).Inc()
	}
	return moved, err
}

// CodePaymentInProgress is the conflict of a buyer acting on an attempt the provider is
// already processing (authorised by the buyer, or money on its way).
const CodePaymentInProgress = "PAYMENT_IN_PROGRESS"

// buyerMayCancel says whether the buyer may still abandon an open attempt: one that has not
// reached the provider's processing yet, or a bank transfer the buyer has not said was sent.
func buyerMayCancel(t *domain.Transaction) bool {
	switch {
	case t.Status == domain.TxnInitiated:
		return true
	case t.ProviderType == domain.ProviderWireTransfer:
		return t.BuyerMarkedPending == nil
	}
	return false
}

// MarkPaid is the operator confirming that a wire transfer arrived: the transaction succeeds
// and the checkout completes, with the events and the audit entry in the same database
// transaction. Only wire transfers are marked paid by hand.
func (s *Service) MarkPaid(ctx context.Context, actor domain.Actor, orgID, id string, note string) (*domain.Transaction, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "transaction", "update"); err != nil {
		return nil, err
	}
	if len(note) > 500 {
		return nil, domain.Invalid("note", "note must be at most 500 characters")
	}
	var out *domain.Transaction
	err := s.store.InTx(ctx, func(tx Store) error {
		t, err := tx.GetTransaction(ctx, orgID, id)
		if err != nil {
			return err
		}
		if t.ProviderType != domain.ProviderWireTransfer {
			return domain.Unprocessable(domain.CodeInvalidState, "only wire transfers are marked paid by hand; %s payments are confirmed by the provider", t.ProviderType)
		}
		// The transition table decides (an open, failed or cancelled transfer can be marked paid).
		out, err = tx.TransitionTransaction(ctx, domain.Transition{OrganizationID: orgID, TransactionID: id, Kind: domain.OutcomeSucceeded,
			EventData: map[string]any{"by": actor.Label, "note": note}})
		if err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "transaction.mark_paid", "transaction", id, map[string]any{"amount": t.GrossAmount, "currency": t.Currency, "note": note})
	})
	if err != nil {
		return nil, err
	}
	s.metrics.TransactionsByStat.WithLabelValues(string(domain.ProviderWireTransfer), string(domain.TxnSucceeded)).Inc()
	return out, nil
}

// ExpireDue ends open checkouts past their expiry (the background sweep) and returns how many.
// Each one ends with compare-and-set and its event; a checkout paid meanwhile is left alone.
func (s *Service) ExpireDue(ctx context.Context, limit int) (int, error) {
	due, err := s.store.ListExpiredOpenCheckouts(ctx, s.now(), limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range due {
		_, err := s.store.EndCheckout(ctx, c.OrganizationID, c.ID, domain.CheckoutExpired)
		switch {
		case err == nil:
			n++
		case domain.IsConflict(err):
		default:
			return n, err
		}
	}
	return n, nil
}
