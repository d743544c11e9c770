package panel

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/money"
)

// The credit note screens: the direct credit of an issued invoice (a form on the invoice's
// page, behind a confirm step), a credit note's page and the list of credit notes (a tab of
// the invoices). Refund and chargeback notes are issued by pkg/invoice's outbox hook; the
// panel only shows them. Every call goes through invoice.Service, which checks the role and
// mode again.

// creditNoteRoutes are the credit note screens' routes (kept apart from invoiceRoutes).
func (p *Panel) creditNoteRoutes() []route {
	get, post := http.MethodGet, http.MethodPost
	return []route{
		{get, "/credit-notes", inOrg, p.creditNotes},
		{get, "/credit-notes/:id", inOrg, p.creditNotePage},
		{post, "/invoices/:id/credit", inOrg, p.invoiceCredit},
	}
}

// creditForm is the credit form of an invoice's page, kept as typed. Its fields are named
// credit.amount and credit.reason: the payment link form on the same page has an amount.
type creditForm struct {
	formState
	Amount, Reason string
}

// creditNotesData is the list of credit notes.
type creditNotesData struct {
	Kind, Mode string
	Rows       []domain.CreditNote
	Pager      pageNav
	Error      string
}

func (d *creditNotesData) alert() string { return d.Error }

// creditNotes lists the organisation's credit notes, newest first, by kind and mode.
func (p *Panel) creditNotes(c echo.Context, r *request) error {
	svc, err := p.invoicing()
	if err != nil {
		return err
	}
	d := &creditNotesData{Kind: c.QueryParam("kind"), Mode: c.QueryParam("mode")}
	f := domain.CreditNoteFilter{Kind: domain.CreditNoteKind(d.Kind), Mode: domain.Mode(d.Mode), After: cursor(c, domain.PrefixCreditNote),
		Before: cursorParam(c, "before", domain.PrefixCreditNote), Limit: pageLimit}
	rows, more, err := svc.ListCreditNotesPage(c.Request().Context(), r.Actor, r.OrgID(), f)
	if err != nil {
		if domain.ErrorKind(err) == domain.KindInvalid {
			d.Error = capitalize(errMessage(err))
			return p.render(c, r, http.StatusBadRequest, "credit_notes", "Credit notes", "invoices", d)
		}
		return err
	}
	d.Rows = rows
	id := func(i int) string { return rows[i].ID }
	d.Pager = keysetPagination(c, firstRow(rows, id), lastRow(rows, id), more)
	return p.render(c, r, http.StatusOK, "credit_notes", "Credit notes", "invoices", d)
}

// creditNoteData is a credit note's page.
type creditNoteData struct {
	Note *domain.CreditNote
	// Invoice is the invoice it offsets, with its balance now (nil when it cannot be read).
	Invoice *invoice.View
}

// creditNotePage shows one credit note.
func (p *Panel) creditNotePage(c echo.Context, r *request) error {
	svc, err := p.invoicing()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	cn, err := svc.GetCreditNote(ctx, r.Actor, r.OrgID(), c.Param("id"))
	if err != nil {
		return err
	}
	d := &creditNoteData{Note: cn}
	if d.Invoice, err = svc.Get(ctx, r.Actor, r.OrgID(), cn.InvoiceID); err != nil && !domain.IsNotFound(err) {
		return err
	}
	return p.render(c, r, http.StatusOK, "credit_note", "Credit note "+cn.Number, "invoices", d)
}

// creditAmount reads the credit form's amount (empty: everything creditable) as minor units,
// or says in words what is wrong with it.
func creditAmount(amount, currency string, creditable int64) (int64, string) {
	if creditable <= 0 {
		return 0, "Nothing of this invoice is left to credit: what was paid is credited by refunding the payment."
	}
	if amount == "" {
		return creditable, ""
	}
	cur, _ := money.Lookup(currency)
	v, err := money.ParseDecimal(amount, cur)
	switch {
	case err != nil || v <= 0:
		return 0, "Enter an amount like 10.50 (at most " + strconv.Itoa(cur.Exponent) + " decimal places), or leave it empty to credit everything creditable."
	case v > creditable:
		return 0, "The amount must be at most " + formatMoney(creditable, currency) + ", what is left to credit (the unpaid part of the invoice)."
	}
	return v, ""
}

// creditReason checks the reason as the use case will ("" when it is fine).
func creditReason(reason string) string {
	if len(reason) > 500 || strings.ContainsAny(reason, "\r\n") {
		return "A reason has at most 500 characters, on one line."
	}
	return ""
}

