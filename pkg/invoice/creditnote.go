package invoice

import (
	"context"
	"fmt"
	"strings"

	"paygate.dev/pkg/domain"
)

// EventCreditNoteIssued is the outbox event of a credit note's issue (like invoice.issued: no
// checkout or transaction id of its own; its data names the note and its invoice).
const EventCreditNoteIssued = "credit_note.issued"

// creditRequest is a credit note to issue against a locked, issued invoice.
type creditRequest struct {
	kind     domain.CreditNoteKind
	amount   int64 // gross, minor units, > 0 and within what the invoice leaves creditable
	reason   string
	notes    string
	refundID *string
	dispute  *string
	txnID    *string
	by       string
}

// creditState is what an invoice's credit notes so far leave.
type creditState struct {
	notes    []domain.CreditNote
	credited int64 // every note's gross
	refunded int64 // the part that gave money back (refund and chargeback notes)
}

// creditsOf reads an invoice's credit notes and sums them.
func creditsOf(ctx context.Context, st Store, inv *domain.Invoice) (creditState, error) {
	notes, err := st.ListInvoiceCreditNotes(ctx, inv.OrganizationID, inv.ID)
	if err != nil {
		return creditState{}, err
	}
	c := creditState{notes: notes}
	for _, n := range notes {
		c.credited += n.TotalGross
		if n.Kind.GivesMoneyBack() {
			c.refunded += n.TotalGross
		}
	}
	return c, nil
}

// issueCredit issues a credit note against inv (issued, locked in tx by the caller, which
// checked the amount; c its notes so far), in tx: the credited amount is split over what is
// left of the invoice's rates exactly (domain.AllocateCredit), the seller and client blocks
// are the invoice's, and the number is the next of the organisation's credit note sequence.
// The invoice itself is not touched.
func (s *Service) issueCredit(ctx context.Context, tx Store, inv *domain.Invoice, c creditState, r creditRequest) (*domain.CreditNote, error) {
	set, err := tx.GetInvoiceSettings(ctx, inv.OrganizationID)
	if err != nil {
		return nil, err
	}
	var taken []domain.TaxRateLine
	for _, n := range c.notes {
		taken = append(taken, n.Tax.Breakdown...)
	}
	alloc := domain.AllocateCredit(inv.Tax.Breakdown, taken, r.amount)
	cn := &domain.CreditNote{OrganizationID: inv.OrganizationID, Mode: inv.Mode, InvoiceID: inv.ID, InvoiceNumber: deref(inv.Number),
		Kind: r.kind, Reason: r.reason, Currency: inv.Currency, Language: inv.Language, ClientID: inv.ClientID, Client: inv.Client,
		Seller: inv.Seller, TotalNet: alloc.Net, TotalTax: alloc.Tax, TotalGross: alloc.Gross, Notes: r.notes,
		Tax:            domain.InvoiceTax{Included: inv.Tax.Included, Treatment: inv.Tax.Treatment, Breakdown: nonZero(alloc.Breakdown)},
		SourceRefundID: r.refundID, SourceDisputeID: r.dispute, SourceTransactionID: r.txnID, CreatedBy: r.by}
	if c.credited == 0 && r.amount == inv.TotalGross {
		cn.Lines = append([]domain.InvoiceLine(nil), inv.Lines...) // credited in full: the invoice's own lines
	} else {
		cn.Lines = creditLines(inv, cn.Tax.Breakdown, r.kind)
	}
	d, err := s.allocate(ctx, tx, set, inv.Mode, domain.DocCreditNote)
	if err != nil {
		return nil, err
	}
	cn.Number, cn.SequencePeriod, cn.SequenceValue, cn.IssuedAt = d.number, d.period, d.value, d.at
	if err := tx.CreateCreditNote(ctx, cn); err != nil {
		return nil, err
	}
	// Its PDF, stored once by the job queued here (KindDocument): the bytes never change.
	if err := queueDocument(ctx, tx, cn.OrganizationID, domain.DocCreditNote, cn.ID); err != nil {
		return nil, err
	}
	return cn, creditNoteEvent(ctx, tx, cn)
}

