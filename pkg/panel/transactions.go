package panel

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/money"
	"paygate.dev/pkg/payment"
	"paygate.dev/pkg/tax"
)

type transactionFilters struct {
	Site, Status, Mode, Provider, From, To, Q, Email string
}

type transactionsData struct {
	Filters   transactionFilters
	Sites     []domain.Site
	SiteName  map[string]string
	Providers []domain.Provider
	Statuses  []domain.TransactionStatus
	Rows      []domain.Transaction
	Pager     pageNav
	Error     string
	// Export is the CSV export of the list with its filters ("" without exports).
	Export string
	// RefundsExport is the CSV export of the refunds of the filters refunds have (site,
	// provider, mode, dates: the refunds made then).
	RefundsExport string
}

func (d *transactionsData) alert() string { return d.Error }

var txnStatuses = []domain.TransactionStatus{domain.TxnInitiated, domain.TxnPendingProvider, domain.TxnSucceeded, domain.TxnFailed,
	domain.TxnCanceled, domain.TxnPartiallyRefunded, domain.TxnRefunded, domain.TxnDisputed}

// transactions lists payment attempts, newest first, with filters and cursor pagination.
func (p *Panel) transactions(c echo.Context, r *request) error {
	ctx := c.Request().Context()
	d := &transactionsData{Statuses: txnStatuses, Filters: transactionFilters{Site: c.QueryParam("site"), Status: c.QueryParam("status"),
		Mode: c.QueryParam("mode"), Provider: c.QueryParam("provider"), Q: strings.TrimSpace(c.QueryParam("q")),
		Email: strings.TrimSpace(c.QueryParam("email"))}}
	var err error
	if d.Sites, d.SiteName, err = p.siteNames(c, r); err != nil {
		return err
	}
	if d.Providers, err = p.d.Tenancy.ListProviders(ctx, r.Actor, r.OrgID()); err != nil {
		return err
	}
	f := domain.TransactionFilter{OrganizationID: r.OrgID(), SiteID: d.Filters.Site, ProviderID: d.Filters.Provider,
		Status: domain.TransactionStatus(d.Filters.Status), Mode: domain.Mode(d.Filters.Mode), Search: d.Filters.Q, Email: d.Filters.Email,
		After:  cursor(c, domain.PrefixTransaction),
		Before: cursorParam(c, "before", domain.PrefixTransaction), Limit: pageLimit}
	var ferr, terr error
	f.CreatedFrom, d.Filters.From, ferr = dateParam(c, "from", false)
	f.CreatedTo, d.Filters.To, terr = dateParam(c, "to", true)
	for _, e := range []error{ferr, terr} {
		if e != nil {
			d.Error = capitalize(errMessage(e))
			return p.render(c, r, http.StatusBadRequest, "transactions", "Transactions", "transactions", d)
		}
	}
	rows, more, err := p.d.Payment.ListTransactions(ctx, r.Actor, f)
	if err != nil {
		if domain.ErrorKind(err) == domain.KindInvalid {
			d.Error = capitalize(errMessage(err))
			return p.render(c, r, http.StatusBadRequest, "transactions", "Transactions", "transactions", d)
		}
		return err
	}
	d.Rows = rows
	d.Export = p.exportURL(c, "/transactions/export.csv")
	d.RefundsExport = p.exportURL(c, "/refunds/export.csv", "site", "provider", "mode", "from", "to")
	d.Pager = keysetPagination(c, firstRow(rows, func(i int) string { return rows[i].ID }), lastRow(rows, func(i int) string { return rows[i].ID }), more)
	return p.render(c, r, http.StatusOK, "transactions", "Transactions", "transactions", d)
}

type transactionData struct {
	Txn *domain.Transaction
	// Tax is the treatment and rates of the transaction's tax evidence (zero without one).
	Tax      taxSummary
	Checkout *domain.Checkout
	Provider *domain.Provider
	SiteName string
	Refunds  []domain.Refund
	Events   []domain.Event
	NotificationsView
	// Receipts are the buyer's receipt e-mails (HasReceipts: the server sends receipts).
	HasReceipts bool
	Receipts    []domain.Receipt
	CanMarkPaid bool
	Refundable  int64
	// RefundNote is what the transaction's provider type says on its refund form.
	RefundNote   string
	RefundForm   refundForm
	MarkPaidForm markPaidForm
	// Invoice is the invoice the payment belongs to (issued for it, or paid through one of its
	// payment links), if any.
	Invoice *domain.Invoice
}

