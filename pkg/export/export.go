// Package export is the CSV export use case: an organisation's checkouts, transactions or
// refunds with a list's filters, streamed a page at a time (keyset pagination, never OFFSET,
// never the whole result in memory) for the Admin Panel and the Admin API.
//
// The files are UTF-8 CSV (RFC 4180: CRLF line ends, fields quoted when they need it), one
// header line, amounts as exact decimals in major units beside a currency column, times in
// RFC 3339 (UTC). A text cell that a spreadsheet would read as a formula (one starting with
// = + - @, a tab or a carriage return) is prefixed with an apostrophe.
package export

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/money"
)

// Store is what exports read: the lists, newest first, Limit+1 rows after a cursor.
type Store interface {
	ListCheckouts(ctx context.Context, f domain.CheckoutFilter) ([]domain.Checkout, error)
	ListTransactions(ctx context.Context, f domain.TransactionFilter) ([]domain.Transaction, error)
	ListRefundsPage(ctx context.Context, f domain.RefundFilter) ([]domain.Refund, error)
}

// DefaultPageSize is how many rows an export reads per query.
const DefaultPageSize = 1000

// Service runs exports.
type Service struct {
	store    Store
	pageSize int
}

// New returns the export use case over st, reading pageSize rows a query (0: DefaultPageSize).
func New(st Store, pageSize int) *Service {
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	return &Service{store: st, pageSize: pageSize}
}

// Kinds of export, as the routes name them.
const (
	Checkouts    = "checkouts"
	Transactions = "transactions"
	Refunds      = "refunds"
)

// admit says whether actor may export resource (of org, in mode m): the organisation's, the
// export:execute permission and resource:read. ok is false when the filter asks for the mode
// an API key never sees (the export is then the header alone).
func admit(actor domain.Actor, org, resource string, m *domain.Mode) (ok bool, err error) {
	if actor.Type != domain.ActorSystem && !actor.PlatformAdmin && actor.OrganizationID != org {
		return false, domain.NotFound("organization")
	}
	if err := auth.Authorize(actor, "export", "execute"); err != nil {
		return false, err
	}
	if err := auth.Authorize(actor, resource, "read"); err != nil {
		return false, err
	}
	if *m != "" && !m.Valid() {
		return false, domain.Invalid("mode", "mode must be test or live")
	}
	switch {
	case actor.Mode == "":
		return true, nil
	case *m == "":
		*m = actor.Mode
	}
	return *m == actor.Mode, nil
}

// stream writes the header, then pages of rows until next says there are no more. After the
// first byte is written an error can only cut the file short: callers abort the response.
func stream(w io.Writer, header []string, next func() ([][]string, bool, error)) (rows int, err error) {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(header); err != nil {
		return 0, err
	}
	for {
		page, more, err := next()
		if err != nil {
			return rows, err
		}
		if err := cw.WriteAll(page); err != nil { // WriteAll flushes
			return rows, err
		}
		rows += len(page)
		if f, ok := w.(interface{ Flush() }); ok {
			f.Flush()
		}
		if !more {
			return rows, nil
		}
	}
}

// Checkouts writes the checkouts f selects (its cursor and limit are the export's own).
func (s *Service) Checkouts(ctx context.Context, actor domain.Actor, f domain.CheckoutFilter, w io.Writer) (int, error) {
	ok, err := admit(actor, f.OrganizationID, "checkout", &f.Mode)
	if err != nil {
		return 0, err
	}
	f.After, f.Before, f.Limit = "", "", s.pageSize
	header := []string{"id", "created_at", "status", "mode", "site_id", "amount", "currency", "email", "buyer_name",
		"external_reference", "invoice_number", "short_code", "session_public_id", "expires_at", "completed_at"}
	return stream(w, header, func() ([][]string, bool, error) {
		if !ok {
			return nil, false, nil
		}
		list, err := s.store.ListCheckouts(ctx, f)
		if err != nil {
			return nil, false, err
		}
		list, more := cut(list, s.pageSize)
		out := make([][]string, 0, len(list))
		for i := range list {
			c := &list[i]
			amount, err := decimal(c.Amount, c.Currency)
			if err != nil {
				return nil, false, err
			}
			name := ""
			if c.BillingAddress != nil {
				name = joinName(c.BillingAddress.FirstName, c.BillingAddress.LastName)
			}
			out = append(out, []string{c.ID, stamp(c.CreatedAt), string(c.Status), string(c.Mode), c.SiteID, amount, c.Currency,
				cell(c.Email), cell(name), cell(c.ExternalReference), cell(c.InvoiceNumber), c.ShortCode, c.SessionPublicID,
				stamp(c.ExpiresAt), stampPtr(c.CompletedAt)})
			f.After = c.ID
		}
		return out, more, nil
	})
}

