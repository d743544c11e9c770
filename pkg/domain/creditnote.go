package domain

import (
	"sort"
	"time"
)

// PrefixCreditNote prefixes the ids of credit notes.
const PrefixCreditNote = "cn"

// ModedCreditNote is a credit note (it takes its invoice's mode).
const ModedCreditNote ModedKind = "credit note"

// Codes of the credit notes' refusals.
const (
	// CodeCreditExceedsCreditable (422): the amount asked for is more than the invoice still
	// allows to be credited (the message says how much does).
	CodeCreditExceedsCreditable = "CREDIT_EXCEEDS_CREDITABLE"
	// CodeInvoiceFullyCredited (409): nothing of the invoice is left to credit directly (it is
	// credited in full, or what is left was paid: refund the payment instead).
	CodeInvoiceFullyCredited = "INVOICE_FULLY_CREDITED"
)

// CreditNoteKind says why a credit note was issued.
type CreditNoteKind string

// Credit note kinds.
const (
	CreditRefund     CreditNoteKind = "refund"     // a payment of the invoice was (partly) refunded
	CreditChargeback CreditNoteKind = "chargeback" // a payment of the invoice was lost to a dispute
	CreditDirect     CreditNoteKind = "credit"     // the merchant credited (part of) an unpaid invoice
)

// Valid reports whether k is a known kind.
func (k CreditNoteKind) Valid() bool {
	return k == CreditRefund || k == CreditChargeback || k == CreditDirect
}

// GivesMoneyBack reports whether a note of kind k also paid money back to the buyer (a refund
// or a chargeback), rather than only lowering what is owed.
func (k CreditNoteKind) GivesMoneyBack() bool { return k == CreditRefund || k == CreditChargeback }

// CreditNote is an issued credit note: a numbered document (own gapless sequence, the
// credit_note layout) that offsets (part of) an issued invoice, which itself never changes.
// Amounts are positive minor units: what the note takes off the invoice. The lines, the tax
// breakdown per rate and the seller and client blocks are snapshots, frozen at issue.
type CreditNote struct {
	ID             string `gorm:"primaryKey"`
	OrganizationID string
	Mode           Mode
	InvoiceID      string
	InvoiceNumber  string // the credited invoice's number, as printed on the note
	Number         string
	SequencePeriod string
	SequenceValue  int64
	Kind           CreditNoteKind
	Reason         string
	Currency       string
	Language       string
	ClientID       *string
	Client         Party         `gorm:"serializer:json"`
	Seller         Party         `gorm:"serializer:json"`
	Lines          []InvoiceLine `gorm:"serializer:json"`
	TotalNet       int64
	TotalTax       int64
	TotalGross     int64
	// Tax is the credited tax: the invoice's treatment, and the breakdown per rate of what this
	// note credits (no evidence: the invoice keeps it).
	Tax   InvoiceTax `gorm:"serializer:json"`
	Notes string
	// SourceRefundID is the refund a refund note was issued for (one note per refund).
	SourceRefundID *string
	// SourceDisputeID is the provider's id of the dispute a chargeback note was issued for
	// (the transaction's id when the provider gave none).
	SourceDisputeID *string
	// SourceTransactionID is the payment a refund or chargeback note is about.
	SourceTransactionID *string
	IssuedAt            time.Time
	CreatedBy           string
	CreatedAt           time.Time
}

// TableName tells the store which table holds credit notes.
func (CreditNote) TableName() string { return "credit_notes" }

// CreditNoteFilter selects an organisation's credit notes for a list, newest first.
type CreditNoteFilter struct {
	OrganizationID string
	Mode           Mode
	InvoiceID      string
	Kind           CreditNoteKind
	After          string // the id of the last note of the previous page
	Limit          int
}

// CreditAllocation is what a credit of some gross amount takes off each of an invoice's rates.
type CreditAllocation struct {
	Breakdown []TaxRateLine // per rate of the invoice, in its order: TaxableBase is the net
	Net       int64
	Tax       int64
	Gross     int64
}

