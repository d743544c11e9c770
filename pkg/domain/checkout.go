package domain

import (
	"slices"
	"strings"
	"time"
)

// CheckoutStatus is where a checkout is in its life.
type CheckoutStatus string

// Checkout statuses: open → completed | expired | cancelled.
const (
	CheckoutOpen      CheckoutStatus = "open"
	CheckoutCompleted CheckoutStatus = "completed"
	CheckoutExpired   CheckoutStatus = "expired"
	CheckoutCancelled CheckoutStatus = "cancelled"
)

// CheckoutOrigin says what created a checkout, so integrations stay adapters of the core.
type CheckoutOrigin string

// Checkout origins.
const (
	OriginAPI       CheckoutOrigin = "api"
	OriginDashboard CheckoutOrigin = "dashboard"
	OriginDuda      CheckoutOrigin = "duda"
)

// Address is a buyer's billing or shipping address as merchants send it.
type Address struct {
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
	Company   string `json:"company,omitempty"`
	Address1  string `json:"address1,omitempty"`
	Address2  string `json:"address2,omitempty"`
	City      string `json:"city,omitempty"`
	Postcode  string `json:"postcode,omitempty"`
	Region    string `json:"region,omitempty"`
	Country   string `json:"country,omitempty"`
	Phone     string `json:"phone,omitempty"`
	VATID     string `json:"vatId,omitempty"`
}

// Validate checks field lengths and the country code, normalising the country. Every invalid
// field is reported, in the address's order: the first as the error, the others in its Also.
func (a *Address) Validate(field string) error {
	var bad invalids
	for _, f := range []struct {
		name string
		v    *string
	}{{"firstName", &a.FirstName}, {"lastName", &a.LastName}, {"company", &a.Company}, {"address1", &a.Address1},
		{"address2", &a.Address2}, {"city", &a.City}, {"postcode", &a.Postcode}, {"region", &a.Region}, {"phone", &a.Phone},
		{"vatId", &a.VATID}} {
		*f.v = strings.TrimSpace(*f.v)
		if len(*f.v) > 255 {
			bad.add(field+"."+f.name, "%s.%s must be at most 255 characters", field, f.name)
		}
	}
	if a.Country != "" {
		a.Country = NormalizeCountry(a.Country)
		if !IsCountryCode(a.Country) {
			bad.add(field+".country", "%s.country must be an ISO 3166 alpha-2 code", field)
		}
	}
	return bad.err()
}

// FullName joins first and last name.
func (a *Address) FullName() string {
	return strings.TrimSpace(a.FirstName + " " + a.LastName)
}

// Checkout is a temporary session for one payment: line items, buyer, URLs, expiry.
type Checkout struct {
	ID                string `gorm:"primaryKey"`
	OrganizationID    string
	SiteID            string
	Mode              Mode
	ShortCode         string
	SessionPublicID   string
	Status            CheckoutStatus
	Amount            int64
	Currency          string
	Email             string
	ExternalReference string
	InvoiceNumber     string
	ClientID          string
	ReturnURL         string         `gorm:"column:return_url"`
	CancelURL         string         `gorm:"column:cancel_url"`
	IPNURL            string         `gorm:"column:ipn_url"`
	BillingAddress    *Address       `gorm:"serializer:json"`
	ShippingAddress   *Address       `gorm:"serializer:json"`
	Language          string         //
	Metadata          map[string]any `gorm:"serializer:json"`
	Origin            CheckoutOrigin
	OriginRef         *string
	ExpiresAt         time.Time
	CompletedAt       *time.Time
	CreatedBy         string
	CreatedAt         time.Time
	UpdatedAt         time.Time

	// IPNAllowPrivate records the SSRF policy the ipnUrl was accepted under: true only when
	// IPN_ALLOW_PRIVATE_TARGETS was on at creation. Deliveries copy it, and the notifier lets
	// one reach an internal address only if this and its own current setting both allow it,
	// so turning the setting on later releases nothing accepted before.
	IPNAllowPrivate bool `gorm:"column:ipn_allow_private" json:"-"`

	// LinkedClientID is the checkout's client (pkg/client): the one the merchant's clientId
	// names when it is one of ours (cli_...), else the buyer's e-mail's. Nil: no buyer known.
	LinkedClientID *string `gorm:"column:linked_client_id"`
	// HoldID and AllowedProviderIDs record a customer risk hold that restricted the checkout
	// when it was created: the site providers it may offer (nil: every provider).
	HoldID             *string  `gorm:"column:hold_id"`
	AllowedProviderIDs []string `gorm:"column:allowed_provider_ids;serializer:json"`

	Items []Item `gorm:"-"`

	// ScreenedClient is the linked client as the screen read it before the checkout was
	// written (nil: a new client). Not stored: it lets the save leave the client alone, with no
	// read, lock or transaction, when the checkout brings nothing new (ClientCurrent).
	ScreenedClient *Client `gorm:"-" json:"-"`
}

