package duda

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/domain"
	dudaapi "paygate.dev/pkg/duda"
	"paygate.dev/pkg/integration/dudaconn"
	"paygate.dev/pkg/money"
)

// ArrivalReason says why a shopper's arrival does not go on to a checkout.
type ArrivalReason int

// Arrival refusals.
const (
	// ArrivalUnknownLink: the connection, or the session for this site, is not known here.
	ArrivalUnknownLink ArrivalReason = iota
	// ArrivalDisabled: the connection is disabled.
	ArrivalDisabled
	// ArrivalSiteNotConnected: the app is not installed on the Duda site.
	ArrivalSiteNotConnected
	// ArrivalSessionUnknown: Duda does not know the payment session.
	ArrivalSessionUnknown
	// ArrivalDudaUnreachable: Duda could not be asked for the session (trying again may help).
	ArrivalDudaUnreachable
	// ArrivalOtherSession: Duda answered with another session or site.
	ArrivalOtherSession
	// ArrivalNotPayable: the session cannot become a checkout (CancelURL leads back to the store).
	ArrivalNotPayable
)

// ArrivalRefusal is an arrival that does not go on to a checkout, and why.
type ArrivalRefusal struct {
	Reason    ArrivalReason
	CancelURL string // the session's cancel_url, an absolute http(s) URL, or ""
}

func (r *ArrivalRefusal) Error() string {
	return fmt.Sprintf("the Duda arrival was refused (reason %d)", r.Reason)
}

func refuse(reason ArrivalReason) error { return &ArrivalRefusal{Reason: reason} }

// Arrive takes the shopper who chose one of our buttons at Duda's checkout: it fetches the
// payment session, makes the checkout for it (at most one per session: a replayed arrival goes
// to the same checkout) and answers the checkout's short code, for the hosted page. An
// *ArrivalRefusal says why the shopper cannot go on.
func (uc *Service) Arrive(ctx context.Context, connectionID, sessionID, siteName string) (string, error) {
	app, err := uc.connection(ctx, connectionID)
	if domain.IsNotFound(err) {
		return "", refuse(ArrivalUnknownLink)
	}
	if err != nil {
		return "", err
	}
	if !app.Connection.Enabled {
		return "", refuse(ArrivalDisabled)
	}
	if sess, err := uc.store.GetDudaSessionBySessionID(ctx, app.Connection.ID, sessionID); err == nil {
		return uc.existingCheckout(ctx, sess, siteName)
	} else if !domain.IsNotFound(err) {
		return "", err
	}
	site, err := uc.store.GetDudaSite(ctx, app.Connection.ID, siteName)
	if err != nil || !site.Installed() {
		if err != nil && !domain.IsNotFound(err) {
			return "", err
		}
		return "", refuse(ArrivalSiteNotConnected)
	}
	ps, err := uc.paymentSession(ctx, app, site, sessionID)
	if err != nil {
		return "", err
	}
	co, err := uc.createCheckout(ctx, app, site, sessionID, ps)
	if err != nil {
		var de *domain.Error
		if errors.As(err, &de) && de.Kind != domain.KindInternal && de.Kind != domain.KindUnavailable {
			uc.log.WarnContext(ctx, "a Duda payment session cannot become a checkout", "connection_id", app.Connection.ID, "session_id", sessionID, "error", err)
			return "", &ArrivalRefusal{Reason: ArrivalNotPayable, CancelURL: httpURL(ps.CancelURL)}
		}
		return "", err
	}
	return co.ShortCode, nil
}

