package checkout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/money"
)

// Limits on checkout input.
const (
	MaxAmount           = 1_000_000_000_000 // minor units
	MaxQuantity         = 1_000_000
	MaxItems            = 250
	MaxReferenceLength  = 64
	MaxURLLength        = 2048
	MinExpiryMinutes    = 30
	MaxExpiryMinutes    = 90 * 24 * 60
	DefaultExpiry       = 24 * time.Hour
	maxMetadataKeys     = 50
	maxMetadataBytes    = 16 << 10
	maxNameLength       = 255
	maxDescriptionBytes = 1000
)

// ItemInput is one line item as merchants send it.
type ItemInput struct {
	Name        string
	Description string
	Quantity    int64
	UnitPrice   int64
	VATRate     *int64 // hundredths of a percent
	ItemType    string
}

// CheckoutInput creates a checkout (from the API, the dashboard or an integration).
type CheckoutInput struct {
	Amount            int64
	Currency          string
	Email             string
	ExternalReference string
	InvoiceNumber     string
	ReturnURL         string
	CancelURL         string
	IPNURL            string
	ClientID          string
	BillingAddress    *domain.Address
	ShippingAddress   *domain.Address
	Items             []ItemInput
	Language          string
	Metadata          map[string]any
	ExpiresInMinutes  *int
	// Mode is required for dashboard users; an API key always creates objects of its own mode.
	Mode      domain.Mode
	Origin    domain.CheckoutOrigin
	OriginRef *string
	// IntegrationURLs marks return/cancel URLs that come from an integration's own API (a Duda
	// session's cancel_url), not from a merchant request: they must still be absolute https, but
	// need not be on the site's allowed hosts.
	IntegrationURLs bool
}

// AmountMismatchMessage is the text the merchant plugins match on; never change it.
func AmountMismatchMessage(sum, amount int64) string {
	return fmt.Sprintf("sum of item amounts (%d) does not match total amount (%d)", sum, amount)
}

var (
	referenceRE = regexp.MustCompile(`^[\x20-\x7E\p{L}\p{N}]+$`)
	languageRE  = regexp.MustCompile(`^([a-zA-Z]{2})([-_][a-zA-Z]{2})?$`)
)

// CreateCheckout validates a checkout request and writes the checkout (PrepareCheckout, then
// SaveCheckout without an idempotency claim, again with fresh codes in the unlikely case that
// its codes were taken).
func (s *Service) CreateCheckout(ctx context.Context, actor domain.Actor, orgID, siteID string, in CheckoutInput) (*domain.Checkout, error) {
	c, err := s.PrepareCheckout(ctx, actor, orgID, siteID, in)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		err = s.SaveCheckout(ctx, actor, c, nil)
		if !errors.Is(err, ErrCheckoutCodesTaken) || attempt == 2 {
			return c, err
		}
	}
}

// PrepareCheckout validates a checkout request against the contract and the site and builds
// the checkout (ids, codes, expiry) without writing anything.
//
// Errors: NOT_FOUND when the site does not belong to the organisation; 400 VALIDATION_ERROR
// naming the field for bad input, AMOUNT_MISMATCH when the items do not add up to the amount;
// 422 NO_PROVIDER_AVAILABLE when the site has no enabled provider for the mode and currency.
func (s *Service) PrepareCheckout(ctx context.Context, actor domain.Actor, orgID, siteID string, in CheckoutInput) (*domain.Checkout, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "checkout", "create"); err != nil {
		return nil, err
	}
	mode := in.Mode
	if actor.Type == domain.ActorAPIKey {
		mode = actor.Mode
	}
	if !mode.Valid() {
		return nil, domain.Invalid("mode", "mode must be test or live")
	}
	site, types, err := s.store.GetSiteWithProviderTypes(ctx, orgID, siteID, mode)
	if err != nil {
		return nil, err
	}
	c, err := s.buildCheckout(site, mode, in)
	if err != nil {
		return nil, err
	}
	// Last, once everything else is valid: this may ask DNS.
	if err := s.CheckIPNTarget(ctx, c.IPNURL); err != nil {
		return nil, err
	}
	c.IPNAllowPrivate = c.IPNURL != "" && s.ipnTargets.AllowPrivate
	if !slices.ContainsFunc(types, func(t domain.ProviderType) bool { return t.SupportsCurrency(c.Currency) }) {
		return nil, domain.Unprocessable(domain.CodeNoProvider,
			"the site has no enabled %s-mode payment provider that accepts %s; assign one to the site first", mode, c.Currency)
	}
	if err := s.screen(ctx, c); err != nil {
		return nil, err
	}
	c.CreatedBy = actor.Label
	domain.StampNewCheckout(c) // its times and item keys are final: an answer can be rendered now
	return c, nil
}

