package domain

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
)

// PrefixClient and PrefixClientHold name clients and their holds.
const (
	PrefixClient     = "cli"
	PrefixClientHold = "hold"
)

// ModedClient is a client (each client belongs to one mode).
const ModedClient ModedKind = "client"

// Stable codes of the clients and their holds.
const (
	// CodeClientNotFound (422): a checkout's clientId names one of our clients (cli_...) that the
	// organisation does not have in the checkout's mode.
	CodeClientNotFound = "CLIENT_NOT_FOUND"
	// CodeClientEmailTaken (409): another client of the organisation and mode has the e-mail.
	CodeClientEmailTaken = "CLIENT_EMAIL_TAKEN"
	// CodeClientHasTransactions (409): a client with payment attempts is part of the books and
	// is never deleted.
	CodeClientHasTransactions = "CLIENT_HAS_TRANSACTIONS"
	// CodeClientHasActiveHold (409): a held client cannot be deleted (the hold would go with it).
	CodeClientHasActiveHold = "CLIENT_HAS_ACTIVE_HOLD"
	// CodeClientHoldExists (409): the client already has an active hold (change it instead).
	CodeClientHoldExists = "CLIENT_HOLD_EXISTS"
	// CodeClientHoldReleased (409): the hold was released and cannot change any more.
	CodeClientHoldReleased = "CLIENT_HOLD_RELEASED"
	// CodeBlockedByCustomerHold (409): the buyer's client is under a block hold.
	CodeBlockedByCustomerHold = "CHECKOUT_BLOCKED_BY_CUSTOMER_HOLD"
	// CodeRestrictedByCustomerHold (409): the buyer's client may pay only with providers the
	// site does not offer.
	CodeRestrictedByCustomerHold = "CHECKOUT_RESTRICTED_BY_CUSTOMER_HOLD"
	// CodeBlockedByDispute (409): the buyer has an unresolved dispute and the organisation
	// blocks new checkouts then.
	CodeBlockedByDispute = "CHECKOUT_BLOCKED_BY_DISPUTE"
)

// VATIDStatus is what is known of a client's VAT id.
type VATIDStatus string

// VAT id statuses: none given, given but not checked, checked valid, checked invalid.
const (
	VATIDNotGiven  VATIDStatus = ""
	VATIDUnchecked VATIDStatus = "unchecked"
	VATIDValid     VATIDStatus = "valid"
	VATIDInvalid   VATIDStatus = "invalid"
)