// paymentSession fetches a payment session from the Duda site.
func (uc *Service) paymentSession(ctx context.Context, app *dudaconn.DudaApp, site *domain.DudaSite, sessionID string) (dudaapi.PaymentSession, error) {
	cl, err := uc.siteClient(app, site)
	if err != nil {
		return dudaapi.PaymentSession{}, err
	}
	siteName := site.SiteName
	ps, err := cl.GetPaymentSession(ctx, siteName, sessionID)
	switch {
	case dudaapi.IsNotFound(err):
		return ps, refuse(ArrivalSessionUnknown)
	case err != nil:
		uc.log.ErrorContext(ctx, "fetching the Duda payment session failed", "connection_id", app.Connection.ID, "site_name", siteName, "session_id", sessionID, "error", err)
		return ps, refuse(ArrivalDudaUnreachable)
	case (ps.ID != "" && ps.ID != sessionID) || (ps.SiteName != "" && ps.SiteName != siteName):
		uc.log.WarnContext(ctx, "Duda answered another payment session", "session_id", sessionID, "answered_id", ps.ID, "site_name", siteName, "answered_site", ps.SiteName)
		return ps, refuse(ArrivalOtherSession)
	}
	return ps, nil
}

// existingCheckout is the checkout already made for the shopper's session.
func (uc *Service) existingCheckout(ctx context.Context, sess *domain.DudaSession, siteName string) (string, error) {
	if sess.SiteName != siteName {
		return "", refuse(ArrivalUnknownLink)
	}
	co, err := uc.store.GetCheckout(ctx, sess.OrganizationID, sess.CheckoutID)
	if err != nil {
		return "", err
	}
	return co.ShortCode, nil
}

// createCheckout makes the checkout of a session together with its duda_sessions row. When the
// session already has one (a concurrent arrival won), that checkout is returned. Optional
// details the platform refuses (a cancel URL not allowed in this mode, an odd e-mail address,
// language or address) are left out rather than leaving the shopper unable to pay.
func (uc *Service) createCheckout(ctx context.Context, app *dudaconn.DudaApp, site *domain.DudaSite, sessionID string, ps dudaapi.PaymentSession) (*domain.Checkout, error) {
	conn := app.Connection
	in, err := uc.checkoutInput(ctx, app, sessionID, ps)
	if err != nil {
		return nil, err
	}
	actor := domain.Actor{Type: domain.ActorSystem, ID: "duda", Label: "duda", OrganizationID: conn.OrganizationID}
	for attempt := 0; ; attempt++ {
		co, err := uc.conns.CreateDudaCheckout(ctx, actor, conn.OrganizationID, conn.SiteID, in, &domain.DudaSession{OrganizationID: conn.OrganizationID,
			ConnectionID: conn.ID, DudaSiteID: site.ID, SiteName: site.SiteName, SessionID: sessionID, PurchaseID: ps.Invoice.PurchaseID})
		if err == nil {
			return co, nil
		}
		if errors.Is(err, dudaconn.ErrDudaSessionTaken) {
			if sess, serr := uc.store.GetDudaSessionBySessionID(ctx, conn.ID, sessionID); serr == nil {
				return uc.store.GetCheckout(ctx, sess.OrganizationID, sess.CheckoutID)
			}
			return uc.store.GetCheckoutByOrigin(ctx, conn.OrganizationID, domain.OriginDuda, sessionID)
		}
		var de *domain.Error
		if attempt < 8 && errors.As(err, &de) && de.Kind == domain.KindInvalid && dropOptional(&in, de.Field) {
			uc.log.WarnContext(ctx, "a Duda session detail was refused and left out", "session_id", sessionID, "field", de.Field, "error", de.Message)
			continue
		}
		return nil, err
	}
}

// dropOptional leaves out an optional detail the platform refused; false when field is not one.
func dropOptional(in *checkout.CheckoutInput, field string) bool {
	switch {
	case field == "cancelUrl" && in.CancelURL != "":
		in.CancelURL = ""
	case field == "ipnUrl" && in.IPNURL != "":
		in.IPNURL = ""
	case field == "email" && in.Email != "":
		in.Email = ""
	case field == "language" && in.Language != "":
		in.Language = ""
	case strings.HasPrefix(field, "billingAddress") && in.BillingAddress != nil:
		in.BillingAddress = nil
	case strings.HasPrefix(field, "shippingAddress") && in.ShippingAddress != nil:
		in.ShippingAddress = nil
	case field == "externalReference" && in.ExternalReference != fallbackReference(in.OriginRef):
		in.ExternalReference = fallbackReference(in.OriginRef)
	default:
		return false
	}
	return true
}