// screen links a prepared checkout to its client (pkg/client: the one its clientId names, else
// the buyer's e-mail's, new or known) and applies the client's holds: a block, or an
// unresolved dispute where the organisation asks for it, refuses it (409); a restriction
// narrows the providers it offers to those the hold allows, and refuses it (409
// CHECKOUT_RESTRICTED_BY_CUSTOMER_HOLD) when the site offers none of them.
func (s *Service) screen(ctx context.Context, c *domain.Checkout) error {
	if s.clients == nil {
		return nil
	}
	sc, err := s.clients.ScreenCheckout(ctx, c.OrganizationID, c.Mode, c.ClientID, c.Email)
	if err != nil {
		return err
	}
	switch {
	case sc.ClientID != "":
		c.LinkedClientID, c.ScreenedClient = &sc.ClientID, sc.Client
	case c.Email != "":
		id := domain.NewID(domain.PrefixClient)
		c.LinkedClientID = &id
	}
	if len(sc.Holds) == 0 {
		return nil
	}
	ps, err := s.store.ListSiteProviders(ctx, c.OrganizationID, c.SiteID)
	if err != nil {
		return err
	}
	offered := OfferedProviders(ps, domain.Offer{Mode: c.Mode, Currency: c.Currency, Amount: c.Amount})
	for i := range sc.Holds {
		h := &sc.Holds[i]
		allowed := []string{}
		for j := range offered {
			if h.Allows(&offered[j]) && c.Offers(offered[j].ID) {
				allowed = append(allowed, offered[j].ID)
			}
		}
		if len(allowed) == 0 {
			return h.Refusal()
		}
		c.HoldID, c.AllowedProviderIDs = &h.ID, allowed
	}
	return nil
}

// ErrCheckoutCodesTaken is SaveCheckout's answer when another checkout already has the short
// code or session id drawn for this one (odds about 2^-71), or another checkout created the
// buyer's client meanwhile: nothing was written, the checkout has fresh codes (or its client's
// id), and the caller renders its answer again (they are in it) and saves.
var ErrCheckoutCodesTaken = errors.New("checkout codes taken; fresh ones drawn")

// SaveCheckout writes a prepared checkout. With a claim, the Idempotency-Key's answer it
// carries (rendered by the caller from the prepared checkout) is written atomically with the
// checkout (see store.CreateCheckoutAnswered for the claim's two refusals). A dashboard user's
// checkout is also written to the audit log, in the same transaction.
func (s *Service) SaveCheckout(ctx context.Context, actor domain.Actor, c *domain.Checkout, claim *domain.IdempotencyClaim) error {
	if err := auth.InOrg(actor, c.OrganizationID); err != nil {
		return err
	}
	var err error
	// A transaction only when there is more to write than the checkout (one statement on
	// PostgreSQL): an audit entry, or a client that is new or learns something from it.
	if actor.Type == domain.ActorUser || c.LinkedClientID != nil && s.clientsIn != nil && !c.ClientCurrent() {
		err = s.store.InTx(ctx, func(tx Store) error {
			if err := s.recordClient(ctx, tx, c); err != nil {
				return err
			}
			if err := tx.CreateCheckoutAnswered(ctx, c, claim); err != nil {
				return err
			}
			if actor.Type != domain.ActorUser {
				return nil
			}
			return tx.Audit(ctx, actor, "checkout.create", "checkout", c.ID, map[string]any{"amount": c.Amount, "currency": c.Currency, "siteId": c.SiteID})
		})
	} else {
		err = s.store.CreateCheckoutAnswered(ctx, c, claim)
	}
	if errors.Is(err, errClientChanged) {
		return ErrCheckoutCodesTaken
	}
	if err != nil && (domain.IsConstraint(err, "checkouts_short_code_key") || domain.IsConstraint(err, "checkouts_session_public_id_key")) {
		c.ShortCode, c.SessionPublicID = domain.NewShortCode(), domain.NewSessionPublicID()
		return ErrCheckoutCodesTaken
	}
	if err != nil {
		return err
	}
	s.metrics.CheckoutsCreated.WithLabelValues(string(c.Mode), string(c.Origin)).Inc()
	return nil
}