// Transactions writes the transactions f selects.
func (s *Service) Transactions(ctx context.Context, actor domain.Actor, f domain.TransactionFilter, w io.Writer) (int, error) {
	ok, err := admit(actor, f.OrganizationID, "transaction", &f.Mode)
	if err != nil {
		return 0, err
	}
	f.After, f.Before, f.Limit = "", "", s.pageSize
	header := []string{"id", "created_at", "status", "mode", "checkout_id", "site_id", "provider_id", "provider_type", "currency",
		"net_amount", "tax_amount", "gross_amount", "refunded_amount", "buyer_email", "buyer_name", "buyer_country",
		"payment_reference", "provider_reference", "succeeded_at", "duplicate"}
	return stream(w, header, func() ([][]string, bool, error) {
		if !ok {
			return nil, false, nil
		}
		list, err := s.store.ListTransactions(ctx, f)
		if err != nil {
			return nil, false, err
		}
		list, more := cut(list, s.pageSize)
		out := make([][]string, 0, len(list))
		for i := range list {
			row, err := transactionRow(&list[i])
			if err != nil {
				return nil, false, err
			}
			out = append(out, row)
			f.After = list[i].ID
		}
		return out, more, nil
	})
}

func transactionRow(t *domain.Transaction) ([]string, error) {
	var amounts []string
	for _, a := range []int64{t.NetAmount, t.TaxAmount, t.GrossAmount, t.RefundedAmount} {
		d, err := decimal(a, t.Currency)
		if err != nil {
			return nil, err
		}
		amounts = append(amounts, d)
	}
	b := t.BillingDetails
	return []string{t.ID, stamp(t.CreatedAt), string(t.Status), string(t.Mode), t.CheckoutID, t.SiteID, t.ProviderID,
		string(t.ProviderType), t.Currency, amounts[0], amounts[1], amounts[2], amounts[3], cell(b.Email), cell(b.Name),
		cell(b.Country), cell(deref(t.PaymentReference)), cell(deref(t.ProviderReference)), stampPtr(t.SucceededAt),
		strconv.FormatBool(t.Duplicate)}, nil
}

// Refunds writes the refunds f selects.
func (s *Service) Refunds(ctx context.Context, actor domain.Actor, f domain.RefundFilter, w io.Writer) (int, error) {
	ok, err := admit(actor, f.OrganizationID, "refund", &f.Mode)
	if err != nil {
		return 0, err
	}
	f.After, f.Limit = "", s.pageSize
	header := []string{"id", "created_at", "status", "transaction_id", "amount", "currency", "reason", "manual", "source",
		"provider_reference", "failure_message"}
	return stream(w, header, func() ([][]string, bool, error) {
		if !ok {
			return nil, false, nil
		}
		list, err := s.store.ListRefundsPage(ctx, f)
		if err != nil {
			return nil, false, err
		}
		list, more := cut(list, s.pageSize)
		out := make([][]string, 0, len(list))
		for i := range list {
			r := &list[i]
			amount, err := decimal(r.Amount, r.Currency)
			if err != nil {
				return nil, false, err
			}
			out = append(out, []string{r.ID, stamp(r.CreatedAt), string(r.Status), r.TransactionID, amount, r.Currency,
				cell(r.Reason), strconv.FormatBool(r.Manual), cell(r.Source), cell(deref(r.ProviderReference)), cell(r.FailureMessage)})
			f.After = r.ID
		}
		return out, more, nil
	})
}

// cut keeps a page's rows and says whether the extra row was there (more follow).
func cut[T any](list []T, n int) ([]T, bool) {
	if len(list) > n {
		return list[:n], true
	}
	return list, false
}

// cell makes text safe for spreadsheets: one that would start a formula (= + - @, a tab, a
// carriage return) gets an apostrophe in front (OWASP's CSV injection advice).
func cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// decimal is an amount in major units, exactly ("12.34", "1000" for JPY, "1.500" for KWD).
func decimal(minor int64, code string) (string, error) {
	c, ok := money.Lookup(code)
	if !ok {
		return "", domain.Internal(nil, "unknown currency %q", code)
	}
	return money.FormatDecimal(minor, c), nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func stampPtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return stamp(*t)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func joinName(first, last string) string {
	switch {
	case first == "":
		return last
	case last == "":
		return first
	}
	return fmt.Sprintf("%s %s", first, last)
}
