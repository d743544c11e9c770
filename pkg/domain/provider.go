package domain

import (
	"sort"
	"strings"
	"time"
)

// ProviderType names a payment provider adapter.
type ProviderType string

// Provider types.
const (
	ProviderStripe       ProviderType = "stripe"
	ProviderGoCardless   ProviderType = "gocardless"
	ProviderWireTransfer ProviderType = "wire_transfer"
)

// Valid reports whether t is a known provider type.
func (t ProviderType) Valid() bool {
	return t == ProviderStripe || t == ProviderGoCardless || t == ProviderWireTransfer
}

// Provider is a payment provider account configured at organisation level and assigned to sites.
// Settings are public (a publishable key, bank details shown to buyers); Credentials are secret,
// encrypted at rest and never returned in clear.
type Provider struct {
	ID             string `gorm:"primaryKey"`
	OrganizationID string
	Type           ProviderType
	Mode           Mode
	Name           string
	Enabled        bool
	Settings       map[string]string `gorm:"serializer:json"`
	// Credentials is the encrypted JSON object of secret fields.
	Credentials string
	// CredentialsHint holds the masked form of each secret field, for display.
	CredentialsHint map[string]string `gorm:"serializer:json"`
	// Availability is when the provider is offered (buyer countries, currencies, amounts,
	// modes); empty, always.
	Availability Availability `gorm:"serializer:json"`
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// TableName tells the store which table holds providers.
func (Provider) TableName() string { return "providers" }

// ProviderFields says which settings and credentials a provider type takes.
type ProviderFields struct {
	Settings         []string // public
	Credentials      []string // secret
	RequiredSettings []string
	RequiredSecrets  []string
	// Labels names each field for the screens that configure it (a field without one is
	// shown by its key).
	Labels map[string]FieldInfo
}

// FieldInfo is how a configuration field is shown: its label, a hint under it, and its input
// (Kind "text" by default, "textarea", or "select" of Options, the first the default).
type FieldInfo struct {
	Label, Hint string
	Kind        string
	Options     []string
}

// ProviderKind describes a provider type to the screens that configure and show it: everything
// the panel knows of a type comes from here, so a new provider needs no screen of its own.
type ProviderKind struct {
	Type ProviderType
	// Name is the type's display name ("Stripe"); Description one sentence for choosing it.
	Name, Description string
	Fields            ProviderFields
	// Webhooks: the provider reports by webhook, at /hooks/<type>/<provider id>.
	Webhooks bool
	// RefundNote is said on the refund form of its transactions (empty: nothing).
	RefundNote string
}

// FieldsFor returns the fields of a provider type.
func FieldsFor(t ProviderType) ProviderFields {
	switch t {
	case ProviderStripe:
		return ProviderFields{
			Settings:         []string{"publishableKey"},
			Credentials:      []string{"secretKey", "webhookSecret"},
			RequiredSettings: []string{"publishableKey"},
			RequiredSecrets:  []string{"secretKey", "webhookSecret"},
			Labels: map[string]FieldInfo{
				"publishableKey": {Label: "Publishable key", Hint: "Starts with pk_test_ or pk_live_, matching the mode."},
				"secretKey":      {Label: "Secret key", Hint: "Starts with sk_ (or a restricted rk_ key) of the same mode."},
				"webhookSecret":  {Label: "Webhook signing secret", Hint: "From Stripe's webhook settings (whsec_...)."},
			},
		}
	case ProviderGoCardless:
		return ProviderFields{
			Settings:         []string{"environment"},
			Credentials:      []string{"accessToken", "webhookSecret"},
			RequiredSettings: []string{"environment"},
			RequiredSecrets:  []string{"accessToken", "webhookSecret"},
			Labels: map[string]FieldInfo{
				"environment":   {Label: "Environment", Hint: "Sandbox for test mode, live for live mode.", Kind: "select", Options: []string{"sandbox", "live"}},
				"accessToken":   {Label: "Access token", Hint: "A read-write access token from the GoCardless dashboard."},
				"webhookSecret": {Label: "Webhook signing secret", Hint: "From GoCardless's webhook endpoint settings."},
			},
		}
	case ProviderWireTransfer:
		return ProviderFields{
			Settings:         []string{"bankName", "accountHolder", "iban", "bic", "instructions"},
			RequiredSettings: []string{"bankName", "accountHolder", "iban"},
			Labels: map[string]FieldInfo{
				"bankName":      {Label: "Bank name", Hint: ""},
				"accountHolder": {Label: "Account holder", Hint: "The name buyers transfer the money to."},
				"iban":          {Label: "IBAN", Hint: ""},
				"bic":           {Label: "BIC / SWIFT", Hint: "8 or 11 characters."},
				"instructions":  {Label: "Reference instructions", Hint: "Shown to buyers with the bank details.", Kind: "textarea"},
			},
		}
	}
	return ProviderFields{}
}

// Validate checks a provider of a built-in type: its type, mode, name and public settings.
// Secret fields are checked by ValidateCredentials because they are not kept in clear on the
// struct.
func (p *Provider) Validate() error {
	if !p.Type.Valid() {
		return Invalid("type", "type must be stripe, gocardless or wire_transfer")
	}
	return p.ValidateAs(FieldsFor(p.Type), ValidateBuiltinSettings)
}

// ValidateAs checks a provider's mode, name and public settings against its type's fields,
// then by check, its type's own rules (nil: none). A provider outside this package declares
// its fields and rules itself (providers.Provider) and is checked with them.
func (p *Provider) ValidateAs(f ProviderFields, check func(*Provider) error) error {
	var v invalids // every invalid field: the first is the error, the others in its Also
	p.Name = strings.TrimSpace(p.Name)
	if !p.Mode.Valid() {
		return Invalid("mode", "mode must be test or live") // the rules below depend on it
	}
	if p.Name == "" || len(p.Name) > 200 {
		v.add("name", "name is required (at most 200 characters)")
	}
	allowed := map[string]bool{}
	for _, k := range f.Settings {
		allowed[k] = true
	}
	keys := make([]string, 0, len(p.Settings))
	for k := range p.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch val := p.Settings[k]; {
		case !allowed[k]:
			v.add("settings."+k, "unknown setting %q for a %s provider", k, p.Type)
		case len(val) > 2000:
			v.add("settings."+k, "setting %q is too long", k)
		default:
			p.Settings[k] = strings.TrimSpace(val)
		}
	}
	missing := false
	for _, k := range f.RequiredSettings {
		if p.Settings[k] == "" {
			v.add("settings."+k, "%s is required for a %s provider", k, p.Type)
			missing = true
		}
	}
	if check == nil || missing {
		return v.err()
	}
	all := Invalids{v: v}
	if err := all.Collect(check(p)); err != nil {
		return err
	}
	return all.Err()
}

