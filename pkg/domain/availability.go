package domain

import (
	"slices"
	"strings"
)

// Availability is when a provider is offered (as a shop enables payment providers per region):
// to which buyer countries, in which currencies, for which amounts and in which modes. Every
// rule left empty allows everything; the rules that are set must all hold. The rules are
// generic: they belong to the provider configuration (the one every site it is assigned to
// offers), never to a provider type.
//
// The amount bounds are minor units of AmountCurrency (a bound names its currency) and bind
// checkouts in that currency only; list only AmountCurrency under Currencies to offer the
// provider in no other.
type Availability struct {
	// Countries are the buyer countries (ISO 3166 alpha-2) the provider is offered to. A
	// buyer whose country is not known yet is not offered a provider restricted by country.
	Countries []string `json:"countries,omitempty"`
	// Currencies are the checkout currencies (ISO 4217) the provider is offered in.
	Currencies []string `json:"currencies,omitempty"`
	// AmountCurrency is the currency of MinAmount and MaxAmount (required with either).
	AmountCurrency string `json:"amountCurrency,omitempty"`
	// MinAmount and MaxAmount bound the checkout's amount (inclusive), in minor units.
	MinAmount *int64 `json:"minAmount,omitempty"`
	MaxAmount *int64 `json:"maxAmount,omitempty"`
	// Modes are the modes (test, live) the provider is offered in. A provider configuration
	// has one mode, so this can only switch it off in that mode without disabling it.
	Modes []Mode `json:"modes,omitempty"`
}

// Unrestricted reports whether no rule is set.
func (a Availability) Unrestricted() bool {
	return len(a.Countries) == 0 && len(a.Currencies) == 0 && a.MinAmount == nil && a.MaxAmount == nil && len(a.Modes) == 0
}

// The rules a checkout or buyer can fail, as Availability.Unmet names them.
const (
	RuleMode     = "mode"
	RuleCurrency = "currency"
	RuleAmount   = "amount"
	RuleCountry  = "country"
)

// Offer is what the rules are matched against: the checkout's mode, currency and amount (minor
// units) and the buyer's country ("" while it is not known).
type Offer struct {
	Mode     Mode
	Currency string
	Amount   int64
	Country  string
}

// UnmetForCheckout names the first rule the checkout fails (mode, currency, amount), or "" when
// it meets them all. The buyer's country is not looked at (see AllowsCountry).
func (a Availability) UnmetForCheckout(o Offer) string {
	if len(a.Modes) > 0 && !slices.Contains(a.Modes, o.Mode) {
		return RuleMode
	}
	cur := strings.ToUpper(o.Currency)
	if len(a.Currencies) > 0 && !slices.Contains(a.Currencies, cur) {
		return RuleCurrency
	}
	if a.AmountCurrency == cur {
		if a.MinAmount != nil && o.Amount < *a.MinAmount {
			return RuleAmount
		}
		if a.MaxAmount != nil && o.Amount > *a.MaxAmount {
			return RuleAmount
		}
	}
	return ""
}

// AllowsCountry reports whether a buyer from country may be offered the provider: any country
// when no countries are listed, else only a listed one (an unknown country is not).
func (a Availability) AllowsCountry(country string) bool {
	if len(a.Countries) == 0 {
		return true
	}
	return slices.Contains(a.Countries, NormalizeCountry(country))
}

// Unmet names the first rule o fails (mode, currency, amount, country), or "" when it meets
// them all.
func (a Availability) Unmet(o Offer) string {
	if r := a.UnmetForCheckout(o); r != "" {
		return r
	}
	if !a.AllowsCountry(o.Country) {
		return RuleCountry
	}
	return ""
}

// Matches reports whether o meets every rule.
func (a Availability) Matches(o Offer) bool { return a.Unmet(o) == "" }

// MaxAvailabilityEntries bounds the countries and currencies a rule lists.
const MaxAvailabilityEntries = 300