// fallbackReference is the order reference when Duda's purchase id cannot be one.
func fallbackReference(sessionID *string) string {
	ref := "duda-"
	if sessionID != nil {
		ref += *sessionID
	}
	return clip(ref, checkout.MaxReferenceLength)
}

// checkoutInput maps a Duda payment session to a checkout: the lines by type (PHYSICAL → goods,
// DIGITAL → digital service, TAX, SHIPPING, DISCOUNT; a line's discount_amount as a discount line
// of its own), addresses, e-mail, language, mode (TEST → test), cancel URL, the purchase id as
// external reference and the Duda identifiers as metadata.
//
// The shopper pays exactly invoice.total: when Duda's lines do not add up to it (or the tax
// engine cannot take them as they are), one line for the total is used instead. Duda computes
// the store's taxes itself, so the platform computes none: a cart without TAX lines gets a zero
// tax line, which makes the amounts final and shows no VAT, whether the organisation's prices
// include tax or not; Duda's TAX lines are shown at the rate they amount to.
func (uc *Service) checkoutInput(ctx context.Context, app *dudaconn.DudaApp, sessionID string, ps dudaapi.PaymentSession) (checkout.CheckoutInput, error) {
	conn := app.Connection
	inv := ps.Invoice
	cur, ok := money.Lookup(strings.ToUpper(strings.TrimSpace(inv.Currency)))
	if !ok {
		return checkout.CheckoutInput{}, domain.Invalid("currency", "the currency %q is not supported", inv.Currency)
	}
	total, err := inv.Total.Minor(cur.Code)
	if err != nil || total <= 0 {
		return checkout.CheckoutInput{}, domain.Invalid("amount", "the order total is not a positive amount in %s", cur.Code)
	}
	mode := domain.ModeLive
	if ps.Mode.IsTest() {
		mode = domain.ModeTest
	}
	ref := &sessionID
	in := checkout.CheckoutInput{
		Amount: total, Currency: cur.Code, Email: strings.TrimSpace(inv.Email), ExternalReference: clip(strings.TrimSpace(inv.PurchaseID), 200),
		CancelURL: strings.TrimSpace(ps.CancelURL), IPNURL: app.IPNURL, Language: language(inv.Language), Mode: mode,
		BillingAddress: address(inv.BillingAddress), ShippingAddress: address(inv.ShippingAddress),
		Origin: domain.OriginDuda, OriginRef: ref, IntegrationURLs: true,
		Metadata: map[string]any{"duda": map[string]any{"siteName": ps.SiteName, "sessionId": sessionID, "purchaseId": inv.PurchaseID}},
	}
	if in.ExternalReference == "" || len(in.ExternalReference) > checkout.MaxReferenceLength {
		in.ExternalReference = fallbackReference(ref)
	}
	org, err := uc.store.GetOrganization(ctx, conn.OrganizationID)
	if err != nil {
		return checkout.CheckoutInput{}, err
	}
	site, err := uc.store.GetSite(ctx, conn.OrganizationID, conn.SiteID)
	if err != nil {
		return checkout.CheckoutInput{}, err
	}
	items, why := lines(inv.Items, cur.Code, total)
	if why == "" {
		items = withTaxLine(items)
		why = uc.checkTotal(ctx, org, site, in, items)
	}
	if why != "" {
		uc.log.WarnContext(ctx, "Duda's lines do not make its total; the checkout has one line for the total",
			"session_id", sessionID, "total", total, "currency", cur.Code, "reason", why)
		name := "Order"
		if inv.PurchaseID != "" {
			name = clip("Order "+inv.PurchaseID, 255)
		}
		items = withTaxLine([]checkout.ItemInput{{Name: name, Quantity: 1, UnitPrice: total, ItemType: string(domain.ItemGoods)}})
		if why := uc.checkTotal(ctx, org, site, in, items); why != "" {
			return checkout.CheckoutInput{}, domain.Invalid("amount", "the order total cannot be charged exactly (%s)", why)
		}
	}
	in.Items = items
	return in, nil
}

