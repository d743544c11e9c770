package invoice

import (
	"context"
	"strings"
	"time"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/tax"
)

// computeTax runs the checkouts' tax engine over an invoice's lines for its buyer at instant
// at, and writes the lines' amounts, the totals and the tax snapshot (treatment, breakdown per
// rate, the engine's evidence) on inv. The buyer's VAT id counts as format-checked.
func computeTax(ctx context.Context, org *domain.Organization, inv *domain.Invoice, at time.Time) error {
	lines := make([]tax.Line, len(inv.Lines))
	for i, l := range inv.Lines {
		lines[i] = tax.Line{Type: tax.SupplyType(l.ItemType), Quantity: l.Quantity, UnitPrice: l.UnitPrice}
		if l.VATRate != nil {
			r := tax.Rate(*l.VATRate)
			lines[i].Rate = &r
		}
	}
	buyer := tax.Buyer{VATIDStatus: tax.VATIDNone}
	if inv.Client.Country != "" {
		buyer.BillingCountry, buyer.BillingSource = inv.Client.Country, "invoice_client"
	}
	if inv.Client.VATID != "" {
		id, status, _, err := tax.VerifyVATID(ctx, nil, inv.Client.VATID)
		if err != nil {
			return domain.Invalid("client.vatId", "the VAT id cannot be checked: %v", err)
		}
		buyer.VATID, buyer.VATIDStatus = id, status
	}
	res, err := tax.Compute(tax.Input{
		Settings: tax.Settings{SellerCountry: org.SellerCountry, PricesIncludeTax: org.PricesIncludeTax, OSSRegistered: org.OSSRegistered},
		Currency: inv.Currency, Lines: lines, Buyer: buyer, At: at,
	})
	if err != nil {
		return domain.Invalid("lines", "cannot compute tax: %s", strings.TrimPrefix(err.Error(), "tax: invalid input: "))
	}
	applyTax(inv, res)
	return nil
}

// applyTax writes a tax result on an invoice whose lines are the result's input lines.
func applyTax(inv *domain.Invoice, res tax.Result) {
	for i := range inv.Lines {
		if i >= len(res.Lines) {
			break
		}
		lr := res.Lines[i]
		inv.Lines[i].Net, inv.Lines[i].Tax, inv.Lines[i].Gross = lr.Net, lr.Tax, lr.Gross
		inv.Lines[i].Rate, inv.Lines[i].RateCode = int64(lr.Rate), lr.RateCode
	}
	inv.TotalNet, inv.TotalTax, inv.TotalGross = res.TotalNet, res.TotalTax, res.TotalGross
	inv.Tax = domain.InvoiceTax{Included: res.TaxIncluded, Treatment: string(res.Treatment), Breakdown: breakdown(res.Breakdown)}
	if ev, err := toMap(res.Evidence); err == nil {
		inv.Tax.Evidence = ev
	}
}

func breakdown(b []tax.BreakdownEntry) []domain.TaxRateLine {
	out := make([]domain.TaxRateLine, len(b))
	for i, e := range b {
		out[i] = domain.TaxRateLine{Rate: int64(e.Rate), RateCode: e.RateCode, TaxableBase: e.TaxableBase, TaxAmount: e.TaxAmount}
	}
	return out
}