type refundForm struct {
	formState
	Amount, Reason string
}

type markPaidForm struct {
	formState
	Note string
}

func (d *transactionData) alert() string {
	if m := d.RefundForm.alert(); m != "" {
		return m
	}
	return d.MarkPaidForm.alert()
}

// taxSummary is the VAT treatment and the rates the transaction was charged at, as the hosted
// page, the IPN and the Admin API's taxEvidence show them.
type taxSummary struct {
	Treatment string
	Rates     []taxRateRow
}

type taxRateRow struct {
	Rate      *int64 // hundredths of a percent
	Code      string
	Base, Tax int64
}

func summarizeTax(t *domain.Transaction) taxSummary {
	var ev tax.Evidence
	raw, err := json.Marshal(t.TaxEvidence)
	if err != nil || len(t.TaxEvidence) == 0 || json.Unmarshal(raw, &ev) != nil {
		return taxSummary{}
	}
	s := taxSummary{Treatment: string(ev.Treatment)}
	for _, r := range ev.Rates {
		rate := int64(r.Rate)
		s.Rates = append(s.Rates, taxRateRow{Rate: &rate, Code: r.RateCode, Base: r.TaxableBase, Tax: r.TaxAmount})
	}
	return s
}

// loadTransaction gathers what the transaction page shows.
func (p *Panel) loadTransaction(c echo.Context, r *request) (*transactionData, error) {
	ctx := c.Request().Context()
	det, err := p.d.Payment.GetTransaction(ctx, r.Actor, r.OrgID(), c.Param("id"))
	if err != nil {
		return nil, err
	}
	t := det.Transaction
	// The platform lists events by transaction event version; refund events carry none, so
	// the timeline orders by time, then by id (ids grow in the order events were written).
	sort.SliceStable(det.Events, func(i, j int) bool {
		a, b := det.Events[i], det.Events[j]
		if !a.OccurredAt.Equal(b.OccurredAt) {
			return a.OccurredAt.Before(b.OccurredAt)
		}
		return a.ID < b.ID
	})
	d := &transactionData{Txn: t, Checkout: det.Checkout, Refunds: det.Refunds, Events: det.Events, Refundable: t.Refundable(), RefundNote: p.refundNote(t.ProviderType),
		CanMarkPaid: t.ProviderType == domain.ProviderWireTransfer && t.Status.Open()}
	d.Tax = summarizeTax(t)
	if prov, err := p.d.Tenancy.GetProvider(ctx, r.Actor, r.OrgID(), t.ProviderID); err == nil {
		d.Provider = prov
	} else if !domain.IsNotFound(err) {
		return nil, err
	}
	if site, err := p.d.Tenancy.GetSite(ctx, r.Actor, r.OrgID(), t.SiteID); err == nil {
		d.SiteName = site.Name
	}
	if p.d.Invoice != nil {
		if d.Invoice, err = p.d.Invoice.ForTransaction(ctx, r.Actor, r.OrgID(), t); err != nil {
			return nil, err
		}
	}
	if p.d.Receipts != nil {
		d.HasReceipts = true
		if d.Receipts, err = p.d.Receipts.List(ctx, r.Actor, r.OrgID(), t.ID); err != nil && domain.ErrorKind(err) != domain.KindForbidden {
			return nil, err
		}
	}
	if d.NotificationsView, err = p.loadNotifications(ctx, r, t.ID); err != nil {
		return nil, err
	}
	return d, nil
}

// transaction shows one transaction: amounts, timeline, tax evidence, raw provider data, IPN
// attempts, and the operator actions the user may take (refund, mark paid, resend IPN).
func (p *Panel) transaction(c echo.Context, r *request) error {
	d, err := p.loadTransaction(c, r)
	if err != nil {
		return err
	}
	return p.render(c, r, http.StatusOK, "transaction", "Transaction "+d.Txn.ID, "transactions", d)
}

