package adminapi

import (
	"time"

	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/tax"
)

// listView is every list answer: a page of data and whether there is more after it (and, for
// the lists that page both ways, before it).
type listView[T any] struct {
	Data       []T    `json:"data"`
	HasMore    bool   `json:"hasMore"`
	NextCursor string `json:"nextCursor,omitempty"`
	// PreviousCursor is the first item's id when newer objects come before the page: the
	// endingBefore of the previous page.
	PreviousCursor string `json:"previousCursor,omitempty"`
}

// listOf renders every item with view; an empty list is rendered as [] rather than null.
func listOf[T, V any](items []T, view func(*T) V) listView[V] {
	out := listView[V]{Data: make([]V, 0, len(items))}
	for i := range items {
		out.Data = append(out.Data, view(&items[i]))
	}
	return out
}

// pageOf renders one page of a cursor-paginated list: view gives each item's rendering and id,
// and when more follow, the last item's id is the cursor of the next page.
func pageOf[T, V any](items []T, more bool, view func(*T) (V, string)) listView[V] {
	out := listView[V]{Data: make([]V, 0, len(items)), HasMore: more}
	var last string
	for i := range items {
		v, id := view(&items[i])
		out.Data = append(out.Data, v)
		last = id
	}
	if more {
		out.NextCursor = last
	}
	return out
}

// keysetPageOf renders one page of a list that pages both ways. more is the store's answer to
// whether the list goes on in the direction read: older objects for a first page or after
// (startingAfter), newer ones before (endingBefore). A page read after an object has that
// object (and what comes before it) before it; a page read before one has that object after it.
func keysetPageOf[T, V any](items []T, more bool, after, before string, view func(*T) (V, string)) listView[V] {
	older, newer := more, after != ""
	if before != "" {
		older, newer = len(items) > 0, more
	}
	out := pageOf(items, older, view)
	if newer && len(items) > 0 {
		_, out.PreviousCursor = view(&items[0])
	}
	return out
}

type itemView struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Quantity    int64     `json:"quantity"`
	UnitPrice   int64     `json:"unitPrice"`
	Total       int64     `json:"total"`
	VATRate     *tax.Rate `json:"vatRate,omitempty"`
	ItemType    string    `json:"itemType"`
}

type checkoutView struct {
	ID                string    `json:"id"`
	SessionPublicID   string    `json:"sessionPublicId"`
	ShortCode         string    `json:"shortCode"`
	PaymentURL        string    `json:"paymentUrl"`
	ExpiresAt         time.Time `json:"expiresAt"`
	Status            string    `json:"status"`
	Mode              string    `json:"mode"`
	SiteID            string    `json:"siteId"`
	Amount            int64     `json:"amount"`
	Currency          string    `json:"currency"`
	Email             string    `json:"email,omitempty"`
	ExternalReference string    `json:"externalReference,omitempty"`
	InvoiceNumber     string    `json:"invoiceNumber,omitempty"`
	ClientID          string    `json:"clientId,omitempty"`
	// LinkedClientID is the checkout's client (pkg/client); AllowedProviderIDs the providers a
	// customer risk hold left it (absent: all of the site's).
	LinkedClientID     *string            `json:"linkedClientId,omitempty"`
	AllowedProviderIDs []string           `json:"allowedProviderIds,omitempty"`
	ReturnURL          string             `json:"returnUrl,omitempty"`
	CancelURL          string             `json:"cancelUrl,omitempty"`
	IPNURL             string             `json:"ipnUrl,omitempty"`
	BillingAddress     *domain.Address    `json:"billingAddress,omitempty"`
	ShippingAddress    *domain.Address    `json:"shippingAddress,omitempty"`
	Language           string             `json:"language,omitempty"`
	Metadata           map[string]any     `json:"metadata"`
	Origin             string             `json:"origin"`
	Items              []itemView         `json:"items"`
	Transactions       []*transactionView `json:"transactions,omitempty"`
	CompletedAt        *time.Time         `json:"completedAt,omitempty"`
	CreatedAt          time.Time          `json:"createdAt"`
	UpdatedAt          time.Time          `json:"updatedAt"`
}

