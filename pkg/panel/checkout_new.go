package panel

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/money"
)

// itemRow is one line-item row of the Create Checkout form, as typed.
type itemRow struct {
	Name, Quantity, UnitPrice, VATRate, Type string
}

// checkoutForm is the Create Checkout form's values, kept as typed so a failed submit shows
// them again.
type checkoutForm struct {
	formState
	Site, Mode, Currency, Email, Reference, ReturnURL, CancelURL string
	ExpiryValue, ExpiryUnit                                      string
	Items                                                        []itemRow

	Sites      []domain.Site
	Currencies []string
	ItemTypes  []string
}

// ItemErr is the message of one column of one row ("items[2].quantity").
func (f *checkoutForm) ItemErr(i int, col string) string {
	return f.Err(fmt.Sprintf("items[%d].%s", i, col))
}

var itemTypes = []string{string(domain.ItemGoods), string(domain.ItemDigitalService), string(domain.ItemShipping), string(domain.ItemDiscount)}

func (p *Panel) newCheckoutForm(c echo.Context, r *request) (*checkoutForm, error) {
	sites, err := p.d.Tenancy.ListSites(c.Request().Context(), r.Actor, r.OrgID())
	if err != nil {
		return nil, err
	}
	return &checkoutForm{Sites: sites, Currencies: money.Codes(), ItemTypes: itemTypes}, nil
}

// checkoutNew shows the Create Checkout form (editor and up).
func (p *Panel) checkoutNew(c echo.Context, r *request) error {
	if err := authorize(r, "checkout:create"); err != nil {
		return err
	}
	f, err := p.newCheckoutForm(c, r)
	if err != nil {
		return err
	}
	f.Mode, f.Currency, f.ExpiryValue, f.ExpiryUnit = "test", "EUR", "7", "days"
	f.Reference = "INV-" + strings.ToUpper(domain.RandomString(8))
	f.Items = []itemRow{{Quantity: "1", Type: string(domain.ItemGoods)}}
	if site := c.QueryParam("site"); site != "" {
		f.Site = site
	} else if len(f.Sites) > 0 {
		f.Site = f.Sites[0].ID
	}
	return p.render(c, r, http.StatusOK, "checkout_new", "Create checkout", "checkouts", f)
}

// checkoutCreate creates a checkout from the form through the same platform function as the
// API (origin dashboard). The form's "add row" and "remove row" buttons work without
// JavaScript: they show the form again with one row more or less.
func (p *Panel) checkoutCreate(c echo.Context, r *request) error {
	if err := authorize(r, "checkout:create"); err != nil {
		return err
	}
	v := form(c)
	f, err := p.newCheckoutForm(c, r)
	if err != nil {
		return err
	}
	f.Site, f.Mode, f.Currency, f.Email = v.Get("site"), v.Get("mode"), strings.ToUpper(trimmed(v, "currency")), trimmed(v, "email")
	f.Reference, f.ReturnURL, f.CancelURL = trimmed(v, "externalReference"), trimmed(v, "returnUrl"), trimmed(v, "cancelUrl")
	f.ExpiryValue, f.ExpiryUnit = trimmed(v, "expiryValue"), v.Get("expiryUnit")
	names, qtys, prices, vats, types := v["item_name"], v["item_quantity"], v["item_unitPrice"], v["item_vatRate"], v["item_type"]
	for i := range names {
		f.Items = append(f.Items, itemRow{Name: names[i], Quantity: at(qtys, i), UnitPrice: at(prices, i), VATRate: at(vats, i), Type: at(types, i)})
	}
	switch op := v.Get("op"); {
	case op == "add-row":
		f.Items = append(f.Items, itemRow{Quantity: "1", Type: string(domain.ItemGoods)})
		return p.render(c, r, http.StatusOK, "checkout_new", "Create checkout", "checkouts", f)
	case strings.HasPrefix(op, "remove-row-"):
		if i, ok := atoi(strings.TrimPrefix(op, "remove-row-")); ok && i >= 0 && i < len(f.Items) {
			f.Items = append(f.Items[:i], f.Items[i+1:]...)
		}
		if len(f.Items) == 0 {
			f.Items = []itemRow{{Quantity: "1", Type: string(domain.ItemGoods)}}
		}
		return p.render(c, r, http.StatusOK, "checkout_new", "Create checkout", "checkouts", f)
	}

	in, rowOf := f.input()
	if f.failed() {
		p.platformErrors(c, r, f, in, rowOf)
		return p.render(c, r, http.StatusBadRequest, "checkout_new", "Create checkout", "checkouts", f)
	}
	co, err := p.d.Checkout.CreateCheckout(c.Request().Context(), r.Actor, r.OrgID(), f.Site, in)
	if err != nil {
		if domain.IsNotFound(err) {
			err = domain.Invalid("site", "choose one of your sites")
		} else if domain.ErrorCode(err) == domain.CodeNoProvider {
			err = &domain.Error{Kind: domain.KindUnprocessable, Code: domain.CodeNoProvider, Field: "site", Message: errMessage(err)}
		}
		st, status, ok := formFailure(humanize(err, rowOf), fieldsForItems(rowOf))
		if !ok {
			return err
		}
		f.formState = *st
		return p.render(c, r, status, "checkout_new", "Create checkout", "checkouts", f)
	}
	return seeOther(c, "/checkouts/"+co.ID, "checkout-created")
}

