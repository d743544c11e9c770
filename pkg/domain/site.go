package domain

import (
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Mode separates test objects from live ones; they never mix.
type Mode string

// Modes.
const (
	ModeTest Mode = "test"
	ModeLive Mode = "live"
)

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool { return m == ModeTest || m == ModeLive }

// ModedKind names a kind of object that has a mode (test or live).
type ModedKind string

// The kinds of object that have a mode; refunds, events and notifications take their
// transaction's.
const (
	ModedCheckout    ModedKind = "checkout"
	ModedTransaction ModedKind = "transaction"
	ModedProvider    ModedKind = "provider"
	ModedAPIKey      ModedKind = "API key"
	ModedInvoice     ModedKind = "invoice"
)

// TaxDisplay says how the hosted page shows line prices.
type TaxDisplay string

// Tax display settings.
const (
	TaxDisplayInclusive TaxDisplay = "inclusive" // line prices with tax, tax shown as "included"
	TaxDisplayExclusive TaxDisplay = "exclusive" // line prices without tax, tax as its own row
)

// VATIDValidation is how strictly a site checks a buyer's VAT id.
type VATIDValidation string

// VAT-id validation settings.
const (
	VATIDNone   VATIDValidation = "none"   // no VAT id field on the page
	VATIDFormat VATIDValidation = "format" // syntax check only
	VATIDVIES   VATIDValidation = "vies"   // syntax check, then the EU VIES service
)

// Site is a merchant's storefront: branding, allowed redirect hosts, IPN secret and providers.
type Site struct {
	ID             string `gorm:"primaryKey"`
	OrganizationID string
	Name           string
	LogoURL        string
	PrimaryColor   string
	AllowedHosts   []string `gorm:"serializer:json"`
	// WebhookSecret is the IPN signing secret, encrypted under the organisation's data key.
	WebhookSecret     string
	DefaultProviderID *string
	TaxDisplay        TaxDisplay
	VATIDValidation   VATIDValidation `gorm:"column:vat_id_validation"`
	DefaultLanguage   string
	IPNVersion        int `gorm:"column:ipn_version"`
	FrameAncestors    string
	// ReceiptsDisabled turns off the e-mail receipts buyers get after paying (pkg/receipt);
	// the zero value sends them.
	ReceiptsDisabled bool
	// EventsURL is where the site's invoice events are delivered (docs/INVOICES.md, "Events");
	// nil delivers none. Never a checkout's ipnUrl: the shop plugins read those as orders.
	EventsURL *string
	// EventsAllowPrivate is the SSRF policy EventsURL was accepted under
	// (IPN_ALLOW_PRIVATE_TARGETS when it was set), copied to each delivery.
	EventsAllowPrivate bool
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// TableName tells the store which table holds sites.
func (Site) TableName() string { return "sites" }

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// SupportedLanguages are the hosted page's languages.
var SupportedLanguages = []string{"en", "de", "fr", "es", "it", "nl", "pl"}

// IsSupportedLanguage reports whether the hosted page speaks lang.
func IsSupportedLanguage(lang string) bool {
	for _, l := range SupportedLanguages {
		if l == lang {
			return true
		}
	}
	return false
}

// Validate checks and normalises a site's editable fields. Every invalid field is reported:
// the first as the error, the others in its Also.
func (s *Site) Validate() error {
	var v invalids
	s.Name = strings.TrimSpace(s.Name)
	if s.Name == "" || len(s.Name) > 200 {
		v.add("name", "name is required (at most 200 characters)")
	}
	if s.LogoURL != "" {
		u, err := url.Parse(s.LogoURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || len(s.LogoURL) > 2048 {
			v.add("logoUrl", "logoUrl must be an absolute https URL")
		}
	}
	if s.PrimaryColor != "" && !colorRE.MatchString(s.PrimaryColor) {
		v.add("primaryColor", "primaryColor must be a hex colour like #1a73e8")
	}
	s.PrimaryColor = strings.ToLower(s.PrimaryColor)
	s.validateHosts(&v)
	switch s.TaxDisplay {
	case "":
		s.TaxDisplay = TaxDisplayInclusive
	case TaxDisplayInclusive, TaxDisplayExclusive:
	default:
		v.add("taxDisplay", "taxDisplay must be inclusive or exclusive")
	}
	switch s.VATIDValidation {
	case "":
		s.VATIDValidation = VATIDFormat
	case VATIDNone, VATIDFormat, VATIDVIES:
	default:
		v.add("vatIdValidation", "vatIdValidation must be none, format or vies")
	}
	if s.DefaultLanguage == "" {
		s.DefaultLanguage = "en"
	}
	if !IsSupportedLanguage(s.DefaultLanguage) {
		v.add("defaultLanguage", "defaultLanguage must be one of %s", strings.Join(SupportedLanguages, ", "))
	}
	if s.IPNVersion == 0 {
		s.IPNVersion = 2
	}
	if s.IPNVersion != 1 && s.IPNVersion != 2 {
		v.add("ipnVersion", "ipnVersion must be 1 or 2")
	}
	s.validateEventsURL(&v)
	if s.FrameAncestors != "" {
		for _, o := range strings.Fields(s.FrameAncestors) {
			u, err := url.Parse(o)
			if err != nil || u.Scheme != "https" || u.Host == "" || u.Path != "" || u.RawQuery != "" {
				v.add("frameAncestors", "frameAncestors must be https origins separated by spaces")
				break
			}
		}
	}
	return v.err()
}

// MaxEventsURLLength bounds a site's eventsUrl.
const MaxEventsURLLength = 2048

// validateEventsURL normalises the events URL (blank: none) and checks its form (ValidEventsURL).
func (s *Site) validateEventsURL(v *invalids) {
	if s.EventsURL == nil {
		return
	}
	raw := strings.TrimSpace(*s.EventsURL)
	if raw == "" {
		s.EventsURL = nil
		return
	}
	s.EventsURL = &raw
	if err := ValidEventsURL(raw); err != nil {
		v.add("eventsUrl", "%s", err.Message)
	}
}

// ValidEventsURL checks the form of a site's eventsUrl: an absolute https URL without
// credentials; http only for a localhost or loopback host (development, with private targets
// allowed: the SSRF policy, which the site's use cases apply too, refuses those otherwise).
func ValidEventsURL(raw string) *Error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || len(raw) > MaxEventsURLLength {
		return Invalid("eventsUrl", "eventsUrl must be an absolute https URL (at most %d characters)", MaxEventsURLLength)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopbackHost(u.Hostname()) {
			return Invalid("eventsUrl", "eventsUrl must use https (http is allowed only for localhost)")
		}
	default:
		return Invalid("eventsUrl", "eventsUrl must use https")
	}
	return nil
}

// EventsURLWellFormed reports whether ValidEventsURL accepts raw.
func EventsURLWellFormed(raw string) bool { return ValidEventsURL(raw) == nil }

// loopbackHost reports whether host names this machine (localhost, *.localhost, a loopback IP).
func loopbackHost(host string) bool {
	host = strings.ToLower(host)
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validateHosts normalises the allowed hosts, or reports the first that is not one.
func (s *Site) validateHosts(v *invalids) {
	if len(s.AllowedHosts) > 50 {
		v.add("allowedHosts", "at most 50 allowed hosts")
		return
	}
	hosts := make([]string, 0, len(s.AllowedHosts))
	for _, h := range s.AllowedHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if !validHostPattern(h) {
			v.add("allowedHosts", "%q is not a host name (use example.com or *.example.com)", h)
			return
		}
		hosts = append(hosts, h)
	}
	s.AllowedHosts = hosts
}

var hostLabelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func validHostPattern(h string) bool {
	h = strings.TrimPrefix(h, "*.")
	if h == "" || len(h) > 253 {
		return false
	}
	if hostOnly, port, ok := strings.Cut(h, ":"); ok {
		if port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "" {
			return false
		}
		h = hostOnly
	}
	for _, label := range strings.Split(h, ".") {
		if !hostLabelRE.MatchString(label) {
			return false
		}
	}
	return true
}

// HostAllowed reports whether host (from a return/cancel URL) matches one of the site's
// allowed hosts. "*.example.com" matches sub-domains of example.com, not example.com itself.
func (s *Site) HostAllowed(host string) bool {
	host = strings.ToLower(host)
	for _, h := range s.AllowedHosts {
		if rest, ok := strings.CutPrefix(h, "*."); ok {
			if strings.HasSuffix(host, "."+rest) {
				return true
			}
			continue
		}
		if host == h {
			return true
		}
	}
	return false
}

// SiteProvider assigns a provider to a site.
type SiteProvider struct {
	SiteID         string `gorm:"primaryKey"`
	ProviderID     string `gorm:"primaryKey"`
	OrganizationID string
	Position       int
	CreatedAt      time.Time
}

// TableName tells the store which table holds provider assignments.
func (SiteProvider) TableName() string { return "site_providers" }
