package domain

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// PrefixInvoice and its kin prefix the ids of invoicing objects.
const (
	PrefixInvoice    = "inv"
	PrefixSettlement = "stl"
)

// Codes of the invoices' refusals.
const (
	// CodeInvoiceIssued (409): the invoice is issued; it never changes again.
	CodeInvoiceIssued = "INVOICE_ISSUED"
	// CodeInvoiceNotIssued (409): the action needs an issued invoice (a payment link, a send).
	CodeInvoiceNotIssued = "INVOICE_NOT_ISSUED"
	// CodeInvoiceSettled (409): nothing is outstanding on the invoice.
	CodeInvoiceSettled = "INVOICE_SETTLED"
)

// InvoiceFilter selects an organisation's invoices for a list, newest first.
type InvoiceFilter struct {
	OrganizationID string
	Mode           Mode
	Status         InvoiceStatus
	// ClientID selects one client's invoices (the client page).
	ClientID string
	After    string // the id of the last invoice of the previous page (the next, older page)
	// Before is the id of the first invoice of the next page (the previous, newer page): the
	// store reads the rows just newer than it and returns them newest first as well.
	Before string
	Limit  int
}

// DocumentKind names a numbered accounting document.
type DocumentKind string

// Document kinds, each with its own number sequence.
const (
	DocInvoice    DocumentKind = "invoice"
	DocCreditNote DocumentKind = "credit_note"
)

// NumberPeriod says which year, if any, a document number names and counts in.
type NumberPeriod string

// Number periods.
const (
	PeriodNone     NumberPeriod = "none"     // no year in the number
	PeriodCalendar NumberPeriod = "calendar" // the calendar year: INV-2026-0001
	PeriodFiscal   NumberPeriod = "fiscal"   // the fiscal year from FiscalStartMonth: INV-2026-27-0001
)

// NumberReset says when a sequence starts again at 1.
type NumberReset string

// Reset rules.
const (
	ResetNever  NumberReset = "never"
	ResetYearly NumberReset = "yearly" // at the start of each (fiscal) year
)

// NumberLayout is how an organisation numbers one kind of document.
type NumberLayout struct {
	Prefix string       `json:"prefix"`
	Period NumberPeriod `json:"period"`
	// FiscalStartMonth (1–12) is the month a fiscal year starts in (PeriodFiscal; also the
	// yearly reset's boundary when the period is fiscal).
	FiscalStartMonth int         `json:"fiscalStartMonth"`
	Reset            NumberReset `json:"reset"`
	Padding          int         `json:"padding"` // digits of the counter, zero-padded (1–12)
}

// DefaultNumberLayout is the layout of an organisation that set none: INV-2026-00001, or
// CN-2026-00001 for credit notes, counting on across years.
func DefaultNumberLayout(kind DocumentKind) NumberLayout {
	prefix := "INV-"
	if kind == DocCreditNote {
		prefix = "CN-"
	}
	return NumberLayout{Prefix: prefix, Period: PeriodCalendar, FiscalStartMonth: 1, Reset: ResetNever, Padding: 5}
}

// Validate checks and normalises a layout; field prefixes the reported fields.
func (l *NumberLayout) Validate(field string) error {
	var v invalids
	l.Prefix = strings.TrimSpace(l.Prefix)
	if len(l.Prefix) > 20 || strings.ContainsAny(l.Prefix, "\r\n\t/\\") {
		v.add(field+".prefix", "a prefix has at most 20 characters and no slashes or control characters")
	}
	if l.Period == "" {
		l.Period = PeriodNone
	}
	if l.Period != PeriodNone && l.Period != PeriodCalendar && l.Period != PeriodFiscal {
		v.add(field+".period", "period must be none, calendar or fiscal")
	}
	if l.FiscalStartMonth == 0 {
		l.FiscalStartMonth = 1
	}
	if l.FiscalStartMonth < 1 || l.FiscalStartMonth > 12 {
		v.add(field+".fiscalStartMonth", "fiscalStartMonth is a month, 1 to 12")
	}
	if l.Reset == "" {
		l.Reset = ResetNever
	}
	if l.Reset != ResetNever && l.Reset != ResetYearly {
		v.add(field+".reset", "reset must be never or yearly")
	}
	if l.Padding == 0 {
		l.Padding = 1
	}
	if l.Padding < 1 || l.Padding > 12 {
		v.add(field+".padding", "padding is 1 to 12 digits")
	}
	return v.err()
}