// platformErrors adds what the platform finds wrong with the rest of a form the panel already
// refused (the e-mail, the reference, the URLs): every error of the form is shown at once.
// The platform only validates here (PrepareCheckout writes nothing); the items, which the
// panel checks itself, keep the panel's messages.
func (p *Panel) platformErrors(c echo.Context, r *request, f *checkoutForm, in checkout.CheckoutInput, rowOf []int) {
	if f.Site == "" {
		return
	}
	_, err := p.d.Checkout.PrepareCheckout(c.Request().Context(), r.Actor, r.OrgID(), f.Site, in)
	st, _, ok := formFailure(humanize(err, rowOf), fieldsForItems(rowOf))
	if err == nil || !ok {
		return
	}
	for _, field := range st.order {
		if !strings.HasPrefix(field, "items") && f.Err(field) == "" {
			f.set(field, st.Errors[field])
		}
	}
}

func at(vs []string, i int) string {
	if i < len(vs) {
		return vs[i]
	}
	return ""
}

var percentRE = regexp.MustCompile(`^\d{1,3}(\.\d{1,2})?$`)

// input converts the typed form into the platform's input. Problems the platform cannot name
// (a price that is not a number) are recorded on the form. rowOf maps the index of each item
// sent to the platform to its row on the form (blank rows are skipped).
func (f *checkoutForm) input() (checkout.CheckoutInput, []int) {
	in := checkout.CheckoutInput{Currency: f.Currency, Email: f.Email, ExternalReference: f.Reference, ReturnURL: f.ReturnURL,
		CancelURL: f.CancelURL, Mode: domain.Mode(f.Mode), Origin: domain.OriginDashboard}
	if f.Site == "" {
		f.set("site", "Choose the site the checkout is for")
	}
	cur, ok := money.Lookup(f.Currency)
	if !ok {
		f.set("currency", "Choose a currency")
	}
	var rowOf []int
	var total int64
	for i, it := range f.Items {
		if strings.TrimSpace(it.Name) == "" && strings.TrimSpace(it.UnitPrice) == "" {
			continue
		}
		field := fmt.Sprintf("items[%d]", i)
		q, err := strconv.ParseInt(strings.TrimSpace(it.Quantity), 10, 64)
		if err != nil || q < 1 {
			f.set(field+".quantity", "Enter a whole number of 1 or more")
		}
		var price int64
		if ok {
			if price, err = money.ParseDecimal(it.UnitPrice, cur); err != nil {
				f.set(field+".unitPrice", fmt.Sprintf("Enter a price like 24.99 (at most %d decimal places for %s)", cur.Exponent, cur.Code))
			}
		}
		var vat *int64
		if s := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(it.VATRate), "%")); s != "" {
			if !percentRE.MatchString(s) {
				f.set(field+".vatRate", "Enter a percentage like 19 or 7.5, or leave it empty")
			} else if r, err := money.ParseDecimal(s, money.Currency{Exponent: 2}); err == nil {
				vat = &r
			}
		}
		if q > 0 && q <= checkout.MaxQuantity {
			if line, err := money.Mul(q, price); err == nil {
				total, _ = money.Add(total, line)
			}
		}
		rowOf = append(rowOf, i)
		in.Items = append(in.Items, checkout.ItemInput{Name: it.Name, Quantity: q, UnitPrice: price, VATRate: vat, ItemType: it.Type})
	}
	if len(in.Items) == 0 {
		f.set("items[0].name", "Add at least one item with a name and a price")
	} else if total <= 0 && !f.failed() {
		f.set("items", "The items must add up to more than zero")
	}
	in.Amount = total
	if m, ok := expiryMinutes(f.ExpiryValue, f.ExpiryUnit); !ok {
		f.set("expiryValue", "Enter how long the link stays valid, like 7 days")
	} else {
		in.ExpiresInMinutes = &m
	}
	return in, rowOf
}