// checkTotal computes the tax as the hosted page will (before the buyer enters a country) and
// says why the amount to pay would not be the checkout's amount, or "" when it is.
func (uc *Service) checkTotal(ctx context.Context, org *domain.Organization, site *domain.Site, in checkout.CheckoutInput, items []checkout.ItemInput) string {
	c := &domain.Checkout{Amount: in.Amount, Currency: in.Currency, BillingAddress: in.BillingAddress, ShippingAddress: in.ShippingAddress}
	var sum int64
	for _, it := range items {
		typ, _ := domain.ParseItemType(it.ItemType)
		c.Items = append(c.Items, domain.Item{Name: it.Name, Quantity: it.Quantity, UnitPrice: it.UnitPrice, ItemType: typ})
		sum += it.Quantity * it.UnitPrice // bounded by lines
	}
	if sum != in.Amount {
		return fmt.Sprintf("the lines add up to %d, the total is %d", sum, in.Amount)
	}
	res, err := uc.payments.TaxFor(ctx, org, site, c, domain.BillingDetails{})
	if err != nil {
		return err.Error()
	}
	if res.TotalGross != in.Amount {
		return fmt.Sprintf("tax would make it %d", res.TotalGross)
	}
	return ""
}

// withTaxLine adds a zero tax line to a cart without one (see checkoutInput): Duda computed the
// store's taxes, and a cart without a TAX line carries none. Without it the platform would add
// VAT to prices that exclude it, or, with prices including it, show VAT the store never charged
// (and take it off for business and export buyers), whatever the organisation's setting.
func withTaxLine(items []checkout.ItemInput) []checkout.ItemInput {
	for _, it := range items {
		if it.ItemType == string(domain.ItemTax) {
			return items
		}
	}
	return append(items, checkout.ItemInput{Name: "Tax", Quantity: 1, UnitPrice: 0, ItemType: string(domain.ItemTax)})
}