// Client is a buyer of an organisation in one mode, known by its e-mail address (unique per
// organisation and mode, without regard to case).
type Client struct {
	ID             string `gorm:"primaryKey"`
	OrganizationID string
	Mode           Mode
	Email          string
	// EmailKey is the lower-cased e-mail, the unique key.
	EmailKey       string
	Name           string
	Company        string
	BillingAddress *Address    `gorm:"serializer:json"`
	VATID          string      `gorm:"column:vat_id"`
	VATIDStatus    VATIDStatus `gorm:"column:vat_id_status"`
	VATIDCheckedAt *time.Time  `gorm:"column:vat_id_checked_at"`
	Notes          string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// TableName tells the store which table holds clients.
func (Client) TableName() string { return "clients" }

// ClientInput creates or changes a client (nil fields stay as they are on a change).
type ClientInput struct {
	Email          *string
	Name           *string
	Company        *string
	BillingAddress *Address
	VATID          *string
	Notes          *string
}

// Apply validates in and sets it on c (normalising the e-mail key; a new VAT id is unchecked;
// an empty billing address removes it). Every invalid field is reported: the first as the
// error, the others in its Also (a form shows them all at once).
func (in ClientInput) Apply(c *Client) error {
	var v Invalids
	if in.Email != nil {
		e := strings.TrimSpace(*in.Email)
		if e == "" {
			v.Add("email", "email is required")
		} else if err := ValidateEmail("email", e); err != nil {
			v.Add("email", "email must be a valid e-mail address")
		}
		c.Email, c.EmailKey = e, NormalizeEmail(e)
	}
	for _, f := range []struct {
		name string
		in   *string
		out  *string
		max  int
	}{{"name", in.Name, &c.Name, 255}, {"company", in.Company, &c.Company, 255}, {"notes", in.Notes, &c.Notes, 4000}} {
		if f.in == nil {
			continue
		}
		s := strings.TrimSpace(*f.in)
		if len(s) > f.max {
			v.Add(f.name, "%s must be at most %d characters", f.name, f.max)
		}
		*f.out = s
	}
	if in.BillingAddress != nil {
		a := *in.BillingAddress
		_ = v.Collect(a.Validate("billingAddress")) // only ever a field's error
		c.BillingAddress = &a
		if a == (Address{}) {
			c.BillingAddress = nil
		}
	}
	if in.VATID != nil {
		id := NormalizeVATID(*in.VATID)
		if len(id) > 32 {
			v.Add("vatId", "vatId must be at most 32 characters")
		}
		c.SetVATID(id)
	}
	if c.Email == "" && !v.Failed() {
		v.Add("email", "email is required")
	}
	return v.Err()
}

// NormalizeVATID is a VAT id without spaces, dots and dashes, in upper case (as the tax
// engine writes it).
func NormalizeVATID(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsSpace(r) || r == '.' || r == '-' {
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// SetVATID records a VAT id; a new or changed one is not checked yet.
func (c *Client) SetVATID(id string) {
	switch {
	case id == "":
		c.VATID, c.VATIDStatus, c.VATIDCheckedAt = "", VATIDNotGiven, nil
	case id != c.VATID:
		c.VATID, c.VATIDStatus, c.VATIDCheckedAt = id, VATIDUnchecked, nil
	}
}

// ClientFromCheckout is what a checkout tells about its buyer's client: the e-mail, and from
// the billing address the name, company, address and VAT id (empty values change nothing).
func ClientFromCheckout(c *Checkout, id string, now time.Time) *Client {
	cl := &Client{ID: id, OrganizationID: c.OrganizationID, Mode: c.Mode, Email: c.Email, EmailKey: NormalizeEmail(c.Email),
		CreatedAt: now, UpdatedAt: now}
	if a := c.BillingAddress; a != nil {
		cp := *a
		cl.Name, cl.Company, cl.BillingAddress = a.FullName(), a.Company, &cp
		cl.SetVATID(NormalizeVATID(a.VATID))
	}
	return cl
}

// ClientFilter selects clients for a list: newest first, After the cursor.
type ClientFilter struct {
	OrganizationID string
	Mode           Mode
	// Search matches the e-mail, name or company (a part of it, without regard to case), or
	// an id exactly.
	Search string
	After  string
	Limit  int
}

// HoldAction is what a customer risk hold does to new checkouts.
type HoldAction string

// Hold actions: no new checkout at all, or only with the listed provider types / providers.
const (
	HoldBlock              HoldAction = "block"
	HoldAllowProviderTypes HoldAction = "allow_provider_types"
)

// ClientHold is a customer risk hold on a client. Reason is a short code (it travels in the
// checkout refusal the plugins log); Note is the operator's free text, never shown to buyers.
type ClientHold struct {
	ID                   string `gorm:"primaryKey"`
	OrganizationID       string
	ClientID             string
	Mode                 Mode
	Action               HoldAction
	Reason               string
	Note                 string
	AllowedProviderTypes []string `gorm:"serializer:json"`
	AllowedProviderIDs   []string `gorm:"column:allowed_provider_ids;serializer:json"`
	CreatedBy            string
	ReleasedBy           string
	ReleasedAt           *time.Time
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

// TableName tells the store which table holds holds.
func (ClientHold) TableName() string { return "client_holds" }

// Active reports whether the hold still applies.
func (h *ClientHold) Active() bool { return h.ReleasedAt == nil }

// HoldInput places or changes a hold.
type HoldInput struct {
	Action               HoldAction
	Reason               string
	Note                 string
	AllowedProviderTypes []string
	AllowedProviderIDs   []string
}

var (
	holdReasonRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9_.:-]{0,63}$`)
	providerTypeRE = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
)

// Validate checks a hold's fields (the providers' existence is the use case's to check).
func (in *HoldInput) Validate() error {
	var v invalids
	switch in.Action {
	case HoldBlock:
		in.AllowedProviderTypes, in.AllowedProviderIDs = []string{}, []string{}
	case HoldAllowProviderTypes:
		in.AllowedProviderTypes = dedupe(in.AllowedProviderTypes)
		in.AllowedProviderIDs = dedupe(in.AllowedProviderIDs)
		if len(in.AllowedProviderTypes)+len(in.AllowedProviderIDs) == 0 {
			v.add("allowedProviderTypes", "allow_provider_types needs at least one provider type or provider id")
		}
		if len(in.AllowedProviderTypes) > 20 || len(in.AllowedProviderIDs) > 20 {
			v.add("allowedProviderTypes", "at most 20 provider types and 20 provider ids")
		}
		for _, t := range in.AllowedProviderTypes {
			if !providerTypeRE.MatchString(t) {
				v.add("allowedProviderTypes", "provider type %q is not a provider type name", t)
			}
		}
	default:
		v.add("action", "action must be block or allow_provider_types")
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if !holdReasonRE.MatchString(in.Reason) {
		v.add("reason", "reason must be a short code of lower-case letters, digits and _ . : - (e.g. fraud_review, lost_dispute); put details in note")
	}
	in.Note = strings.TrimSpace(in.Note)
	if len(in.Note) > 2000 {
		v.add("note", "note must be at most 2000 characters")
	}
	return v.err()
}

func dedupe(in []string) []string {
	out := []string{}
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Allows reports whether the hold lets a checkout offer provider p.
func (h *ClientHold) Allows(p *Provider) bool {
	if h.Action != HoldAllowProviderTypes {
		return false
	}
	return slices.Contains(h.AllowedProviderTypes, string(p.Type)) || slices.Contains(h.AllowedProviderIDs, p.ID)
}

// HoldRefusal is what a checkout refused by a hold tells the caller, at the top level of the
// error body (API-CONTRACT.md section 8) and again under customerRiskHold (where the official
// plugins also look). It carries codes and ids only: never personal data.
type HoldRefusal struct {
	HoldID               string            `json:"holdId"`
	Action               HoldAction        `json:"action"`
	Reason               string            `json:"reason"`
	AllowedProviderTypes []string          `json:"allowedProviderTypes"`
	AllowedProviderIDs   []string          `json:"allowedProviderIds"`
	CustomerRiskHold     *CustomerRiskHold `json:"customerRiskHold"`
}

// CustomerRiskHold is the hold as the plugins' customerRiskHold object.
type CustomerRiskHold struct {
	ID                   string     `json:"id"`
	Action               HoldAction `json:"action"`
	Reason               string     `json:"reason"`
	AllowedProviderTypes []string   `json:"allowedProviderTypes"`
	AllowedProviderIDs   []string   `json:"allowedProviderIds"`
}

// Refusal is the 409 refusing a checkout for this hold: BLOCKED for a block, RESTRICTED for a
// restriction the site cannot meet. The message names no one.
func (h *ClientHold) Refusal() *Error {
	types, ids := nonNil(h.AllowedProviderTypes), nonNil(h.AllowedProviderIDs)
	r := &HoldRefusal{HoldID: h.ID, Action: h.Action, Reason: h.Reason, AllowedProviderTypes: types, AllowedProviderIDs: ids,
		CustomerRiskHold: &CustomerRiskHold{ID: h.ID, Action: h.Action, Reason: h.Reason, AllowedProviderTypes: types, AllowedProviderIDs: ids}}
	e := Conflict(CodeBlockedByCustomerHold, "this customer account is under merchant review: no new checkout can be started")
	if h.Action == HoldAllowProviderTypes {
		e = Conflict(CodeRestrictedByCustomerHold,
			"this customer account may only pay with payment methods this site does not offer (see allowedProviderTypes and allowedProviderIds)")
	}
	e.Hold = r
	return e
}

// BlockedByDispute is the 409 refusing a checkout while the buyer has an unresolved dispute.
func BlockedByDispute() *Error {
	return Conflict(CodeBlockedByDispute, "an unresolved payment dispute of this customer account is under review: no new checkout can be started")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ClientValue is a client's lifetime value in one currency: what succeeded minus what was
// refunded (minor units).
type ClientValue struct {
	Currency string
	Paid     int64
	Refunded int64
	Net      int64
	Payments int64
}

// CheckoutScreen is what the client capability says about a checkout before it is written: the
// client it belongs to (ClientID; Named when the merchant's clientId named it, Known when it
// exists already; Client, the row as read then) and the active holds that narrow its providers.
type CheckoutScreen struct {
	ClientID string
	Named    bool
	Known    bool
	Client   *Client
	Holds    []ClientHold
}

// ScreenedClient is one client a checkout's screen reads (the one its clientId names, or the
// buyer's e-mail's), with the id of its active hold, if any.
type ScreenedClient struct {
	Client
	ActiveHoldID *string
}

// ScreenRead is what the store reads in one go for a checkout's screen: the organisation's
// clients the checkout's clientId or buyer e-mail name, and whether the organisation blocks
// checkouts on an unresolved dispute.
type ScreenRead struct {
	Clients                 []ScreenedClient
	BlockCheckoutsOnDispute bool
}

// Covers reports whether what a checkout says of its buyer (from, as ClientFromCheckout builds
// it) would change nothing on c: every field it brings is empty or already c's. A checkout that
// changes nothing leaves the client row alone, so that one buyer's concurrent checkouts do not
// queue behind each other's lock on it.
func (c *Client) Covers(from *Client) bool {
	return (from.Name == "" || from.Name == c.Name) && (from.Company == "" || from.Company == c.Company) &&
		(from.VATID == "" || from.VATID == c.VATID) &&
		(from.BillingAddress == nil || c.BillingAddress != nil && *from.BillingAddress == *c.BillingAddress)
}
