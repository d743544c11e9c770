package invoice

import (
	"time"

	"paygate.dev/pkg/domain"
)

// Wire is an invoice as the Admin API renders it (GET /invoices/{id}); the site's invoice
// events carry the same shape as their data (events.go), so a merchant parses one format.
type Wire struct {
	ID                  string                `json:"id"`
	Object              string                `json:"object"`
	Mode                string                `json:"mode"`
	Status              string                `json:"status"`
	Number              *string               `json:"number"`
	SiteID              *string               `json:"siteId"`
	Currency            string                `json:"currency"`
	Language            string                `json:"language"`
	ClientID            *string               `json:"clientId"`
	Client              domain.Party          `json:"client"`
	Seller              domain.Party          `json:"seller"`
	Lines               []domain.InvoiceLine  `json:"lines"`
	Totals              WireTotals            `json:"totals"`
	Tax                 domain.InvoiceTax     `json:"tax"`
	Notes               string                `json:"notes"`
	Payment             domain.InvoiceBalance `json:"payment"`
	Settlements         []WireSettlement      `json:"settlements"`
	CreditNotes         []WireCreditNoteRef   `json:"creditNotes"`
	SourceTransactionID *string               `json:"sourceTransactionId"`
	DueAt               *time.Time            `json:"dueAt"`
	IssuedAt            *time.Time            `json:"issuedAt"`
	CreatedAt           time.Time             `json:"createdAt"`
	UpdatedAt           time.Time             `json:"updatedAt"`
}

// WireTotals are a document's totals (minor units).
type WireTotals struct {
	Net   int64 `json:"net"`
	Tax   int64 `json:"tax"`
	Gross int64 `json:"gross"`
}

// WireSettlement is a payment that settled (part of) an invoice.
type WireSettlement struct {
	TransactionID string    `json:"transactionId"`
	Amount        int64     `json:"amount"`
	CreatedAt     time.Time `json:"createdAt"`
}

// WireCreditNoteRef is a credit note as an invoice lists it.
type WireCreditNoteRef struct {
	ID       string    `json:"id"`
	Number   string    `json:"number"`
	Kind     string    `json:"kind"`
	Gross    int64     `json:"gross"`
	IssuedAt time.Time `json:"issuedAt"`
}

// WireCreditNote is a credit note as the Admin API renders it (GET /credit-notes/{id}).
type WireCreditNote struct {
	ID                  string               `json:"id"`
	Object              string               `json:"object"`
	Mode                string               `json:"mode"`
	Number              string               `json:"number"`
	Kind                string               `json:"kind"`
	Reason              string               `json:"reason"`
	InvoiceID           string               `json:"invoiceId"`
	InvoiceNumber       string               `json:"invoiceNumber"`
	Currency            string               `json:"currency"`
	Language            string               `json:"language"`
	ClientID            *string              `json:"clientId"`
	Client              domain.Party         `json:"client"`
	Seller              domain.Party         `json:"seller"`
	Lines               []domain.InvoiceLine `json:"lines"`
	Totals              WireTotals           `json:"totals"`
	Tax                 domain.InvoiceTax    `json:"tax"`
	Notes               string               `json:"notes"`
	RefundID            *string              `json:"refundId"`
	DisputeID           *string              `json:"disputeId"`
	SourceTransactionID *string              `json:"sourceTransactionId"`
	IssuedAt            time.Time            `json:"issuedAt"`
	CreatedAt           time.Time            `json:"createdAt"`
}

// WireOf renders an invoice with its balance.
func WireOf(v *View) *Wire {
	inv := v.Invoice
	out := &Wire{ID: inv.ID, Object: "invoice", Mode: string(inv.Mode), Status: string(inv.Status), Number: inv.Number, SiteID: inv.SiteID,
		Currency: inv.Currency, Language: inv.Language, ClientID: inv.ClientID, Client: inv.Client, Seller: inv.Seller, Lines: inv.Lines,
		Totals: WireTotals{Net: inv.TotalNet, Tax: inv.TotalTax, Gross: inv.TotalGross}, Tax: inv.Tax, Notes: inv.Notes, Payment: v.Balance,
		Settlements: []WireSettlement{}, SourceTransactionID: inv.SourceTransactionID, DueAt: inv.DueAt, IssuedAt: inv.IssuedAt,
		CreatedAt: inv.CreatedAt, UpdatedAt: inv.UpdatedAt}
	for _, s := range v.Settlements {
		out.Settlements = append(out.Settlements, WireSettlement{TransactionID: s.TransactionID, Amount: s.Amount, CreatedAt: s.CreatedAt})
	}
	out.CreditNotes = WireCreditNoteRefs(v.CreditNotes)
	return out
}

// WireCreditNoteRefs lists credit notes as an invoice does.
func WireCreditNoteRefs(notes []domain.CreditNote) []WireCreditNoteRef {
	out := make([]WireCreditNoteRef, 0, len(notes))
	for _, n := range notes {
		out = append(out, WireCreditNoteRef{ID: n.ID, Number: n.Number, Kind: string(n.Kind), Gross: n.TotalGross, IssuedAt: n.IssuedAt})
	}
	return out
}

// WireCreditNoteOf renders a credit note.
func WireCreditNoteOf(cn *domain.CreditNote) *WireCreditNote {
	return &WireCreditNote{ID: cn.ID, Object: "credit_note", Mode: string(cn.Mode), Number: cn.Number, Kind: string(cn.Kind), Reason: cn.Reason,
		InvoiceID: cn.InvoiceID, InvoiceNumber: cn.InvoiceNumber, Currency: cn.Currency, Language: cn.Language, ClientID: cn.ClientID,
		Client: cn.Client, Seller: cn.Seller, Lines: cn.Lines, Totals: WireTotals{Net: cn.TotalNet, Tax: cn.TotalTax, Gross: cn.TotalGross},
		Tax: cn.Tax, Notes: cn.Notes, RefundID: cn.SourceRefundID, DisputeID: cn.SourceDisputeID, SourceTransactionID: cn.SourceTransactionID,
		IssuedAt: cn.IssuedAt, CreatedAt: cn.CreatedAt}
}