// invoiceCredit credits (part of) an issued invoice's unpaid part (editor and up): confirm=ask
// renders the confirm step; without it the credit note is issued (one transaction in
// invoice.Service.Credit) and the invoice's page shows it. A wrong amount or reason is shown
// on the invoice's form, in money.
func (p *Panel) invoiceCredit(c echo.Context, r *request) error {
	svc, err := p.invoicing()
	if err != nil {
		return err
	}
	if err := authorize(r, "invoice:update"); err != nil {
		return err
	}
	ctx := c.Request().Context()
	id := c.Param("id")
	d, err := p.loadInvoice(ctx, r, id)
	if err != nil {
		return err
	}
	inv := d.Invoice
	if inv.Status != domain.InvoiceIssued {
		return p.invoiceError(c, "Cannot credit this invoice", domain.Conflict(domain.CodeInvoiceNotIssued, "a draft cannot be credited: edit or delete it instead"))
	}
	v := form(c)
	d.CreditForm = creditForm{Amount: trimmed(v, "credit.amount"), Reason: trimmed(v, "credit.reason")}
	amount, msg := creditAmount(d.CreditForm.Amount, inv.Currency, d.Creditable())
	if msg != "" {
		d.CreditForm.set("credit.amount", msg)
	}
	if m := creditReason(d.CreditForm.Reason); m != "" {
		d.CreditForm.set("credit.reason", m)
	}
	if d.CreditForm.failed() {
		return p.render(c, r, http.StatusUnprocessableEntity, "invoice", invoiceTitle(inv), "invoices", d)
	}
	if asksConfirmation(c) {
		return p.confirmCredit(c, r, d, amount)
	}
	cn, err := svc.Credit(ctx, r.Actor, r.OrgID(), id, invoice.CreditInput{Amount: &amount, Reason: d.CreditForm.Reason})
	if err != nil {
		// Another credit or a payment since the form was shown: say what is left now.
		if domain.ErrorCode(err) == domain.CodeCreditExceedsCreditable || domain.ErrorCode(err) == domain.CodeInvoiceFullyCredited {
			if d, err = p.loadInvoice(ctx, r, id); err != nil {
				return err
			}
			d.CreditForm = creditForm{Amount: trimmed(v, "credit.amount"), Reason: trimmed(v, "credit.reason")}
			_, msg := creditAmount(d.CreditForm.Amount, inv.Currency, d.Creditable())
			if msg == "" {
				msg = "The invoice changed meanwhile: check the amount again."
			}
			d.CreditForm.set("credit.amount", msg)
			return p.render(c, r, http.StatusUnprocessableEntity, "invoice", invoiceTitle(inv), "invoices", d)
		}
		if st, status, ok := formFailure(err, map[string]string{"amount": "credit.amount", "reason": "credit.reason"}); ok && domain.ErrorKind(err) == domain.KindInvalid {
			d.CreditForm.formState = *st
			return p.render(c, r, status, "invoice", invoiceTitle(inv), "invoices", d)
		}
		return p.invoiceError(c, "Cannot credit this invoice", err)
	}
	return c.Redirect(http.StatusSeeOther, "/invoices/"+id+"?notice=credit-note-issued&credit="+cn.ID+"#credit-notes")
}

// confirmCredit is the confirm step of a direct credit: the amount formatted, what is left
// afterwards, and that it is final.
func (p *Panel) confirmCredit(c echo.Context, r *request, d *invoiceData, amount int64) error {
	inv := d.Invoice
	words := formatMoney(amount, inv.Currency)
	lines := []string{"A credit note for " + words + " is issued against invoice " + deref(inv.Number) + " (" + formatMoney(inv.TotalGross, inv.Currency) +
		") of " + partyName(inv.Client) + ", with the next number of the credit note sequence; the tax is credited in proportion to the invoice's rates.",
		"Afterwards " + formatMoney(d.Balance.Outstanding-amount, inv.Currency) + " is outstanding. The invoice itself does not change.",
		"A credit note is final: it cannot be changed or deleted."}
	if d.CreditForm.Reason != "" {
		lines = append(lines, "Reason: “"+d.CreditForm.Reason+"”.")
	}
	return p.confirmStep(c, r, "invoices", confirmation{Heading: "Credit " + words + " of invoice " + deref(inv.Number) + "?", Lines: lines,
		Action: "/invoices/" + inv.ID + "/credit", Fields: []confirmHidden{{"credit.amount", formatDecimal(amount, inv.Currency)}, {"credit.reason", d.CreditForm.Reason}},
		Button: "Yes, credit " + words, Danger: true, Cancel: "/invoices/" + inv.ID})
}