// errClientChanged: the buyer's client was created by another checkout between this one's
// preparation and its save; the checkout now names that client and its answer is rendered again.
var errClientChanged = errors.New("the buyer's client was created meanwhile")

// recordClient creates or updates the checkout's client in tx, before the checkout is written.
func (s *Service) recordClient(ctx context.Context, tx Store, c *domain.Checkout) error {
	if c.LinkedClientID == nil || s.clientsIn == nil {
		return nil
	}
	id, err := s.clientsIn(tx).RecordCheckout(ctx, c)
	if err != nil {
		return err
	}
	if id != *c.LinkedClientID {
		c.LinkedClientID = &id
		return errClientChanged
	}
	return nil
}

// OfferedProviders keeps the providers that can take a payment of this mode, currency and
// amount: enabled, of the mode, a currency their type takes, and their availability rules met
// (the buyer's country, which a checkout does not know, is matched when the buyer pays).
func OfferedProviders(ps []domain.Provider, o domain.Offer) []domain.Provider {
	var out []domain.Provider
	for _, p := range ps {
		if p.OffersCheckout(o) {
			out = append(out, p)
		}
	}
	return out
}

// ValidateCheckout is the pure part of PrepareCheckout: it validates a checkout request against
// a site already loaded and builds the checkout, reading and writing nothing. The Admin API's
// fuzz target drives it; PrepareCheckout calls the same code.
func (s *Service) ValidateCheckout(site *domain.Site, mode domain.Mode, in CheckoutInput) (*domain.Checkout, error) {
	return s.buildCheckout(site, mode, in)
}

// buildCheckout validates every field before anything is written. Every invalid field is
// reported: the first as the error (what the API answers with), the others in its Also.
func (s *Service) buildCheckout(site *domain.Site, mode domain.Mode, in CheckoutInput) (*domain.Checkout, error) {
	var v domain.Invalids
	cur, amountErr := checkAmount(in)
	if err := v.Collect(amountErr); err != nil {
		return nil, err
	}
	c := &domain.Checkout{
		ID: domain.NewID(domain.PrefixCheckout), OrganizationID: site.OrganizationID, SiteID: site.ID, Mode: mode,
		ShortCode: domain.NewShortCode(), SessionPublicID: domain.NewSessionPublicID(), Status: domain.CheckoutOpen,
		Amount: in.Amount, Currency: cur.Code, Origin: in.Origin, OriginRef: in.OriginRef, Metadata: in.Metadata,
	}
	if c.Origin == "" {
		c.Origin = domain.OriginAPI
	}
	if err := v.Collect(setReferences(c, in)); err != nil {
		return nil, err
	}
	if err := v.Collect(s.setURLs(c, in, mode, site)); err != nil {
		return nil, err
	}
	for _, field := range []string{"billingAddress", "shippingAddress"} {
		if a := map[string]*domain.Address{"billingAddress": in.BillingAddress, "shippingAddress": in.ShippingAddress}[field]; a != nil {
			if err := v.Collect(a.Validate(field)); err != nil {
				return nil, err
			}
		}
	}
	c.BillingAddress, c.ShippingAddress = in.BillingAddress, in.ShippingAddress
	if in.Language != "" {
		if m := languageRE.FindStringSubmatch(strings.TrimSpace(in.Language)); m == nil {
			v.Add("language", "language must be a code like de or de-DE")
		} else {
			c.Language = strings.ToLower(m[1])
		}
	}
	if err := v.Collect(checkMetadata(in.Metadata)); err != nil {
		return nil, err
	}
	expiry, err := checkExpiry(in.ExpiresInMinutes)
	if err := v.Collect(err); err != nil {
		return nil, err
	}
	c.ExpiresAt = domain.UTC(s.now().Add(expiry))
	if amountErr == nil { // the items are checked against a valid amount only
		c.Items, err = buildItems(in.Items, in.Amount)
		if err := v.Collect(err); err != nil {
			return nil, err
		}
	}
	if v.Failed() {
		return nil, v.Err()
	}
	return c, nil
}

