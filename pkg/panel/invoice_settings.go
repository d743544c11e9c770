package panel

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/invoice"
)

// layoutRow is a number layout as typed.
type layoutRow struct {
	Prefix, Period, FiscalStartMonth, Reset, Padding string
}

func layoutRowOf(l domain.NumberLayout) layoutRow {
	return layoutRow{Prefix: l.Prefix, Period: string(l.Period), FiscalStartMonth: strconv.Itoa(l.FiscalStartMonth), Reset: string(l.Reset),
		Padding: strconv.Itoa(l.Padding)}
}

// settingsForm is the invoicing settings form, with the preview of the next numbers.
type settingsForm struct {
	formState
	Seller                  domain.Party
	InvoiceLayout, CNLayout layoutRow
	AutoIssue               bool
	Minimum                 string
	Preview                 []invoice.NextNumber
	Months                  []string
	Previewed               bool
}

func (p *Panel) renderSettings(c echo.Context, r *request, status int, f *settingsForm) error {
	f.Months = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	return p.render(c, r, status, "invoice_settings", "Invoicing settings", "invoices", f)
}

// invoiceSettings shows the organisation's invoicing settings with the next numbers.
func (p *Panel) invoiceSettings(c echo.Context, r *request) error {
	svc, err := p.invoicing()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	set, err := svc.Settings(ctx, r.Actor, r.OrgID())
	if err != nil {
		return err
	}
	f := &settingsForm{Seller: set.Seller, InvoiceLayout: layoutRowOf(set.Layout(domain.DocInvoice)), CNLayout: layoutRowOf(set.Layout(domain.DocCreditNote)),
		AutoIssue: set.AutoIssue, Minimum: strconv.FormatInt(set.PaymentLinkMinimum, 10)}
	if f.Preview, err = svc.NextNumbers(ctx, r.Actor, r.OrgID(), *set); err != nil {
		return err
	}
	return p.renderSettings(c, r, http.StatusOK, f)
}

// readLayout reads one layout's fields (prefix "invoiceLayout" or "creditNoteLayout").
func readLayout(v url.Values, prefix string, f *settingsForm) (layoutRow, domain.NumberLayout) {
	row := layoutRow{Prefix: v.Get(prefix + ".prefix"), Period: v.Get(prefix + ".period"), FiscalStartMonth: v.Get(prefix + ".fiscalStartMonth"),
		Reset: v.Get(prefix + ".reset"), Padding: trimmed(v, prefix+".padding")}
	l := domain.NumberLayout{Prefix: row.Prefix, Period: domain.NumberPeriod(row.Period), Reset: domain.NumberReset(row.Reset)}
	var ok bool
	if l.FiscalStartMonth, ok = atoi(row.FiscalStartMonth); !ok {
		f.set(prefix+".fiscalStartMonth", "Choose the month the fiscal year starts in")
	}
	if l.Padding, ok = atoi(row.Padding); !ok || l.Padding < 1 || l.Padding > 12 {
		f.set(prefix+".padding", "Enter the number of digits, 1 to 12")
		l.Padding = 1
	}
	return row, l
}

// invoiceSettingsSave previews (op=preview: anyone who reads invoices) or saves (admins) the
// settings; every wrong field is shown at once.
func (p *Panel) invoiceSettingsSave(c echo.Context, r *request) error {
	svc, err := p.invoicing()
	if err != nil {
		return err
	}
	v := form(c)
	preview := v.Get("op") == "preview"
	if !preview {
		if err := authorize(r, "organization:update"); err != nil {
			return err
		}
	}
	f := &settingsForm{AutoIssue: v.Get("autoIssue") == "on", Minimum: trimmed(v, "paymentLinkMinimum"), Previewed: preview}
	set := domain.InvoiceSettings{AutoIssue: f.AutoIssue}
	f.Seller = domain.Party{Name: v.Get("seller.name"), Company: v.Get("seller.company"), Email: v.Get("seller.email"), Line1: v.Get("seller.line1"),
		Line2: v.Get("seller.line2"), PostalCode: v.Get("seller.postalCode"), City: v.Get("seller.city"), Country: v.Get("seller.country"),
		VATID: v.Get("seller.vatId")}
	set.Seller = f.Seller
	f.InvoiceLayout, set.InvoiceLayout = readLayout(v, "invoiceLayout", f)
	f.CNLayout, set.CreditNoteLayout = readLayout(v, "creditNoteLayout", f)
	if n, err := strconv.ParseInt(f.Minimum, 10, 64); err != nil || n < 1 {
		f.set("paymentLinkMinimum", "Enter a whole number of minor units, 1 or more (100 is 1.00 EUR)")
	} else {
		set.PaymentLinkMinimum = n
	}
	if err := set.Seller.Validate("seller"); err != nil {
		addErrors(&f.formState, err, nil)
	}
	ctx := c.Request().Context()
	next, err := svc.NextNumbers(ctx, r.Actor, r.OrgID(), set)
	if err != nil {
		if domain.ErrorKind(err) != domain.KindInvalid {
			return err
		}
		addErrors(&f.formState, err, nil)
	}
	f.Preview = next
	if f.failed() {
		return p.renderSettings(c, r, http.StatusBadRequest, f)
	}
	if preview {
		return p.renderSettings(c, r, http.StatusOK, f)
	}
	if _, err := svc.SaveSettings(ctx, r.Actor, r.OrgID(), set); err != nil {
		st, status, ok := formFailure(err, nil)
		if !ok {
			return err
		}
		f.formState = *st
		return p.renderSettings(c, r, status, f)
	}
	return seeOther(c, "/invoices/settings", "invoice-settings-saved")
}
