package panel

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/money"
)

// invoiceForm is the draft form (new or edit), kept as typed so a failed submit shows it again.
// Its rows use the line-item rows of the checkout form (item-row, the same script).
type invoiceForm struct {
	formState
	// ID is the draft being edited ("" for a new one); Mode is fixed once created.
	ID                                              string
	Mode, Site, Currency, Language, ClientID, DueAt string
	Notes                                           string
	Client                                          domain.Party
	Items                                           []itemRow

	Sites      []domain.Site
	Clients    []domain.Client
	Currencies []string
	ItemTypes  []string
}

// ItemErr is the message of one column of one row ("items[2].quantity").
func (f *invoiceForm) ItemErr(i int, col string) string {
	return f.Err(fmt.Sprintf("items[%d].%s", i, col))
}

// Action is where the form posts.
func (f *invoiceForm) Action() string {
	if f.ID != "" {
		return "/invoices/" + f.ID
	}
	return "/invoices"
}

// prepare loads the choices of the form: the sites, and the organisation's latest clients
// (for those who may read clients).
func (p *Panel) invoiceFormChoices(ctx context.Context, r *request, f *invoiceForm) error {
	var err error
	if f.Sites, err = p.d.Tenancy.ListSites(ctx, r.Actor, r.OrgID()); err != nil {
		return err
	}
	f.Currencies, f.ItemTypes = money.Codes(), itemTypes
	if p.d.Client != nil && authorize(r, "client:read") == nil {
		f.Clients, _, err = p.d.Client.ListClients(ctx, r.Actor, domain.ClientFilter{OrganizationID: r.OrgID(), Limit: 100})
	}
	return err
}

func (p *Panel) renderInvoiceForm(c echo.Context, r *request, status int, f *invoiceForm) error {
	if err := p.invoiceFormChoices(c.Request().Context(), r, f); err != nil {
		return err
	}
	title := "New invoice"
	if f.ID != "" {
		title = "Edit draft invoice"
	}
	return p.render(c, r, status, "invoice_form", title, "invoices", f)
}

// invoiceNew shows the form of a new draft (editor and up); ?client= starts it for a client.
func (p *Panel) invoiceNew(c echo.Context, r *request) error {
	if _, err := p.invoicing(); err != nil {
		return err
	}
	if err := authorize(r, "invoice:create"); err != nil {
		return err
	}
	f := &invoiceForm{Mode: "test", Currency: "EUR", Language: "en", Items: []itemRow{newLine(), newLine()}}
	if id := cursorParam(c, "client", domain.PrefixClient); id != "" && p.d.Client != nil {
		if cl, err := p.d.Client.GetClient(c.Request().Context(), r.Actor, r.OrgID(), id); err == nil {
			f.ClientID, f.Mode = cl.ID, string(cl.Mode)
		}
	}
	return p.renderInvoiceForm(c, r, http.StatusOK, f)
}

func newLine() itemRow { return itemRow{Quantity: "1", Type: string(domain.ItemGoods)} }