// markPaid confirms that a wire transfer arrived (editor and up).
func (p *Panel) markPaid(c echo.Context, r *request) error {
	id := c.Param("id")
	note := strings.TrimSpace(c.FormValue("note"))
	if asksConfirmation(c) {
		if shown, err := p.confirmMarkPaid(c, r); shown || err != nil {
			return err
		}
	}
	if _, err := p.d.Payment.MarkPaid(c.Request().Context(), r.Actor, r.OrgID(), id, note); err != nil {
		st, status, ok := formFailure(err, nil)
		if !ok {
			return err
		}
		d, lerr := p.loadTransaction(c, r)
		if lerr != nil {
			return lerr
		}
		d.MarkPaidForm = markPaidForm{formState: *st, Note: note}
		return p.render(c, r, status, "transaction", "Transaction "+id, "transactions", d)
	}
	return seeOther(c, "/transactions/"+id, "marked-paid")
}

// refund gives back all (empty amount) or part of a paid transaction (editor and up).
func (p *Panel) refund(c echo.Context, r *request) error {
	id := c.Param("id")
	ctx := c.Request().Context()
	rf := refundForm{Amount: strings.TrimSpace(c.FormValue("amount")), Reason: strings.TrimSpace(c.FormValue("reason"))}
	if asksConfirmation(c) {
		return p.confirmRefund(c, r, rf)
	}
	in := payment.RefundInput{Reason: rf.Reason, Source: "dashboard"}
	var err error
	if rf.Amount != "" {
		// The currency is needed to read the amount; reading it also checks the permission.
		det, gerr := p.d.Payment.GetTransaction(ctx, r.Actor, r.OrgID(), id)
		if gerr != nil {
			return gerr
		}
		cur, _ := money.Lookup(det.Transaction.Currency)
		amount, perr := money.ParseDecimal(rf.Amount, cur)
		if perr != nil {
			err = domain.Invalid("amount", "enter an amount like 10.50 (at most %d decimal places), or leave it empty to refund everything", cur.Exponent)
		}
		in.Amount = &amount
	}
	var ref *domain.Refund
	if err == nil {
		ref, err = p.d.Payment.Refund(ctx, r.Actor, r.OrgID(), id, in)
	}
	if err != nil {
		st, status, ok := formFailure(err, nil)
		if !ok {
			if domain.ErrorKind(err) != domain.KindUnavailable {
				return err
			}
			st, status = &formState{Message: capitalize(errMessage(err))}, http.StatusServiceUnavailable
		}
		d, lerr := p.loadTransaction(c, r)
		if lerr != nil {
			return lerr
		}
		if st.Errors["amount"] == "" && st.Message != "" && len(st.Errors) == 0 {
			st.set("amount", st.Message)
			st.Message = "The refund was not made: " + st.Errors["amount"]
		}
		d.RefundForm = refundForm{formState: *st, Amount: rf.Amount, Reason: rf.Reason}
		return p.render(c, r, status, "transaction", "Transaction "+id, "transactions", d)
	}
	notice := "refunded"
	if ref.Status == domain.RefundPending {
		notice = "refund-pending"
	}
	return seeOther(c, "/transactions/"+id, notice)
}

// resendIPN queues the transaction's latest notification again (editor and up).
func (p *Panel) resendIPN(c echo.Context, r *request) error {
	id := c.Param("id")
	if p.d.Notifications == nil {
		return p.errorPage(c, http.StatusNotFound, "No notifications", "Notifications are not available on this server.")
	}
	if err := p.d.Notifications.Resend(c.Request().Context(), r.Actor, r.OrgID(), id); err != nil {
		return err
	}
	return seeOther(c, "/transactions/"+id, "ipn-resent")
}

// refundNote is what a provider type says on the refund form (nothing for most).
func (p *Panel) refundNote(t domain.ProviderType) string {
	k, _ := p.kind(t)
	return k.RefundNote
}