// yearLabel names the (fiscal) year at falls in: "2026", or "2026-27" for a fiscal year that
// does not start in January (labelled by the calendar years it spans).
func (l NumberLayout) yearLabel(at time.Time) string {
	at = at.UTC()
	start := at.Year()
	if l.Period == PeriodFiscal && l.FiscalStartMonth > 1 {
		if int(at.Month()) < l.FiscalStartMonth {
			start--
		}
		return fmt.Sprintf("%d-%02d", start, (start+1)%100)
	}
	return strconv.Itoa(start)
}

// SequencePeriod is the key of the sequence a document issued at at counts in: "" for a
// sequence that never resets, else its (fiscal) year's label.
func (l NumberLayout) SequencePeriod(at time.Time) string {
	if l.Reset != ResetYearly {
		return ""
	}
	return l.yearLabel(at)
}

// Format writes the document number n issued at at in mode m: the prefix, the (fiscal) year
// when the layout names one, and the counter zero-padded. Test-mode numbers start with
// "TEST-" so that a test document never passes for a real one.
func (l NumberLayout) Format(m Mode, at time.Time, n int64) string {
	var b strings.Builder
	if m == ModeTest {
		b.WriteString("TEST-")
	}
	b.WriteString(l.Prefix)
	if l.Period != PeriodNone {
		b.WriteString(l.yearLabel(at))
		b.WriteByte('-')
	}
	fmt.Fprintf(&b, "%0*d", l.Padding, n)
	return b.String()
}

// InvoiceStatus is an invoice's life: a draft until issued, then locked forever.
type InvoiceStatus string

// Invoice statuses.
const (
	InvoiceDraft  InvoiceStatus = "draft"
	InvoiceIssued InvoiceStatus = "issued"
)

// Party is a seller or buyer as printed on an invoice (a snapshot, never updated).
type Party struct {
	Name       string `json:"name,omitempty"`
	Company    string `json:"company,omitempty"`
	Email      string `json:"email,omitempty"`
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	PostalCode string `json:"postalCode,omitempty"`
	Country    string `json:"country,omitempty"`
	VATID      string `json:"vatId,omitempty"`
}

// Validate checks and trims a party's fields; field prefixes the reported fields.
func (p *Party) Validate(field string) error {
	var v invalids
	for _, f := range []struct {
		name string
		val  *string
		max  int
	}{{"name", &p.Name, 200}, {"company", &p.Company, 200}, {"email", &p.Email, 254}, {"line1", &p.Line1, 200},
		{"line2", &p.Line2, 200}, {"city", &p.City, 100}, {"postalCode", &p.PostalCode, 20}, {"country", &p.Country, 2}, {"vatId", &p.VATID, 32}} {
		*f.val = strings.TrimSpace(*f.val)
		if len(*f.val) > f.max || strings.ContainsAny(*f.val, "\r\n") {
			v.add(field+"."+f.name, "%s has at most %d characters on one line", f.name, f.max)
		}
	}
	p.Country = strings.ToUpper(p.Country)
	if p.Country != "" && !IsCountryCode(p.Country) {
		v.add(field+".country", "country must be an ISO 3166 alpha-2 code")
	}
	if p.Email != "" && !strings.Contains(p.Email, "@") {
		v.add(field+".email", "email is not an e-mail address")
	}
	return v.err()
}

// InvoiceLine is one line of an invoice: what the merchant entered, and, once the tax engine
// ran, its amounts.
type InvoiceLine struct {
	Description string   `json:"description"`
	Quantity    int64    `json:"quantity"`
	UnitPrice   int64    `json:"unitPrice"` // minor units, as the organisation prices (gross or net)
	ItemType    ItemType `json:"type"`
	VATRate     *int64   `json:"vatRate,omitempty"` // hundredths of a percent, the merchant's explicit rate
	Net         int64    `json:"net"`
	Tax         int64    `json:"tax"`
	Gross       int64    `json:"gross"`
	Rate        int64    `json:"rate"`
	RateCode    string   `json:"rateCode"`
}

// TaxRateLine sums an invoice's lines that share a rate.
type TaxRateLine struct {
	Rate        int64  `json:"rate"`
	RateCode    string `json:"rateCode"`
	TaxableBase int64  `json:"taxableBase"`
	TaxAmount   int64  `json:"taxAmount"`
}

// InvoiceTax is the tax engine's answer kept with an invoice: the treatment, the breakdown per
// rate and the evidence (the engine's own record, as JSON), frozen at issue.
type InvoiceTax struct {
	Included  bool           `json:"included"`
	Treatment string         `json:"treatment"`
	Breakdown []TaxRateLine  `json:"breakdown"`
	Evidence  map[string]any `json:"evidence,omitempty"`
}

