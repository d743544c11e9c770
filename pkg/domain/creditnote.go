package domain

import (
	"math/bits"
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
	// ClientID selects one client's notes (the client page).
	ClientID string
	Kind     CreditNoteKind
	After    string // the id of the last note of the previous page
	// Before is the id of the first note of the next page towards newer notes (the panel's
	// "previous" link); the page still comes newest first.
	Before string
	Limit  int
}

// CreditAllocation is what a credit of some gross amount takes off each of an invoice's rates.
type CreditAllocation struct {
	Breakdown []TaxRateLine // per rate of the invoice, in its order: TaxableBase is the net
	Net       int64
	Tax       int64
	Gross     int64
}

// AllocateCredit splits a credit of amount (gross, minor units) over the rates of an invoice's
// tax breakdown, when earlier notes credited credited already (their breakdowns, in any
// order). Each rate gets a share of amount in proportion to what is left of it (its gross less
// what earlier notes took off it), by largest remainder, so the shares sum to amount and none
// exceeds what is left; a rate's tax share is what is left of its tax in proportion to its
// gross share (half away from zero). The split is exact: the rates' gross sum to amount, their
// tax and net to the note's; a note that credits everything left takes exactly what is left,
// so the notes of an invoice credited in full add up to its breakdown cent for cent. amount
// must be within 0 < amount ≤ what is left of the invoice.
func AllocateCredit(breakdown, credited []TaxRateLine, amount int64) CreditAllocation {
	if len(breakdown) == 0 {
		// An invoice without tax lines: all of it untaxed.
		breakdown = []TaxRateLine{{RateCode: "none", TaxableBase: amount + sumGross(credited)}}
	}
	type key struct {
		rate int64
		code string
	}
	took := map[key][2]int64{} // gross and tax the earlier notes took off each rate
	for _, c := range credited {
		k := key{c.Rate, c.RateCode}
		took[k] = [2]int64{took[k][0] + c.TaxableBase + c.TaxAmount, took[k][1] + c.TaxAmount}
	}
	left := make([]int64, len(breakdown))
	leftTax := make([]int64, len(breakdown))
	for i, b := range breakdown {
		k := key{b.Rate, b.RateCode}
		g, t := min(took[k][0], b.TaxableBase+b.TaxAmount), min(took[k][1], b.TaxAmount)
		took[k] = [2]int64{took[k][0] - g, took[k][1] - t} // a rate listed twice: the rest is the next entry's
		left[i], leftTax[i] = max(b.TaxableBase+b.TaxAmount-g, 0), b.TaxAmount-t
	}
	shares := LargestRemainder(amount, left)
	if sumOf(left) == 0 {
		shares[0] = amount // nothing left by the breakdown's count (an amount beyond it): untaxed on the first rate
	}
	out := CreditAllocation{Breakdown: make([]TaxRateLine, len(breakdown))}
	for i, b := range breakdown {
		var tax int64
		if left[i] > 0 {
			tax = mulDivRound(leftTax[i], shares[i], left[i])
		}
		out.Breakdown[i] = TaxRateLine{Rate: b.Rate, RateCode: b.RateCode, TaxableBase: shares[i] - tax, TaxAmount: tax}
		out.Net += shares[i] - tax
		out.Tax += tax
	}
	out.Gross = out.Net + out.Tax
	return out
}

func sumGross(b []TaxRateLine) int64 {
	var s int64
	for _, l := range b {
		s += l.TaxableBase + l.TaxAmount
	}
	return s
}

func sumOf(v []int64) int64 {
	var s int64
	for _, x := range v {
		s += x
	}
	return s
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

// mulDiv returns the floor of a·b/c and its remainder, for a, b ≥ 0, c > 0 and a ≤ c or b ≤ c
// (a part of a whole: the quotient fits), exact for any int64 amounts (a 128-bit product).
func mulDiv(a, b, c int64) (q, r int64) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	uq, ur := bits.Div64(hi, lo, uint64(c))
	return int64(uq), int64(ur)
}

// mulDivRound returns a·b/c rounded half away from zero, for b ≥ 0, c > 0, b ≤ c.
func mulDivRound(a, b, c int64) int64 {
	neg := a < 0
	if neg {
		a = -a
	}
	q, r := mulDiv(a, b, c)
	if 2*r >= c {
		q++
	}
	if neg {
		return -q
	}
	return q
}