// AllocateCredit splits a credit of amount (gross, minor units) over the rates of an invoice's
// tax breakdown, in proportion to each rate's gross, when before was credited already (by
// earlier notes). The split is exact: the rates' gross sum to amount, their tax and net to the
// note's; and because the note is the difference between the allocations of the cumulative
// credits (before+amount and before), the notes of an invoice credited in full add up to the
// invoice's breakdown exactly, cent for cent. Gross per rate is allocated by largest
// remainder, the tax of a rate in proportion to its credited gross (half away from zero).
// amount must be within 0 < amount ≤ total − before.
func AllocateCredit(breakdown []TaxRateLine, before, amount int64) CreditAllocation {
	if len(breakdown) == 0 {
		breakdown = []TaxRateLine{{RateCode: "none", TaxableBase: 1}} // an invoice without tax lines: all of it untaxed
	}
	hi, lo := allocateCumulative(breakdown, before+amount), allocateCumulative(breakdown, before)
	out := CreditAllocation{Breakdown: make([]TaxRateLine, len(breakdown))}
	monotonic := true
	for i := range breakdown {
		g, t := hi[i].gross-lo[i].gross, hi[i].tax-lo[i].tax
		if g < 0 || t < 0 {
			monotonic = false
		}
		out.Breakdown[i] = TaxRateLine{Rate: breakdown[i].Rate, RateCode: breakdown[i].RateCode, TaxableBase: g - t, TaxAmount: t}
	}
	if !monotonic {
		// A largest-remainder paradox moved a cent against the credit's direction: allocate
		// this note on its own (still exact for the note; the last note closes any cent).
		one := allocateCumulative(breakdown, amount)
		for i := range breakdown {
			out.Breakdown[i].TaxableBase, out.Breakdown[i].TaxAmount = one[i].gross-one[i].tax, one[i].tax
		}
	}
	for _, b := range out.Breakdown {
		out.Net += b.TaxableBase
		out.Tax += b.TaxAmount
	}
	out.Gross = out.Net + out.Tax
	return out
}

type grossTax struct{ gross, tax int64 }

// allocateCumulative splits a cumulative credit c over the rates: gross by largest remainder
// over the rates' gross (weights below zero count as zero), tax of each rate in proportion.
func allocateCumulative(breakdown []TaxRateLine, c int64) []grossTax {
	weights := make([]int64, len(breakdown))
	var total int64
	for i, b := range breakdown {
		if w := b.TaxableBase + b.TaxAmount; w > 0 {
			weights[i] = w
			total += w
		}
	}
	out := make([]grossTax, len(breakdown))
	if total == 0 {
		if len(out) > 0 {
			out[0].gross = c
		}
		return out
	}
	gross := LargestRemainder(c, weights)
	for i, b := range breakdown {
		out[i].gross = gross[i]
		if w := weights[i]; w > 0 {
			out[i].tax = mulDivRound(b.TaxAmount, gross[i], w)
		}
	}
	return out
}

// LargestRemainder splits amount over weights (each ≥ 0, not all zero) in proportion, exactly:
// each share is the floor of its quota, and the cents left go to the largest remainders (ties
// to the earlier weight). The shares sum to amount.
func LargestRemainder(amount int64, weights []int64) []int64 {
	var total int64
	for _, w := range weights {
		total += w
	}
	shares := make([]int64, len(weights))
	if total == 0 {
		return shares
	}
	type rem struct {
		i int
		r int64
	}
	rems := make([]rem, len(weights))
	var given int64
	for i, w := range weights {
		q, r := mulDiv(amount, w, total)
		shares[i], given = q, given+q
		rems[i] = rem{i, r}
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].r > rems[b].r })
	for k := 0; given < amount; k++ {
		shares[rems[k%len(rems)].i]++
		given++
	}
	return shares
}

// mulDiv returns the floor of a·b/c and its remainder, for a ≥ 0, b ≥ 0, c > 0 small enough
// that a·b fits (minor units of one invoice do, by a wide margin).
func mulDiv(a, b, c int64) (q, r int64) {
	p := a * b
	return p / c, p % c
}

// mulDivRound returns a·b/c rounded half away from zero (c > 0).
func mulDivRound(a, b, c int64) int64 {
	p := a * b
	q, r := p/c, p%c
	if r < 0 {
		r = -r
	}
	if 2*r >= c {
		if p < 0 {
			q--
		} else {
			q++
		}
	}
	return q
}