// ClientCurrent reports whether the checkout's linked client exists, as screened, and already
// has everything the checkout says of its buyer, so recording the checkout changes nothing on it.
func (c *Checkout) ClientCurrent() bool {
	cl := c.ScreenedClient
	return cl != nil && c.LinkedClientID != nil && cl.ID == *c.LinkedClientID &&
		cl.Covers(ClientFromCheckout(c, cl.ID, time.Time{}))
}

// Offers reports whether the checkout may offer provider id (a hold may have narrowed it).
func (c *Checkout) Offers(id string) bool {
	return c.AllowedProviderIDs == nil || slices.Contains(c.AllowedProviderIDs, id)
}

// TableName tells the store which table holds checkouts.
func (Checkout) TableName() string { return "checkouts" }

// Reference is the merchant's order reference: the external reference, else the invoice number.
func (c *Checkout) Reference() string {
	if c.ExternalReference != "" {
		return c.ExternalReference
	}
	return c.InvoiceNumber
}

// OpenAt reports whether buyers can still pay at time now.
func (c *Checkout) OpenAt(now time.Time) bool {
	return c.Status == CheckoutOpen && now.Before(c.ExpiresAt)
}

// EffectiveStatus is the status a buyer sees: an open checkout past its expiry is expired
// even before the background sweep has written it.
func (c *Checkout) EffectiveStatus(now time.Time) CheckoutStatus {
	if c.Status == CheckoutOpen && !now.Before(c.ExpiresAt) {
		return CheckoutExpired
	}
	return c.Status
}

// ItemType is the kind of a line item, which decides how it is taxed.
type ItemType string

// Item types. Aliases seen in the wild are mapped by ParseItemType.
const (
	ItemGoods          ItemType = "goods"
	ItemDigitalService ItemType = "digital_service"
	ItemShipping       ItemType = "shipping"
	ItemTax            ItemType = "tax"
	ItemDiscount       ItemType = "discount"
)

// ParseItemType maps the documented values and the WooCommerce plugin's aliases
// (physical = goods, virtual = digital_service) to an ItemType. Empty means goods.
func ParseItemType(s string) (ItemType, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "goods", "physical", "product":
		return ItemGoods, true
	case "digital_service", "virtual", "digital", "service":
		return ItemDigitalService, true
	case "shipping":
		return ItemShipping, true
	case "tax":
		return ItemTax, true
	case "discount", "coupon":
		return ItemDiscount, true
	}
	return "", false
}

// Item is one line of a checkout.
type Item struct {
	CheckoutID     string `gorm:"primaryKey"`
	Position       int    `gorm:"primaryKey"`
	OrganizationID string
	Name           string
	Description    string
	Quantity       int64
	UnitPrice      int64
	// VATRate is the merchant's explicit rate in hundredths of a percent (1900 = 19%), if given.
	VATRate  *int64 `gorm:"column:vat_rate"`
	ItemType ItemType
}

// TableName tells the store which table holds checkout items.
func (Item) TableName() string { return "checkout_items" }

// Total is quantity × unit price. Validation bounds both so this cannot overflow.
func (it *Item) Total() int64 { return it.Quantity * it.UnitPrice }