// nonZero leaves out the rates a partial credit takes nothing off.
func nonZero(b []domain.TaxRateLine) []domain.TaxRateLine {
	out := make([]domain.TaxRateLine, 0, len(b))
	for _, l := range b {
		if l.TaxableBase != 0 || l.TaxAmount != 0 {
			out = append(out, l)
		}
	}
	return out
}

// creditLines are the lines of a partial credit: one per rate credited, its amounts the
// rate's share, priced as the invoice is (gross when its prices include tax, else net).
func creditLines(inv *domain.Invoice, b []domain.TaxRateLine, kind domain.CreditNoteKind) []domain.InvoiceLine {
	what := map[domain.CreditNoteKind]string{domain.CreditRefund: "Refund", domain.CreditChargeback: "Chargeback", domain.CreditDirect: "Credit"}[kind]
	out := make([]domain.InvoiceLine, 0, len(b))
	for _, r := range b {
		gross := r.TaxableBase + r.TaxAmount
		price := r.TaxableBase
		if inv.Tax.Included {
			price = gross
		}
		desc := fmt.Sprintf("%s on invoice %s", what, deref(inv.Number))
		if len(b) > 1 || r.Rate != 0 {
			desc += fmt.Sprintf(" (%s%%)", rateText(r.Rate))
		}
		out = append(out, domain.InvoiceLine{Description: desc, Quantity: 1, UnitPrice: price, ItemType: domain.ItemGoods,
			Net: r.TaxableBase, Tax: r.TaxAmount, Gross: gross, Rate: r.Rate, RateCode: r.RateCode})
	}
	return out
}

// rateText writes a rate in hundredths of a percent as a percentage: 1900 → "19", 550 → "5.5".
func rateText(r int64) string {
	s := fmt.Sprintf("%d.%02d", r/100, r%100)
	return strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(s, "0"), "0"), ".")
}

// creditNoteEvent records a credit note's issue in the outbox, in tx.
func creditNoteEvent(ctx context.Context, tx Store, cn *domain.CreditNote) error {
	data := map[string]any{"creditNoteId": cn.ID, "number": cn.Number, "invoiceId": cn.InvoiceID, "invoiceNumber": cn.InvoiceNumber,
		"kind": string(cn.Kind), "mode": string(cn.Mode), "currency": cn.Currency, "totalGross": cn.TotalGross, "totalTax": cn.TotalTax}
	if cn.SourceRefundID != nil {
		data["refundId"] = *cn.SourceRefundID
	}
	if cn.SourceTransactionID != nil {
		data["transactionId"] = *cn.SourceTransactionID
	}
	return tx.AppendEvent(ctx, &domain.Event{OrganizationID: cn.OrganizationID, Type: EventCreditNoteIssued, Status: string(cn.Kind), Data: data})
}

// CreditInput is a direct credit of an issued invoice: Amount (gross, minor units) of its
// unpaid part; nil credits all of it.
type CreditInput struct {
	Amount *int64
	Reason string
	Notes  string
}