// Normalize upper-cases, trims, sorts and de-duplicates the rules and checks them all, so that
// a form shows every mistake at once: the first invalid field is the error, the others ride in
// its Also. knownCurrency says whether a code is a currency the platform takes (nil: any three
// letters). Fields are named under prefix ("availability").
func (a *Availability) Normalize(prefix string, knownCurrency func(string) bool) error {
	var v invalids
	a.Countries = normalizeCodes(a.Countries)
	if bad := rejected(a.Countries, IsCountryCode); bad != "" {
		v.add(prefix+".countries", "%s: not a country code (two letters, such as DE or NL)", bad)
	}
	if len(a.Countries) > MaxAvailabilityEntries {
		v.add(prefix+".countries", "at most %d countries can be listed", MaxAvailabilityEntries)
	}
	isCurrency := func(c string) bool {
		return len(c) == 3 && strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" && (knownCurrency == nil || knownCurrency(c))
	}
	a.Currencies = normalizeCodes(a.Currencies)
	if bad := rejected(a.Currencies, isCurrency); bad != "" {
		v.add(prefix+".currencies", "%s: not a currency we take (three letters, such as EUR or USD)", bad)
	}
	if len(a.Currencies) > MaxAvailabilityEntries {
		v.add(prefix+".currencies", "at most %d currencies can be listed", MaxAvailabilityEntries)
	}
	a.normalizeAmounts(prefix, &v, isCurrency)
	modes := a.Modes
	a.Modes = nil
	for _, m := range []Mode{ModeTest, ModeLive} {
		if slices.Contains(modes, m) {
			a.Modes = append(a.Modes, m)
		}
	}
	for _, m := range modes {
		if !m.Valid() {
			v.add(prefix+".modes", "modes can only be test and live, not %q", m)
			break
		}
	}
	return v.err()
}

func (a *Availability) normalizeAmounts(prefix string, v *invalids, isCurrency func(string) bool) {
	a.AmountCurrency = strings.ToUpper(strings.TrimSpace(a.AmountCurrency))
	if a.MinAmount == nil && a.MaxAmount == nil {
		a.AmountCurrency = ""
		return
	}
	switch {
	case a.AmountCurrency == "":
		v.add(prefix+".amountCurrency", "name the currency of the minimum and maximum amounts")
	case !isCurrency(a.AmountCurrency):
		v.add(prefix+".amountCurrency", "%q is not a currency code we take (three letters, such as EUR or USD)", a.AmountCurrency)
	case len(a.Currencies) > 0 && !slices.Contains(a.Currencies, a.AmountCurrency):
		v.add(prefix+".amountCurrency", "the amounts' currency %s is not among the allowed currencies", a.AmountCurrency)
	}
	if a.MinAmount != nil && *a.MinAmount < 0 {
		v.add(prefix+".minAmount", "the minimum amount cannot be negative")
	}
	if a.MaxAmount != nil && *a.MaxAmount <= 0 {
		v.add(prefix+".maxAmount", "the maximum amount must be more than zero")
	} else if a.MinAmount != nil && a.MaxAmount != nil && *a.MinAmount > *a.MaxAmount {
		v.add(prefix+".maxAmount", "the maximum amount must not be below the minimum amount")
	}
}

// rejected lists the codes ok refuses, comma separated ("" when none).
func rejected(codes []string, ok func(string) bool) string {
	var bad []string
	for _, c := range codes {
		if !ok(c) {
			bad = append(bad, c)
		}
	}
	return strings.Join(bad, ", ")
}

// normalizeCodes upper-cases and trims codes, drops empty ones and duplicates, and sorts them.
func normalizeCodes(in []string) []string {
	var out []string
	for _, c := range in {
		if c = strings.ToUpper(strings.TrimSpace(c)); c != "" {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// OffersCheckout reports whether the provider can take this checkout (enabled, of its mode, a
// currency its type takes) and its availability rules allow the checkout's mode, currency and
// amount. The buyer's country is matched separately (Availability.AllowsCountry).
func (p *Provider) OffersCheckout(o Offer) bool {
	return p.Offers(o.Mode, o.Currency) && p.Availability.UnmetForCheckout(o) == ""
}