// lines maps Duda's invoice lines exactly, or says why they cannot be used as they are.
func lines(items []dudaapi.SessionItem, currency string, total int64) ([]checkout.ItemInput, string) {
	out := make([]checkout.ItemInput, 0, len(items)+2)
	var sum int64
	add := func(it checkout.ItemInput) bool {
		v, err := money.Mul(it.Quantity, it.UnitPrice)
		if err == nil {
			sum, err = money.Add(sum, v)
		}
		out = append(out, it)
		return err == nil
	}
	for i, it := range items {
		amt, err := it.Amounts(currency)
		if errors.Is(err, dudaapi.ErrMissingAmount) && !it.UnitPrice.IsSet() && it.Total.IsSet() {
			// Only a total (a DISCOUNT line may come so): it is the line.
			var t int64
			if t, err = it.Total.Minor(currency); err == nil {
				amt = dudaapi.ItemAmounts{UnitPrice: t, Quantity: 1, Total: t}
			}
		}
		if err != nil {
			return nil, fmt.Sprintf("line %d: %v", i, err)
		}
		kind := it.Kind()
		if kind == "" {
			kind = dudaapi.KindGoods // a type Duda may add later: still something sold
		}
		name := itemName(it.Name, kind)
		if kind == dudaapi.KindDiscount {
			// Duda does not document the sign of DISCOUNT lines: either way it is subtracted.
			v := abs(amt.Total)
			if v == 0 {
				continue
			}
			if !add(checkout.ItemInput{Name: name, Quantity: 1, UnitPrice: -v, ItemType: string(domain.ItemDiscount)}) {
				return nil, "amounts out of range"
			}
			continue
		}
		if amt.Quantity <= 0 && amt.Total == 0 {
			continue
		}
		disc := abs(amt.Discount)
		gross, gerr := money.Mul(amt.UnitPrice, amt.Quantity)
		var ok bool
		switch {
		case gerr == nil && amt.Quantity >= 1 && amt.Quantity <= checkout.MaxQuantity && amt.UnitPrice >= 0 &&
			(amt.Total == gross-disc || (disc > 0 && amt.Total == gross)):
			ok = add(checkout.ItemInput{Name: name, Quantity: amt.Quantity, UnitPrice: amt.UnitPrice, ItemType: kind})
			if disc > 0 && ok {
				ok = add(checkout.ItemInput{Name: clip("Discount: "+name, 255), Quantity: 1, UnitPrice: -disc, ItemType: string(domain.ItemDiscount)})
			}
		case amt.Total >= 0:
			// The line does not add up from its parts: its total is what Duda charges for it.
			if amt.Quantity > 1 {
				name = clip(fmt.Sprintf("%s × %d", name, amt.Quantity), 255)
			}
			ok = add(checkout.ItemInput{Name: name, Quantity: 1, UnitPrice: amt.Total, ItemType: kind})
		default:
			return nil, fmt.Sprintf("line %d has a negative total", i)
		}
		if !ok {
			return nil, "amounts out of range"
		}
	}
	switch {
	case len(out) == 0:
		return nil, "no lines"
	case len(out) > checkout.MaxItems:
		return nil, fmt.Sprintf("%d lines is more than a checkout holds", len(out))
	case sum != total:
		return nil, fmt.Sprintf("the lines add up to %d, invoice.total is %d", sum, total)
	}
	return out, ""
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func itemName(name, kind string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		name = map[string]string{dudaapi.KindGoods: "Item", dudaapi.KindDigitalService: "Digital item", dudaapi.KindTax: "Tax",
			dudaapi.KindShipping: "Shipping", dudaapi.KindDiscount: "Discount"}[kind]
	}
	return clip(name, 255)
}

// clip cuts s to at most n bytes without splitting a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

var languageRE = regexp.MustCompile(`^[a-zA-Z]{2}([-_][a-zA-Z]{2})?$`)

// language keeps a language code the checkout understands ("de", "de-DE", "de_DE").
func language(s string) string {
	s = strings.TrimSpace(s)
	if !languageRE.MatchString(s) {
		return ""
	}
	return s
}

// address maps a Duda address; nil when there is nothing in it.
func address(d *dudaapi.Address) *domain.Address {
	if d == nil {
		return nil
	}
	addr := &domain.Address{FirstName: d.FirstName, LastName: d.LastName, Address1: d.Address1, Address2: d.Address2, City: d.City,
		Postcode: d.PostalCode, Region: d.Region, Phone: d.Phone}
	if strings.TrimSpace(addr.FirstName+addr.LastName) == "" && strings.TrimSpace(d.FullName) != "" {
		full := strings.TrimSpace(d.FullName)
		if i := strings.LastIndex(full, " "); i > 0 {
			addr.FirstName, addr.LastName = full[:i], full[i+1:]
		} else {
			addr.LastName = full
		}
	}
	if strings.TrimSpace(addr.Address1) == "" {
		addr.Address1 = strings.TrimSpace(d.StreetName + " " + d.StreetNumber)
	}
	if c := domain.NormalizeCountry(d.Country); domain.IsCountryCode(c) {
		addr.Country = c
	}
	empty := true
	for _, f := range []*string{&addr.FirstName, &addr.LastName, &addr.Address1, &addr.Address2, &addr.City, &addr.Postcode, &addr.Region, &addr.Phone} {
		*f = clip(strings.TrimSpace(*f), 255)
		empty = empty && *f == ""
	}
	if empty && addr.Country == "" {
		return nil
	}
	return addr
}

// httpURL keeps an absolute http(s) URL for a link, else "".
func httpURL(s string) string {
	s = strings.TrimSpace(s)
	if l := strings.ToLower(s); strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") {
		return s
	}
	return ""
}