// expiryMinutes reads a "valid for" number and unit (minutes, hours, days) as minutes.
func expiryMinutes(value, unit string) (int, bool) {
	n, ok := atoi(value)
	mult := map[string]int{"minutes": 1, "hours": 60, "days": 24 * 60}[unit]
	if !ok || n < 1 || mult == 0 || n > checkout.MaxExpiryMinutes {
		return 0, false
	}
	return n * mult, true
}

// fieldsForItems maps the platform's item fields ("items[1].name", counted over the items sent)
// to the form's rows, and its other field names to the form's.
func fieldsForItems(rowOf []int) map[string]string {
	m := map[string]string{"amount": "items", "invoiceNumber": "externalReference", "expiresInMinutes": "expiryValue"}
	for sent, row := range rowOf {
		for _, col := range []string{"name", "description", "quantity", "unitPrice", "vatRate", "itemType"} {
			to := col
			if col == "description" {
				to = "name"
			}
			if col == "itemType" {
				to = "type"
			}
			m[fmt.Sprintf("items[%d].%s", sent, col)] = fmt.Sprintf("items[%d].%s", row, to)
		}
	}
	return m
}

// authorize checks a permission the page itself needs before the platform call (to show a 403
// page instead of a form the user could not submit).
func authorize(r *request, perm string) error {
	res, act, _ := strings.Cut(perm, ":")
	return auth.Authorize(r.Actor, res, act)
}

var (
	itemFieldRE = regexp.MustCompile(`items\[(\d+)\](?:\.(\w+))?`)
	apiNames    = strings.NewReplacer("externalReference", "the reference", "invoiceNumber", "invoice number",
		"returnUrl", "the return URL", "cancelUrl", "the cancel URL", "expiresInMinutes", "the validity in minutes",
		"email must", "the e-mail address must", "unitPrice", "unit price", "vatRate", "VAT rate", "itemType", "type")
)

// humanize rewrites a platform message about the API's fields in the form's words ("items[0].
// unitPrice" becomes "item 1 unit price", counted by the form's rows).
func humanize(err error, rowOf []int) error {
	var de *domain.Error
	if !errors.As(err, &de) {
		return err
	}
	out := *humanized(de, rowOf)
	out.Also = make([]*domain.Error, len(de.Also))
	for i, e := range de.Also {
		out.Also[i] = humanized(e, rowOf)
	}
	return &out
}

// humanized is one error with its message in the form's words.
func humanized(de *domain.Error, rowOf []int) *domain.Error {
	msg := itemFieldRE.ReplaceAllStringFunc(de.Message, func(m string) string {
		sub := itemFieldRE.FindStringSubmatch(m)
		i, _ := strconv.Atoi(sub[1])
		if i < len(rowOf) {
			i = rowOf[i]
		}
		return strings.TrimSpace(fmt.Sprintf("item %d %s", i+1, sub[2]))
	})
	if de.Code != domain.CodeAmountMismatch {
		msg = apiNames.Replace(msg)
	}
	out := *de
	out.Message = msg
	return &out
}