func newCheckoutView(c *domain.Checkout, hosts config.Hosts, now time.Time) *checkoutView {
	v := &checkoutView{
		ID: c.ID, SessionPublicID: c.SessionPublicID, ShortCode: c.ShortCode, PaymentURL: hosts.PaymentURL(c.ShortCode),
		ExpiresAt: c.ExpiresAt, Status: string(c.EffectiveStatus(now)), Mode: string(c.Mode), SiteID: c.SiteID,
		Amount: c.Amount, Currency: c.Currency, Email: c.Email, ExternalReference: c.ExternalReference, InvoiceNumber: c.InvoiceNumber,
		ClientID: c.ClientID, LinkedClientID: c.LinkedClientID, AllowedProviderIDs: c.AllowedProviderIDs, ReturnURL: c.ReturnURL, CancelURL: c.CancelURL, IPNURL: c.IPNURL, BillingAddress: c.BillingAddress,
		ShippingAddress: c.ShippingAddress, Language: c.Language, Metadata: c.Metadata, Origin: string(c.Origin),
		Items: []itemView{}, CompletedAt: c.CompletedAt, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	if v.Metadata == nil {
		v.Metadata = map[string]any{}
	}
	for _, it := range c.Items {
		iv := itemView{Name: it.Name, Description: it.Description, Quantity: it.Quantity, UnitPrice: it.UnitPrice, Total: it.Total(), ItemType: string(it.ItemType)}
		if it.VATRate != nil {
			r := tax.Rate(*it.VATRate)
			iv.VATRate = &r
		}
		v.Items = append(v.Items, iv)
	}
	return v
}

type transactionView struct {
	ID                string                 `json:"id"`
	CheckoutID        string                 `json:"checkoutId"`
	SiteID            string                 `json:"siteId"`
	ProviderID        string                 `json:"providerId"`
	ProviderType      string                 `json:"providerType"`
	Mode              string                 `json:"mode"`
	Status            string                 `json:"status"`
	IPNStatus         *int                   `json:"ipnStatus,omitempty"`
	Currency          string                 `json:"currency"`
	NetAmount         int64                  `json:"netAmount"`
	TaxAmount         int64                  `json:"taxAmount"`
	GrossAmount       int64                  `json:"grossAmount"`
	RefundedAmount    int64                  `json:"refundedAmount"`
	ProviderReference string                 `json:"providerReference,omitempty"`
	ProviderPaymentID string                 `json:"providerPaymentId,omitempty"`
	PaymentReference  string                 `json:"paymentReference,omitempty"`
	BillingDetails    *domain.BillingDetails `json:"billingDetails,omitempty"`
	TaxEvidence       map[string]any         `json:"taxEvidence,omitempty"`
	ProviderData      map[string]any         `json:"providerData,omitempty"`
	FailureCode       string                 `json:"failureCode,omitempty"`
	FailureMessage    string                 `json:"failureMessage,omitempty"`
	DisputeStatus     string                 `json:"disputeStatus,omitempty"`
	// Duplicate marks a paid duplicate: refundable, never notified, without an ipnStatus.
	Duplicate   bool         `json:"duplicate"`
	SucceededAt *time.Time   `json:"succeededAt,omitempty"`
	CreatedAt   time.Time    `json:"createdAt"`
	UpdatedAt   time.Time    `json:"updatedAt"`
	Refunds     []refundView `json:"refunds,omitempty"`
	Timeline    []eventView  `json:"timeline,omitempty"`
}

func newTransactionView(t *domain.Transaction, detail bool) *transactionView {
	v := &transactionView{
		ID: t.ID, CheckoutID: t.CheckoutID, SiteID: t.SiteID, ProviderID: t.ProviderID, ProviderType: string(t.ProviderType),
		Mode: string(t.Mode), Status: string(t.Status), Currency: t.Currency, NetAmount: t.NetAmount, TaxAmount: t.TaxAmount,
		GrossAmount: t.GrossAmount, RefundedAmount: t.RefundedAmount, FailureCode: t.FailureCode, FailureMessage: t.FailureMessage,
		DisputeStatus: t.DisputeStatus, Duplicate: t.Duplicate, SucceededAt: t.SucceededAt, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
	}
	if code, ok := domain.IPNStatus(t.Status); ok && !t.Duplicate {
		v.IPNStatus = &code
	}
	if t.ProviderReference != nil {
		v.ProviderReference = *t.ProviderReference
	}
	if t.ProviderPaymentID != nil {
		v.ProviderPaymentID = *t.ProviderPaymentID
	}
	if t.PaymentReference != nil {
		v.PaymentReference = *t.PaymentReference
	}
	if detail {
		bd := t.BillingDetails
		v.BillingDetails, v.TaxEvidence, v.ProviderData = &bd, t.TaxEvidence, t.ProviderData
	}
	return v
}

type refundView struct {
	ID                string    `json:"id"`
	TransactionID     string    `json:"transactionId"`
	Amount            int64     `json:"amount"`
	Currency          string    `json:"currency"`
	Reason            string    `json:"reason,omitempty"`
	Status            string    `json:"status"`
	Manual            bool      `json:"manual"`
	Source            string    `json:"source"`
	ProviderReference string    `json:"providerReference,omitempty"`
	FailureMessage    string    `json:"failureMessage,omitempty"`
	CreatedAt         time.Time `json:"createdAt"`
	UpdatedAt         time.Time `json:"updatedAt"`
}

func newRefundView(r *domain.Refund) refundView {
	v := refundView{ID: r.ID, TransactionID: r.TransactionID, Amount: r.Amount, Currency: r.Currency, Reason: r.Reason, Status: string(r.Status),
		Manual: r.Manual, Source: r.Source, FailureMessage: r.FailureMessage, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.ProviderReference != nil {
		v.ProviderReference = *r.ProviderReference
	}
	return v
}

type eventView struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	Version    int            `json:"version,omitempty"`
	Status     string         `json:"status,omitempty"`
	Data       map[string]any `json:"data,omitempty"`
	OccurredAt time.Time      `json:"occurredAt"`
}

func newEventView(e *domain.Event) eventView {
	return eventView{ID: e.ID, Type: e.Type, Version: e.Version, Status: e.Status, Data: e.Data, OccurredAt: e.OccurredAt}
}

type siteView struct {
	ID                string    `json:"id"`
	Name              string    `json:"name"`
	LogoURL           string    `json:"logoUrl,omitempty"`
	PrimaryColor      string    `json:"primaryColor,omitempty"`
	AllowedHosts      []string  `json:"allowedHosts"`
	DefaultProviderID string    `json:"defaultProviderId,omitempty"`
	ProviderIDs       []string  `json:"providerIds"`
	TaxDisplay        string    `json:"taxDisplay"`
	VATIDValidation   string    `json:"vatIdValidation"`
	DefaultLanguage   string    `json:"defaultLanguage"`
	IPNVersion        int       `json:"ipnVersion"`
	FrameAncestors    string    `json:"frameAncestors,omitempty"`
	EventsURL         *string   `json:"eventsUrl"` // null: the site's invoice events are not delivered
	ReceiptsEnabled   bool      `json:"receiptsEnabled"`
	WebhookSecret     string    `json:"webhookSecret,omitempty"` // only right after creation or regeneration
	CreatedAt         time.Time `json:"createdAt"`
	UpdatedAt         time.Time `json:"updatedAt"`
}

func newSiteView(s *domain.Site, providers []domain.Provider) *siteView {
	v := &siteView{ID: s.ID, Name: s.Name, LogoURL: s.LogoURL, PrimaryColor: s.PrimaryColor, AllowedHosts: s.AllowedHosts,
		ProviderIDs: []string{}, TaxDisplay: string(s.TaxDisplay), VATIDValidation: string(s.VATIDValidation), DefaultLanguage: s.DefaultLanguage,
		IPNVersion: s.IPNVersion, FrameAncestors: s.FrameAncestors, EventsURL: s.EventsURL, ReceiptsEnabled: !s.ReceiptsDisabled, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
	if v.AllowedHosts == nil {
		v.AllowedHosts = []string{}
	}
	if s.DefaultProviderID != nil {
		v.DefaultProviderID = *s.DefaultProviderID
	}
	for _, p := range providers {
		v.ProviderIDs = append(v.ProviderIDs, p.ID)
	}
	return v
}

type providerView struct {
	ID          string            `json:"id"`
	Type        string            `json:"type"`
	Mode        string            `json:"mode"`
	Name        string            `json:"name"`
	Enabled     bool              `json:"enabled"`
	Settings    map[string]string `json:"settings"`
	Credentials map[string]string `json:"credentials"` // masked
	// Availability is when the provider is offered (empty lists and no amounts: always).
	Availability availabilityJSON `json:"availability"`
	CreatedAt    time.Time        `json:"createdAt"`
	UpdatedAt    time.Time        `json:"updatedAt"`
}

// availabilityJSON is a provider's availability rules on the wire (domain.Availability):
// buyer countries (ISO 3166 alpha-2), checkout currencies (ISO 4217), the checkout amount's
// bounds in minor units of amountCurrency (they bind checkouts in that currency), and the
// modes (test, live) it is offered in. An empty list allows everything.
type availabilityJSON struct {
	Countries      []string `json:"countries"`
	Currencies     []string `json:"currencies"`
	AmountCurrency string   `json:"amountCurrency,omitempty"`
	MinAmount      *int64   `json:"minAmount,omitempty"`
	MaxAmount      *int64   `json:"maxAmount,omitempty"`
	Modes          []string `json:"modes"`
}

func newAvailabilityJSON(a domain.Availability) availabilityJSON {
	v := availabilityJSON{Countries: append([]string{}, a.Countries...), Currencies: append([]string{}, a.Currencies...),
		AmountCurrency: a.AmountCurrency, MinAmount: a.MinAmount, MaxAmount: a.MaxAmount, Modes: []string{}}
	for _, m := range a.Modes {
		v.Modes = append(v.Modes, string(m))
	}
	return v
}

func newProviderView(p *domain.Provider) *providerView {
	v := &providerView{ID: p.ID, Type: string(p.Type), Mode: string(p.Mode), Name: p.Name, Enabled: p.Enabled, Settings: p.Settings,
		Credentials: p.CredentialsHint, Availability: newAvailabilityJSON(p.Availability), CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	if v.Settings == nil {
		v.Settings = map[string]string{}
	}
	if v.Credentials == nil {
		v.Credentials = map[string]string{}
	}
	return v
}

type apiKeyView struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Mode        string     `json:"mode"`
	Scopes      []string   `json:"scopes"`
	MaskedKey   string     `json:"maskedKey"`
	Key         string     `json:"key,omitempty"` // only right after creation or rotation
	Status      string     `json:"status"`
	CreatedBy   string     `json:"createdBy,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	LastUsedAt  *time.Time `json:"lastUsedAt,omitempty"`
	ExpiresAt   *time.Time `json:"expiresAt,omitempty"`
	RevokedAt   *time.Time `json:"revokedAt,omitempty"`
	RotatedFrom string     `json:"rotatedFrom,omitempty"`
}

func newAPIKeyView(k *domain.APIKey, now time.Time) *apiKeyView {
	v := &apiKeyView{ID: k.ID, Name: k.Name, Mode: string(k.Mode), Scopes: k.Scopes, MaskedKey: "sk_" + string(k.Mode) + "_" + k.ID + ".••••" + k.SecretHint,
		Status: "active", CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt}
	switch {
	case k.RevokedAt != nil:
		v.Status = "revoked"
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		v.Status = "expired"
	}
	if k.RotatedFrom != nil {
		v.RotatedFrom = *k.RotatedFrom
	}
	return v
}

type organizationView struct {
	ID                      string    `json:"id"`
	Name                    string    `json:"name"`
	SupportEmail            string    `json:"supportEmail,omitempty"`
	SellerCountry           string    `json:"sellerCountry,omitempty"`
	PricesIncludeTax        bool      `json:"pricesIncludeTax"`
	OSSRegistered           bool      `json:"ossRegistered"`
	BlockCheckoutsOnDispute bool      `json:"blockCheckoutsOnDispute"`
	CreatedAt               time.Time `json:"createdAt"`
	UpdatedAt               time.Time `json:"updatedAt"`
}

func newOrganizationView(o *domain.Organization) *organizationView {
	return &organizationView{ID: o.ID, Name: o.Name, SupportEmail: o.SupportEmail, SellerCountry: o.SellerCountry,
		PricesIncludeTax: o.PricesIncludeTax, OSSRegistered: o.OSSRegistered,
		BlockCheckoutsOnDispute: o.BlockCheckoutsOnDispute, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
}

type memberView struct {
	UserID            string     `json:"userId"`
	Email             string     `json:"email"`
	Name              string     `json:"name,omitempty"`
	Role              string     `json:"role"`
	InvitationPending bool       `json:"invitationPending"`
	InvitationLink    string     `json:"invitationLink,omitempty"`
	LastLoginAt       *time.Time `json:"lastLoginAt,omitempty"`
}

func newMemberView(m domain.Member) memberView {
	return memberView{UserID: m.User.ID, Email: m.User.Email, Name: m.User.Name, Role: string(m.Role),
		InvitationPending: m.User.PasswordHash == "", LastLoginAt: m.User.LastLoginAt}
}

type auditView struct {
	ID         string         `json:"id"`
	ActorType  string         `json:"actorType"`
	ActorID    string         `json:"actorId"`
	ActorLabel string         `json:"actorLabel,omitempty"`
	Action     string         `json:"action"`
	TargetType string         `json:"targetType"`
	TargetID   string         `json:"targetId"`
	Details    map[string]any `json:"details,omitempty"`
	IP         string         `json:"ip,omitempty"`
	RequestID  string         `json:"requestId,omitempty"`
	CreatedAt  time.Time      `json:"createdAt"`
}

func newAuditView(e *domain.AuditEntry) auditView {
	return auditView{ID: e.ID, ActorType: e.ActorType, ActorID: e.ActorID, ActorLabel: e.ActorLabel, Action: e.Action,
		TargetType: e.TargetType, TargetID: e.TargetID, Details: e.Details, IP: e.IP, RequestID: e.RequestID, CreatedAt: e.CreatedAt}
}