// invoiceEdit shows a draft's form (editor and up); an issued invoice cannot be edited.
func (p *Panel) invoiceEdit(c echo.Context, r *request) error {
	svc, err := p.invoicing()
	if err != nil {
		return err
	}
	if err := authorize(r, "invoice:update"); err != nil {
		return err
	}
	v, err := svc.Get(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id"))
	if err != nil {
		return err
	}
	inv := v.Invoice
	if inv.Status != domain.InvoiceDraft {
		return p.invoiceError(c, "Cannot edit this invoice", domain.Conflict(domain.CodeInvoiceIssued, "the invoice is issued: it can no longer change (credit it instead)"))
	}
	f := &invoiceForm{ID: inv.ID, Mode: string(inv.Mode), Site: deref(inv.SiteID), Currency: inv.Currency, Language: inv.Language,
		ClientID: deref(inv.ClientID), Notes: inv.Notes, Client: inv.Client}
	if inv.DueAt != nil {
		f.DueAt = inv.DueAt.UTC().Format("2006-01-02")
	}
	for _, l := range inv.Lines {
		row := itemRow{Name: l.Description, Quantity: strconv.FormatInt(l.Quantity, 10), UnitPrice: formatDecimal(l.UnitPrice, inv.Currency), Type: string(l.ItemType)}
		if l.VATRate != nil {
			row.VATRate = strings.TrimSuffix(formatVAT(l.VATRate), " %")
		}
		f.Items = append(f.Items, row)
	}
	return p.renderInvoiceForm(c, r, http.StatusOK, f)
}

// readInvoiceForm reads the posted form; it answers whether an "add line" or "remove line"
// button was pressed (the form is then shown again, changed, without saving).
func readInvoiceForm(v url.Values, f *invoiceForm) (rowsChanged bool) {
	if f.ID == "" {
		f.Mode = v.Get("mode")
	}
	f.Site, f.Currency, f.Language = v.Get("site"), strings.ToUpper(trimmed(v, "currency")), trimmed(v, "language")
	f.ClientID, f.DueAt, f.Notes = v.Get("clientId"), trimmed(v, "dueAt"), strings.TrimSpace(v.Get("notes"))
	f.Client = domain.Party{Name: v.Get("client.name"), Company: v.Get("client.company"), Email: v.Get("client.email"),
		Line1: v.Get("client.line1"), Line2: v.Get("client.line2"), PostalCode: v.Get("client.postalCode"), City: v.Get("client.city"),
		Country: v.Get("client.country"), VATID: v.Get("client.vatId")}
	names, qtys, prices, vats, types := v["item_name"], v["item_quantity"], v["item_unitPrice"], v["item_vatRate"], v["item_type"]
	for i := range names {
		f.Items = append(f.Items, itemRow{Name: names[i], Quantity: at(qtys, i), UnitPrice: at(prices, i), VATRate: at(vats, i), Type: at(types, i)})
	}
	switch op := v.Get("op"); {
	case op == "add-row":
		f.Items = append(f.Items, newLine())
		return true
	case strings.HasPrefix(op, "remove-row-"):
		if i, ok := atoi(strings.TrimPrefix(op, "remove-row-")); ok && i >= 0 && i < len(f.Items) {
			f.Items = append(f.Items[:i], f.Items[i+1:]...)
		}
		if len(f.Items) == 0 {
			f.Items = []itemRow{newLine()}
		}
		return true
	}
	return false
}

// invoiceSave creates a draft (POST /invoices) or changes one (POST /invoices/:id) from the
// form. Every error of the form is shown at once: the panel checks the rows, the client block
// and the dates itself before the use case, which checks again.
func (p *Panel) invoiceSave(c echo.Context, r *request) error {
	svc, err := p.invoicing()
	if err != nil {
		return err
	}
	f := &invoiceForm{ID: c.Param("id")}
	perm := "invoice:create"
	if f.ID != "" {
		perm = "invoice:update"
	}
	if err := authorize(r, perm); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if f.ID != "" {
		cur, err := svc.Get(ctx, r.Actor, r.OrgID(), f.ID)
		if err != nil {
			return err
		}
		f.Mode = string(cur.Invoice.Mode)
	}
	if readInvoiceForm(form(c), f) {
		return p.renderInvoiceForm(c, r, http.StatusOK, f)
	}
	in, rowOf := p.invoiceInput(ctx, r, f)
	if f.failed() {
		return p.renderInvoiceForm(c, r, http.StatusBadRequest, f)
	}
	var inv *domain.Invoice
	if f.ID == "" {
		inv, err = svc.CreateDraft(ctx, r.Actor, r.OrgID(), in)
	} else {
		inv, err = svc.UpdateDraft(ctx, r.Actor, r.OrgID(), f.ID, invoice.DraftPatch{SiteID: &f.Site, Currency: &in.Currency, Language: &in.Language,
			ClientID: &f.ClientID, Client: &in.Client, Lines: in.Lines, Notes: &in.Notes, DueAt: in.DueAt})
	}
	if err != nil {
		if domain.IsNotFound(err) && f.Site != "" {
			err = domain.Invalid("site", "choose one of your sites")
		}
		st, status, ok := formFailure(humanize(err, rowOf), invoiceFields(rowOf))
		if !ok {
			return err
		}
		f.formState = *st
		return p.renderInvoiceForm(c, r, status, f)
	}
	notice := "invoice-created"
	if f.ID != "" {
		notice = "invoice-saved"
	}
	return seeOther(c, "/invoices/"+inv.ID, notice)
}

// ptr is nil for "" (an empty select: none), else a pointer to s.
func ptr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// invoiceInput converts the typed form into the use case's input, recording on the form every
// problem it finds. rowOf maps each line sent to its row on the form (blank rows are skipped).
func (p *Panel) invoiceInput(ctx context.Context, r *request, f *invoiceForm) (invoice.DraftInput, []int) {
	in := invoice.DraftInput{Mode: domain.Mode(f.Mode), SiteID: ptr(f.Site), Currency: f.Currency, Language: f.Language, ClientID: ptr(f.ClientID), Notes: f.Notes}
	if !in.Mode.Valid() {
		f.set("mode", "Choose test or live")
	}
	cur, curOK := money.Lookup(f.Currency)
	if !curOK {
		f.set("currency", "Choose a currency")
	}
	p.invoiceClient(ctx, r, f)
	in.Client = f.Client
	if err := in.Client.Validate("client"); err != nil {
		addErrors(&f.formState, err, nil)
	}
	if f.DueAt != "" {
		if t, err := time.Parse("2006-01-02", f.DueAt); err != nil {
			f.set("dueAt", "Enter a date like 2026-07-31, or leave it empty")
		} else {
			in.DueAt = &t
		}
	}
	if len(f.Notes) > 2000 {
		f.set("notes", "Notes have at most 2000 characters")
	}
	var rowOf []int
	for i, it := range f.Items {
		if strings.TrimSpace(it.Name) == "" && strings.TrimSpace(it.UnitPrice) == "" {
			continue
		}
		rowOf = append(rowOf, i)
		in.Lines = append(in.Lines, lineInput(f, i, it, cur, curOK))
	}
	if len(in.Lines) == 0 {
		f.set("items[0].name", "Add at least one line with a description and a price")
	}
	return in, rowOf
}

// lineInput reads one row, recording its problems on the form.
func lineInput(f *invoiceForm, i int, it itemRow, cur money.Currency, curOK bool) invoice.LineInput {
	field := fmt.Sprintf("items[%d]", i)
	l := invoice.LineInput{Description: strings.TrimSpace(it.Name), Type: it.Type}
	if l.Description == "" {
		f.set(field+".name", "Describe what the line is for")
	} else if len(l.Description) > 500 {
		f.set(field+".name", "A description has at most 500 characters")
	}
	q, err := strconv.ParseInt(strings.TrimSpace(it.Quantity), 10, 64)
	if err != nil || q < 1 || q > 1_000_000 {
		f.set(field+".quantity", "Enter a whole number from 1 to 1000000")
	}
	l.Quantity = q
	if curOK {
		price, err := money.ParseDecimal(strings.TrimSpace(it.UnitPrice), cur)
		switch {
		case err != nil:
			f.set(field+".unitPrice", fmt.Sprintf("Enter a price like 24.99 (at most %d decimal places for %s)", cur.Exponent, cur.Code))
		case price < 0 && it.Type != string(domain.ItemDiscount):
			f.set(field+".unitPrice", "Only a discount line has a negative price")
		}
		l.UnitPrice = price
	}
	if s := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(it.VATRate), "%")); s != "" {
		if !percentRE.MatchString(s) {
			f.set(field+".vatRate", "Enter a percentage like 19 or 7.5, or leave it empty")
		} else if rate, err := money.ParseDecimal(s, money.Currency{Exponent: 2}); err == nil && rate <= 10000 {
			l.VATRate = &rate
		} else {
			f.set(field+".vatRate", "A VAT rate is at most 100 %")
		}
	}
	return l
}

