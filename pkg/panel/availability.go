package panel

import (
	"net/url"
	"strconv"
	"strings"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/money"
	"paygate.dev/pkg/tenancy"
)

// availabilityForm is the provider form's availability rules as typed: countries and
// currencies as lists ("DE, NL BE"), the amounts in major units of their currency ("10.00"),
// and the modes the provider is offered in.
type availabilityForm struct {
	Countries, Currencies, AmountCurrency, MinAmount, MaxAmount string
	// Modes is "" (test and live), "test" or "live".
	Modes string
}

// Availability field names (the platform's, so its errors land next to them).
const (
	availCountries      = "availability.countries"
	availCurrencies     = "availability.currencies"
	availAmountCurrency = "availability.amountCurrency"
	availMinAmount      = "availability.minAmount"
	availMaxAmount      = "availability.maxAmount"
	availModes          = "availability.modes"
)

// newAvailabilityForm shows a provider's stored rules.
func newAvailabilityForm(a domain.Availability) availabilityForm {
	f := availabilityForm{Countries: strings.Join(a.Countries, ", "), Currencies: strings.Join(a.Currencies, ", "),
		AmountCurrency: a.AmountCurrency}
	if len(a.Modes) == 1 {
		f.Modes = string(a.Modes[0])
	}
	amount := func(v *int64) string {
		if v == nil {
			return ""
		}
		if cur, ok := money.Lookup(a.AmountCurrency); ok {
			return money.FormatDecimal(*v, cur)
		}
		return strconv.FormatInt(*v, 10)
	}
	f.MinAmount, f.MaxAmount = amount(a.MinAmount), amount(a.MaxAmount)
	return f
}

// codes splits a list typed with commas, spaces or new lines.
func codes(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// bind reads the posted rules into f and the platform's rules; what only the form can judge
// (an amount that is not a number) is recorded in st. A form without the rules (an older
// page, a script) clears them.
func (f *availabilityForm) bind(v url.Values, st *formState) domain.Availability {
	f.Countries, f.Currencies = trimmed(v, availCountries), trimmed(v, availCurrencies)
	f.AmountCurrency = strings.ToUpper(trimmed(v, availAmountCurrency))
	f.MinAmount, f.MaxAmount = trimmed(v, availMinAmount), trimmed(v, availMaxAmount)
	f.Modes = v.Get(availModes)
	a := domain.Availability{Countries: codes(f.Countries), Currencies: codes(f.Currencies), AmountCurrency: f.AmountCurrency}
	cur, known := money.Lookup(f.AmountCurrency)
	amount := func(field, text, what string) *int64 {
		if text == "" {
			return nil
		}
		var n int64
		var err error
		if known {
			n, err = money.ParseDecimal(text, cur)
		} else {
			n, err = strconv.ParseInt(text, 10, 64) // the currency's own error says what is wrong
		}
		if err != nil {
			st.set(field, "The "+what+" must be an amount such as 10 or 10.50 in the amounts' currency")
			return nil
		}
		return &n
	}
	a.MinAmount = amount(availMinAmount, f.MinAmount, "minimum amount")
	a.MaxAmount = amount(availMaxAmount, f.MaxAmount, "maximum amount")
	if f.Modes != "" {
		a.Modes = []domain.Mode{domain.Mode(f.Modes)} // anything but test or live: the platform's error
	}
	return a
}

// checkAvailability adds the platform's verdict on the rules to a form that already failed on
// its own (so that every mistake shows at once, while nothing is saved).
func checkAvailability(a domain.Availability, st *formState) {
	err := tenancy.CheckAvailability(&a)
	if err == nil {
		return
	}
	if more, _, ok := formFailure(err, nil); ok {
		for _, field := range more.order {
			st.set(field, more.Errors[field])
		}
	}
}