// Credit credits (part of) an issued invoice's unpaid part directly (invoice:update), audited,
// in one transaction with the invoice locked (concurrent credits take turns): a draft is
// CONFLICT INVOICE_NOT_ISSUED; an invoice with nothing unpaid left CONFLICT
// INVOICE_FULLY_CREDITED; an amount above the unpaid part UNPROCESSABLE
// CREDIT_EXCEEDS_CREDITABLE. What was paid is credited by refunding the payment instead.
func (s *Service) Credit(ctx context.Context, actor domain.Actor, orgID, invoiceID string, in CreditInput) (*domain.CreditNote, error) {
	if err := allowed(actor, orgID, "update"); err != nil {
		return nil, err
	}
	in.Reason, in.Notes = strings.TrimSpace(in.Reason), strings.TrimSpace(in.Notes)
	if len(in.Reason) > 500 || strings.ContainsAny(in.Reason, "\r\n") {
		return nil, domain.Invalid("reason", "a reason has at most 500 characters on one line")
	}
	if len(in.Notes) > 2000 {
		return nil, domain.Invalid("notes", "notes have at most 2000 characters")
	}
	if in.Amount != nil && *in.Amount < 1 {
		return nil, domain.Invalid("amount", "amount must be a positive integer in minor units")
	}
	var out *domain.CreditNote
	err := s.store.InTx(ctx, func(tx Store) error {
		inv, err := s.lockVisible(ctx, tx, actor, orgID, invoiceID)
		if err != nil {
			return err
		}
		if inv.Status != domain.InvoiceIssued {
			return domain.Conflict(domain.CodeInvoiceNotIssued, "a draft cannot be credited: edit or delete it instead")
		}
		v, err := s.view(ctx, tx, inv)
		if err != nil {
			return err
		}
		c := creditState{notes: v.CreditNotes, credited: v.Balance.Credited, refunded: v.Balance.Refunded}
		left := v.Creditable()
		if left <= 0 {
			return domain.Conflict(domain.CodeInvoiceFullyCredited, "nothing of the invoice is left to credit (credited %d, paid %d of %d): refund a payment instead",
				v.Balance.Credited, v.Balance.Paid, inv.TotalGross)
		}
		amount := left
		if in.Amount != nil {
			amount = *in.Amount
		}
		if amount > left {
			return domain.Unprocessable(domain.CodeCreditExceedsCreditable, "at most %d of the invoice can be credited (total %d, credited %d, paid %d)",
				left, inv.TotalGross, v.Balance.Credited, v.Balance.Paid-v.Balance.Refunded)
		}
		out, err = s.issueCredit(ctx, tx, inv, c, creditRequest{kind: domain.CreditDirect, amount: amount, reason: in.Reason,
			notes: in.Notes, by: actor.ID})
		if err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "credit_note.issue", "invoice", inv.ID, map[string]any{"creditNoteId": out.ID, "number": out.Number,
			"amount": out.TotalGross, "kind": string(out.Kind)})
	})
	return out, err
}

// Creditable is what of an issued invoice can still be credited directly: its unpaid part,
// never more than its credit notes leave of its total (0 for a draft). What was paid is
// credited by refunding the payment instead.
func (v *View) Creditable() int64 {
	if v.Invoice.Status != domain.InvoiceIssued {
		return 0
	}
	return max(min(v.Balance.Outstanding, v.Invoice.TotalGross-v.Balance.Credited), 0)
}

// GetCreditNote returns a credit note (invoice:read); one of another organisation or of a mode
// the actor does not see is NOT_FOUND.
func (s *Service) GetCreditNote(ctx context.Context, actor domain.Actor, orgID, id string) (*domain.CreditNote, error) {
	if err := allowed(actor, orgID, "read"); err != nil {
		return nil, err
	}
	cn, err := s.store.GetCreditNote(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	if !actor.Sees(cn.Mode) {
		return nil, domain.NotFound("credit note")
	}
	return cn, nil
}

// ListCreditNotes returns a page of the organisation's credit notes, newest first, optionally
// of one invoice or kind (invoice:read); an API key sees its own mode's only.
func (s *Service) ListCreditNotes(ctx context.Context, actor domain.Actor, orgID string, f domain.CreditNoteFilter) ([]domain.CreditNote, error) {
	if err := allowed(actor, orgID, "read"); err != nil {
		return nil, err
	}
	if f.Kind != "" && !f.Kind.Valid() {
		return nil, domain.Invalid("kind", "kind must be refund, chargeback or credit")
	}
	f.OrganizationID = orgID
	if actor.Mode != "" {
		if f.Mode != "" && f.Mode != actor.Mode {
			return nil, nil
		}
		f.Mode = actor.Mode
	}
	return s.store.ListCreditNotes(ctx, f)
}