// checkAmount checks the currency and the amount, and returns the currency.
func checkAmount(in CheckoutInput) (money.Currency, error) {
	cur, ok := money.Lookup(in.Currency)
	if !ok {
		return cur, domain.Invalid("currency", "currency %q is not a known ISO 4217 code", in.Currency)
	}
	if in.Amount <= 0 {
		return cur, domain.Invalid("amount", "amount must be a positive integer in minor units of %s", cur.Code)
	}
	if in.Amount > MaxAmount {
		return cur, domain.Invalid("amount", "amount must be at most %d", int64(MaxAmount))
	}
	return cur, nil
}

// setReferences checks the buyer's e-mail, the merchant's references (one at least) and the
// client id, and sets them, trimmed, on c.
func setReferences(c *domain.Checkout, in CheckoutInput) error {
	var bad domain.Invalids
	c.Email = strings.TrimSpace(in.Email)
	if c.Email != "" {
		_ = bad.Collect(domain.ValidateEmail("email", c.Email)) // only ever a field's error
	}
	c.ExternalReference = strings.TrimSpace(in.ExternalReference)
	c.InvoiceNumber = strings.TrimSpace(in.InvoiceNumber)
	if c.ExternalReference == "" && c.InvoiceNumber == "" {
		bad.Add("externalReference", "externalReference or invoiceNumber is required")
	}
	for _, field := range []string{"externalReference", "invoiceNumber"} {
		v := map[string]string{"externalReference": c.ExternalReference, "invoiceNumber": c.InvoiceNumber}[field]
		if len(v) > MaxReferenceLength {
			bad.Add(field, "%s must be at most %d characters", field, MaxReferenceLength)
		} else if v != "" && !referenceRE.MatchString(v) {
			bad.Add(field, "%s must not contain control characters", field)
		}
	}
	c.ClientID = strings.TrimSpace(in.ClientID)
	if len(c.ClientID) > 128 {
		bad.Add("clientId", "clientId must be at most 128 characters")
	}
	return bad.Err()
}

// setURLs checks the return, cancel and IPN URLs and sets them on c.
func (s *Service) setURLs(c *domain.Checkout, in CheckoutInput, mode domain.Mode, site *domain.Site) error {
	var v domain.Invalids
	var err error
	c.ReturnURL, err = s.checkURL("returnUrl", in.ReturnURL, mode, site, !in.IntegrationURLs)
	if err := v.Collect(err); err != nil {
		return err
	}
	c.CancelURL, err = s.checkURL("cancelUrl", in.CancelURL, mode, site, !in.IntegrationURLs)
	if err := v.Collect(err); err != nil {
		return err
	}
	c.IPNURL, err = s.checkURL("ipnUrl", in.IPNURL, mode, site, false)
	if err := v.Collect(err); err != nil {
		return err
	}
	return v.Err()
}