// ValidateBuiltinSettings checks the rules of the built-in types' public settings (a Stripe
// publishable key of the provider's mode, GoCardless's environment, the wire transfer's IBAN
// and BIC).
func ValidateBuiltinSettings(p *Provider) error {
	switch p.Type {
	case ProviderStripe:
		pk := p.Settings["publishableKey"]
		want := "pk_" + string(p.Mode) + "_"
		if !strings.HasPrefix(pk, want) {
			return Invalid("settings.publishableKey", "publishableKey must start with %s", want)
		}
	case ProviderGoCardless:
		env := p.Settings["environment"]
		if env != "sandbox" && env != "live" {
			return Invalid("settings.environment", "environment must be sandbox or live")
		}
		if (env == "live") != (p.Mode == ModeLive) {
			return Invalid("settings.environment", "a %s-mode provider needs the %s environment", p.Mode, map[Mode]string{ModeLive: "live", ModeTest: "sandbox"}[p.Mode])
		}
	case ProviderWireTransfer:
		iban := NormalizeIBAN(p.Settings["iban"])
		if !ValidIBAN(iban) {
			return Invalid("settings.iban", "iban is not a valid IBAN")
		}
		p.Settings["iban"] = iban
		if bic := strings.ToUpper(strings.ReplaceAll(p.Settings["bic"], " ", "")); bic != "" {
			if !bicRE.MatchString(bic) {
				return Invalid("settings.bic", "bic must be 8 or 11 characters")
			}
			p.Settings["bic"] = bic
		}
	}
	return nil
}