// invoiceClient completes the typed client block from the chosen client: fields left empty
// take the client's details. A client of the other mode, or none of the organisation's, is an
// error on the choice.
func (p *Panel) invoiceClient(ctx context.Context, r *request, f *invoiceForm) {
	if f.ClientID == "" {
		if f.Client == (domain.Party{}) {
			f.set("client.name", "Choose a client, or enter the client's name, company or e-mail address")
		}
		return
	}
	if p.d.Client == nil {
		f.set("clientId", "Clients cannot be read here: enter the client's details instead")
		return
	}
	cl, err := p.d.Client.GetClient(ctx, r.Actor, r.OrgID(), f.ClientID)
	if err != nil {
		f.set("clientId", "Choose one of your clients, or none and enter the client's details")
		return
	}
	if f.Mode != "" && string(cl.Mode) != f.Mode {
		f.set("clientId", "This is a "+string(cl.Mode)+" client: a "+f.Mode+" invoice needs a "+f.Mode+" client")
		return
	}
	c := &f.Client
	fill := func(dst *string, v string) {
		if strings.TrimSpace(*dst) == "" {
			*dst = v
		}
	}
	fill(&c.Name, cl.Name)
	fill(&c.Company, cl.Company)
	fill(&c.Email, cl.Email)
	fill(&c.VATID, cl.VATID)
	if a := cl.BillingAddress; a != nil {
		fill(&c.Line1, a.Address1)
		fill(&c.Line2, a.Address2)
		fill(&c.PostalCode, a.Postcode)
		fill(&c.City, a.City)
		fill(&c.Country, a.Country)
	}
}

// addErrors records a domain error and those it carries on a form (fields renamed by fields).
func addErrors(st *formState, err error, fields map[string]string) {
	got, _, ok := formFailure(err, fields)
	if !ok {
		return
	}
	for _, field := range got.order {
		st.set(field, got.Errors[field])
	}
	if got.Message != "" && !got.auto && st.Message == "" {
		st.Message = got.Message
	}
}

// invoiceFields maps the use case's line fields ("lines[1].unitPrice", counted over the lines
// sent) to the form's rows.
func invoiceFields(rowOf []int) map[string]string {
	m := map[string]string{"lines": "items[0].name", "siteId": "site"}
	for sent, row := range rowOf {
		for col, to := range map[string]string{"description": "name", "quantity": "quantity", "unitPrice": "unitPrice", "vatRate": "vatRate", "type": "type"} {
			m[fmt.Sprintf("lines[%d].%s", sent, col)] = fmt.Sprintf("items[%d].%s", row, to)
		}
	}
	return m
}