// checkExpiry is how long the checkout stays open: DefaultExpiry, or the minutes asked for
// within the limits.
func checkExpiry(minutes *int) (time.Duration, error) {
	if minutes == nil {
		return DefaultExpiry, nil
	}
	m := *minutes
	if m < MinExpiryMinutes || m > MaxExpiryMinutes {
		return 0, domain.Invalid("expiresInMinutes", "expiresInMinutes must be from %d (30 minutes) to %d (90 days)", MinExpiryMinutes, MaxExpiryMinutes)
	}
	return time.Duration(m) * time.Minute, nil
}

func buildItems(in []ItemInput, amount int64) ([]domain.Item, error) {
	if len(in) > MaxItems {
		return nil, domain.Invalid("items", "at most %d items", MaxItems)
	}
	items := make([]domain.Item, 0, len(in))
	var sum int64
	for i, it := range in {
		field := fmt.Sprintf("items[%d]", i)
		name, desc := strings.TrimSpace(it.Name), strings.TrimSpace(it.Description)
		if name == "" {
			name, desc = desc, ""
		}
		if name == "" {
			return nil, domain.Invalid(field+".name", "%s needs a name or a description", field)
		}
		if len(name) > maxNameLength {
			return nil, domain.Invalid(field+".name", "%s.name must be at most %d characters", field, maxNameLength)
		}
		if len(desc) > maxDescriptionBytes {
			return nil, domain.Invalid(field+".description", "%s.description must be at most %d characters", field, maxDescriptionBytes)
		}
		if it.Quantity < 1 || it.Quantity > MaxQuantity {
			return nil, domain.Invalid(field+".quantity", "%s.quantity must be a whole number from 1 to %d", field, MaxQuantity)
		}
		if it.UnitPrice > MaxAmount || it.UnitPrice < -MaxAmount {
			return nil, domain.Invalid(field+".unitPrice", "%s.unitPrice is out of range", field)
		}
		typ, ok := domain.ParseItemType(it.ItemType)
		if !ok {
			return nil, domain.Invalid(field+".itemType", "%s.itemType %q is not one of goods, digital_service, shipping, tax, discount (or physical, virtual)", field, it.ItemType)
		}
		switch untyped := strings.TrimSpace(it.ItemType) == ""; {
		case it.UnitPrice < 0 && untyped:
			typ = domain.ItemDiscount // a negative line without a type is a discount
		case it.UnitPrice < 0 && typ != domain.ItemDiscount:
			return nil, domain.Invalid(field+".unitPrice", "%s.unitPrice may be negative only for discount lines", field)
		case it.UnitPrice > 0 && typ == domain.ItemDiscount:
			return nil, domain.Invalid(field+".unitPrice", "%s is a discount: its unitPrice must be negative", field)
		}
		if it.VATRate != nil && (*it.VATRate < 0 || *it.VATRate > 10000) {
			return nil, domain.Invalid(field+".vatRate", "%s.vatRate must be a percentage from 0 to 100", field)
		}
		total, err := money.Mul(it.Quantity, it.UnitPrice)
		if err == nil {
			sum, err = money.Add(sum, total)
		}
		if err != nil {
			return nil, domain.Invalid("items", "the items' total is out of range")
		}
		items = append(items, domain.Item{Name: name, Description: desc, Quantity: it.Quantity, UnitPrice: it.UnitPrice, VATRate: it.VATRate, ItemType: typ})
	}
	if len(items) > 0 && sum != amount {
		return nil, &domain.Error{Kind: domain.KindInvalid, Code: domain.CodeAmountMismatch, Field: "items", Message: AmountMismatchMessage(sum, amount)}
	}
	return items, nil
}