// Invoice is an invoice: a draft, or an issued (numbered, locked) one.
type Invoice struct {
	ID             string `gorm:"primaryKey"`
	OrganizationID string
	SiteID         *string
	Mode           Mode
	Status         InvoiceStatus
	Number         *string
	SequencePeriod string
	SequenceValue  *int64
	Currency       string
	Language       string
	// ClientID names the buyer's client record, when known (no foreign key: see migration 0018).
	ClientID            *string
	Client              Party         `gorm:"serializer:json"`
	Seller              Party         `gorm:"serializer:json"`
	Lines               []InvoiceLine `gorm:"serializer:json"`
	TotalNet            int64
	TotalTax            int64
	TotalGross          int64
	Tax                 InvoiceTax `gorm:"serializer:json"`
	Notes               string
	SourceTransactionID *string
	SourceCheckoutID    *string
	DueAt               *time.Time
	IssuedAt            *time.Time
	CreatedBy           string
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// TableName tells the store which table holds invoices.
func (Invoice) TableName() string { return "invoices" }

// Settlement is a payment that settles (part of) an invoice.
type Settlement struct {
	ID             string `gorm:"primaryKey"`
	OrganizationID string
	InvoiceID      string
	TransactionID  string
	Amount         int64
	CreatedAt      time.Time
}

// TableName tells the store which table holds settlements.
func (Settlement) TableName() string { return "invoice_settlements" }

// InvoicePaymentLink is a checkout created to pay (part of) an invoice.
type InvoicePaymentLink struct {
	CheckoutID     string `gorm:"primaryKey"`
	OrganizationID string
	InvoiceID      string
	Amount         int64
	CreatedAt      time.Time
}

// TableName tells the store which table holds payment links.
func (InvoicePaymentLink) TableName() string { return "invoice_payment_links" }

// InvoiceSettings are an organisation's invoicing settings.
type InvoiceSettings struct {
	OrganizationID     string       `gorm:"primaryKey"`
	Seller             Party        `gorm:"serializer:json"`
	InvoiceLayout      NumberLayout `gorm:"serializer:json"`
	CreditNoteLayout   NumberLayout `gorm:"serializer:json"`
	AutoIssue          bool
	PaymentLinkMinimum int64
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// TableName tells the store which table holds invoicing settings.
func (InvoiceSettings) TableName() string { return "invoice_settings" }

// Layout returns the layout of kind (the default when none was set).
func (s *InvoiceSettings) Layout(kind DocumentKind) NumberLayout {
	l := s.InvoiceLayout
	if kind == DocCreditNote {
		l = s.CreditNoteLayout
	}
	if l == (NumberLayout{}) {
		return DefaultNumberLayout(kind)
	}
	return l
}

// PaymentState is what an issued invoice's money says, computed from its settlements and credit
// notes; it is never stored.
type PaymentState string

// Payment states.
const (
	PaymentOpen              PaymentState = "open"
	PaymentPartiallyPaid     PaymentState = "partially_paid"
	PaymentPaid              PaymentState = "paid"
	PaymentPartiallyCredited PaymentState = "partially_credited"
	PaymentCredited          PaymentState = "credited"
	PaymentPartiallyRefunded PaymentState = "partially_refunded"
	PaymentRefunded          PaymentState = "refunded"
	PaymentOverpaid          PaymentState = "overpaid"
)

// InvoiceBalance is an invoice's money: what was paid, credited (by kind) and is still due.
type InvoiceBalance struct {
	Total       int64        `json:"total"`
	Paid        int64        `json:"paid"`
	Credited    int64        `json:"credited"` // every credit note's gross
	Refunded    int64        `json:"refunded"` // the part of Credited that paid money back
	Outstanding int64        `json:"outstanding"`
	State       PaymentState `json:"state"`
}

// ComputeBalance derives an invoice's balance: credit notes lower what is owed (Total −
// Credited); refund credit notes also gave money back (Paid − Refunded is what the seller
// keeps). Outstanding is what is owed less what is kept; below zero the invoice is overpaid.
func ComputeBalance(total, paid, credited, refunded int64) InvoiceBalance {
	b := InvoiceBalance{Total: total, Paid: paid, Credited: credited, Refunded: refunded}
	owed, kept := total-credited, paid-refunded
	b.Outstanding = owed - kept
	switch {
	case b.Outstanding < 0:
		b.State = PaymentOverpaid
	case credited > 0 && credited >= total:
		b.State = pick(refunded > 0, PaymentRefunded, PaymentCredited)
	case credited > 0:
		b.State = pick(refunded > 0, PaymentPartiallyRefunded, PaymentPartiallyCredited)
	case paid == 0:
		b.State = PaymentOpen
	case paid < total:
		b.State = PaymentPartiallyPaid
	default:
		b.State = PaymentPaid
	}
	return b
}

func pick(cond bool, yes, no PaymentState) PaymentState {
	if cond {
		return yes
	}
	return no
}