// ValidateCredentials checks the secret fields given for a provider type. With partial set,
// absent fields are allowed (an update that keeps the stored secrets).
func ValidateCredentials(t ProviderType, mode Mode, creds map[string]string, partial bool) error {
	if err := ValidateCredentialsAs(t, FieldsFor(t), creds, partial); err != nil {
		return err
	}
	return ValidateBuiltinCredentials(t, mode, creds)
}

// ValidateCredentialsAs checks that creds are among the fields' credentials, not too long,
// and (unless partial) that the required ones are there.
func ValidateCredentialsAs(t ProviderType, f ProviderFields, creds map[string]string, partial bool) error {
	allowed := map[string]bool{}
	for _, k := range f.Credentials {
		allowed[k] = true
	}
	for k, v := range creds {
		if !allowed[k] {
			return Invalid("credentials."+k, "unknown credential %q for a %s provider", k, t)
		}
		if len(v) > 4000 {
			return Invalid("credentials."+k, "credential %q is too long", k)
		}
	}
	if !partial {
		for _, k := range f.RequiredSecrets {
			if strings.TrimSpace(creds[k]) == "" {
				return Invalid("credentials."+k, "%s is required for a %s provider", k, t)
			}
		}
	}
	return nil
}

// ValidateBuiltinCredentials checks the formats of the built-in types' credentials given (a
// Stripe key of the provider's mode, a Stripe webhook secret).
func ValidateBuiltinCredentials(t ProviderType, mode Mode, creds map[string]string) error {
	var v invalids
	if t == ProviderStripe {
		if sk, ok := creds["secretKey"]; ok {
			if !strings.HasPrefix(sk, "sk_"+string(mode)+"_") && !strings.HasPrefix(sk, "rk_"+string(mode)+"_") {
				v.add("credentials.secretKey", "secretKey must start with sk_%s_ (or rk_%s_)", mode, mode)
			}
		}
		if wh, ok := creds["webhookSecret"]; ok && !strings.HasPrefix(wh, "whsec_") {
			v.add("credentials.webhookSecret", "webhookSecret must start with whsec_")
		}
	}
	return v.err()
}

// MaskSecret shows the first characters that identify a secret's kind and its last four.
func MaskSecret(s string) string {
	if s == "" {
		return ""
	}
	prefix := ""
	for _, p := range []string{"sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_", "sandbox_", "live_"} {
		if strings.HasPrefix(s, p) {
			prefix = p
			break
		}
	}
	if len(s)-len(prefix) <= 8 {
		return prefix + "••••"
	}
	return prefix + "••••" + s[len(s)-4:]
}

// gocardlessCurrencies are the currencies GoCardless collects (Direct Debit schemes and
// instant bank payments): GBP bacs/faster payments, EUR sepa, SEK autogiro, DKK
// betalingsservice, AUD becs, NZD becs_nz, CAD pad, USD ach.
var gocardlessCurrencies = map[string]bool{"GBP": true, "EUR": true, "SEK": true, "DKK": true, "AUD": true, "NZD": true, "CAD": true, "USD": true}

// SupportsCurrency reports whether a provider of this type can take payments in currency.
func (t ProviderType) SupportsCurrency(currency string) bool {
	if t == ProviderGoCardless {
		return gocardlessCurrencies[currency]
	}
	return true
}

// Offers reports whether the provider can take a payment of this mode and currency.
func (p *Provider) Offers(mode Mode, currency string) bool {
	return p.Enabled && p.Mode == mode && p.Type.SupportsCurrency(currency)
}

// MaskEmail is an e-mail address as logs may show it: the first letter of the local part and
// the domain ("j•••@shop.example"), enough to tell deliveries apart without keeping a buyer's
// address in the logs.
func MaskEmail(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "•••"
	}
	r := []rune(addr[:at])
	return string(r[0]) + "•••" + addr[at:]
}