// checkURL validates a merchant URL: absolute https (http only for localhost in test mode, or
// in development); return and cancel URLs must also be on one of the site's allowed hosts.
// The literal {transactionId} placeholder is allowed anywhere.
func (s *Service) checkURL(field, raw string, mode domain.Mode, site *domain.Site, redirect bool) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	if len(raw) > MaxURLLength {
		return "", domain.Invalid(field, "%s must be at most %d characters", field, MaxURLLength)
	}
	probe := strings.ReplaceAll(raw, "{transactionId}", "txn")
	u, err := url.Parse(probe)
	if err != nil || u.Host == "" || !u.IsAbs() || u.User != nil {
		return "", domain.Invalid(field, "%s must be an absolute URL", field)
	}
	host := strings.ToLower(u.Hostname())
	if field == "ipnUrl" {
		// Before the scheme rules: an internal target gets the code that says so, whatever
		// its scheme. Names are looked up later (CheckIPNTarget), once the request is valid.
		if _, err := s.ipnTargets.CheckLiteral(host); err != nil {
			return "", domain.IPNURLPrivate(err.Error())
		}
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !(IsLocalhost(host) && (mode == domain.ModeTest || s.dev)) {
			return "", domain.Invalid(field, "%s must use https (http is allowed only for localhost in test mode)", field)
		}
	default:
		return "", domain.Invalid(field, "%s must use https", field)
	}
	if redirect && !(site.HostAllowed(host) || site.HostAllowed(strings.ToLower(u.Host))) {
		return "", domain.Invalid(field, "%s host %s is not one of the site's allowed hosts; add it to the site first", field, host)
	}
	return raw, nil
}

// CheckIPNTarget applies the notification SSRF policy (pkg/netguard, the one the main
// backend's notifier applies on every delivery) to an ipnUrl's host: IP literals and localhost
// names without DNS, other names by their current DNS answer (any internal address refuses).
// A name that does not resolve now is accepted, since the merchant's DNS may be briefly down:
// each delivery resolves and checks it again at connect time. 400 IPN_URL_PRIVATE.
func (s *Service) CheckIPNTarget(ctx context.Context, raw string) error {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil
	}
	u, err := url.Parse(strings.ReplaceAll(raw, "{transactionId}", "txn"))
	if err != nil || u.Host == "" {
		return domain.Invalid("ipnUrl", "ipnUrl must be an absolute URL")
	}
	unresolved, err := s.ipnTargets.CheckHost(ctx, u.Hostname())
	if err != nil {
		return domain.IPNURLPrivate(err.Error())
	}
	if unresolved && s.log != nil {
		s.log.InfoContext(ctx, "ipnUrl host does not resolve now; accepted, each delivery checks it again", "host", u.Hostname())
	}
	return nil
}

// IsLocalhost reports whether host names this machine (localhost, or a loopback address).
func IsLocalhost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkMetadata(m map[string]any) error {
	if m == nil {
		return nil
	}
	if len(m) > maxMetadataKeys {
		return domain.Invalid("metadata", "metadata holds at most %d keys", maxMetadataKeys)
	}
	for k := range m {
		if k == "" || len(k) > 64 {
			return domain.Invalid("metadata", "metadata keys must be 1 to 64 characters")
		}
	}
	b, err := json.Marshal(m)
	if err != nil || len(b) > maxMetadataBytes {
		return domain.Invalid("metadata", "metadata must be at most %d bytes of JSON", maxMetadataBytes)
	}
	return nil
}

// CheckoutDetail is a checkout with its transactions.
type CheckoutDetail struct {
	Checkout     *domain.Checkout
	Transactions []domain.Transaction
}

// GetCheckout returns a checkout with its items and transactions; NOT_FOUND for another
// organisation's.
func (s *Service) GetCheckout(ctx context.Context, actor domain.Actor, orgID, id string) (*CheckoutDetail, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "checkout", "read"); err != nil {
		return nil, err
	}
	c, err := s.store.GetCheckout(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	txns, err := s.store.ListCheckoutTransactions(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	return &CheckoutDetail{Checkout: c, Transactions: txns}, nil
}

// ListCheckouts lists checkouts newest first. It returns the page and whether there is more.
func (s *Service) ListCheckouts(ctx context.Context, actor domain.Actor, f domain.CheckoutFilter) ([]domain.Checkout, bool, error) {
	if err := auth.InOrg(actor, f.OrganizationID); err != nil {
		return nil, false, err
	}
	if err := auth.Authorize(actor, "checkout", "read"); err != nil {
		return nil, false, err
	}
	if f.Limit < 1 || f.Limit > 100 {
		return nil, false, domain.Invalid("limit", "limit must be from 1 to 100")
	}
	if f.Status != "" && !validCheckoutStatus(f.Status) {
		return nil, false, domain.Invalid("status", "status must be open, completed, expired or cancelled")
	}
	if f.Mode != "" && !f.Mode.Valid() {
		return nil, false, domain.Invalid("mode", "mode must be test or live")
	}
	if !auth.ModeFilter(actor, &f.Mode) {
		return nil, false, nil
	}
	out, err := s.store.ListCheckouts(ctx, f)
	if err != nil {
		return nil, false, err
	}
	out, more := domain.CutPage(out, f.Limit)
	return out, more, nil
}

func validCheckoutStatus(st domain.CheckoutStatus) bool {
	switch st {
	case domain.CheckoutOpen, domain.CheckoutCompleted, domain.CheckoutExpired, domain.CheckoutCancelled:
		return true
	}
	return false
}

// UpdateCheckout replaces metadata and/or extends the expiry of an open checkout.
func (s *Service) UpdateCheckout(ctx context.Context, actor domain.Actor, orgID, id string, metadata map[string]any, expiresInMinutes *int) (*domain.Checkout, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "checkout", "update"); err != nil {
		return nil, err
	}
	if err := checkMetadata(metadata); err != nil {
		return nil, err
	}
	var exp *time.Time
	if expiresInMinutes != nil {
		m := *expiresInMinutes
		if m < MinExpiryMinutes || m > MaxExpiryMinutes {
			return nil, domain.Invalid("expiresInMinutes", "expiresInMinutes must be from %d to %d", MinExpiryMinutes, MaxExpiryMinutes)
		}
		t := s.now().Add(time.Duration(m) * time.Minute)
		exp = &t
	}
	if metadata == nil && exp == nil {
		return nil, domain.Invalid("metadata", "send metadata and/or expiresInMinutes")
	}
	var out *domain.Checkout
	err := s.store.InTx(ctx, func(tx Store) error {
		var err error
		if exp != nil {
			cur, err := tx.GetCheckout(ctx, orgID, id)
			if err != nil {
				return err
			}
			if !cur.OpenAt(s.now()) {
				return domain.Conflict(domain.CodeCheckoutClosed, "only an open checkout's expiry can change (it is %s)", cur.EffectiveStatus(s.now()))
			}
			if !exp.After(cur.ExpiresAt) {
				return domain.Invalid("expiresInMinutes", "the new expiry must be later than the current one (%s)", cur.ExpiresAt.Format(time.RFC3339))
			}
		}
		out, err = tx.UpdateCheckoutMetadata(ctx, orgID, id, metadata, exp)
		if err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "checkout.update", "checkout", id, map[string]any{"metadata": metadata != nil, "expiresAt": exp})
	})
	return out, err
}

// ExpireCheckout ends an open checkout now (CONFLICT when it is not open).
func (s *Service) ExpireCheckout(ctx context.Context, actor domain.Actor, orgID, id string) (*domain.Checkout, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "checkout", "update"); err != nil {
		return nil, err
	}
	var out *domain.Checkout
	err := s.store.InTx(ctx, func(tx Store) error {
		txns, err := tx.ListCheckoutTransactions(ctx, orgID, id)
		if err != nil {
			return err
		}
		for _, t := range txns {
			if t.Status == domain.TxnPendingProvider {
				return domain.Conflict(domain.CodeInvalidState, "transaction %s is waiting for the provider; end it first", t.ID)
			}
		}
		out, err = tx.EndCheckout(ctx, orgID, id, domain.CheckoutExpired)
		if err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "checkout.expire", "checkout", id, nil)
	})
	return out, err
}
