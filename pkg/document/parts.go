package document

import (
	"strconv"
	"strings"

	"paygate.dev/pkg/domain"
)

// partyLines are a party's printed lines: its name (company first), the person when both are
// set, the address, the country's name, the VAT id and the e-mail address.
func (r *renderer) partyLines(pt domain.Party) []string {
	var out []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	add(firstOf(pt.Company, pt.Name))
	if pt.Company != "" {
		add(pt.Name)
	}
	add(pt.Line1)
	add(pt.Line2)
	add(strings.TrimSpace(pt.PostalCode + " " + pt.City))
	if pt.Country != "" {
		add(r.l.Country(pt.Country))
	}
	if pt.VATID != "" {
		add(r.l.T("vat_id") + ": " + pt.VATID)
	}
	add(pt.Email)
	if len(out) == 0 {
		out = []string{"—"}
	}
	return out
}

// columns of the lines' table: description, quantity, unit price, rate, amount.
var columns = [5]float64{bodyWidth - 15 - 30 - 20 - 35, 15, 30, 20, 35}

// lines draws the lines' table. Amounts are gross when the prices include tax, else net.
func (r *renderer) lines() {
	p, l, v := r.pdf, r.l, r.v
	amount := l.T("amount_net")
	if v.TaxIncluded {
		amount = l.T("amount_gross")
	}
	r.font("B", 9)
	p.SetFillColor(r.rgb[0], r.rgb[1], r.rgb[2])
	r.onBrand()
	heads := []string{l.T("description"), l.T("quantity"), l.T("unit_price"), l.T("vat"), amount}
	for i, h := range heads {
		p.CellFormat(columns[i], 7, h, "", 0, align(i), true, 0, "")
	}
	p.Ln(7)
	r.text(20)
	p.SetDrawColor(220, 220, 220)
	for _, ln := range v.Lines {
		r.font("", 9.5)
		desc := p.SplitText(ln.Description, columns[0]-2)
		h := float64(max(len(desc), 1))*lineH + 2
		if p.GetY()+h > 297-25 {
			p.AddPage()
		}
		y := p.GetY()
		p.SetXY(margin, y+1)
		p.MultiCell(columns[0], lineH, ln.Description, "", "L", false)
		x := margin + columns[0]
		shown := ln.Net
		if v.TaxIncluded {
			shown = ln.Gross
		}
		for i, s := range []string{strconv.FormatInt(ln.Quantity, 10), l.Money(ln.UnitPrice, v.Currency), l.Rate(ln.Rate), l.Money(shown, v.Currency)} {
			p.SetXY(x, y+1)
			p.CellFormat(columns[i+1], lineH, s, "", 0, "R", false, 0, "")
			x += columns[i+1]
		}
		p.Line(margin, y+h, margin+bodyWidth, y+h)
		p.SetY(y + h)
	}
	p.Ln(4)
}

func align(col int) string {
	if col == 0 {
		return "L"
	}
	return "R"
}

// totals draws the totals block on the right: net, tax, total (credited, for a credit note).
func (r *renderer) totals() {
	l, v := r.l, r.v
	total := l.T("total")
	if v.Kind == CreditNote {
		total = l.T("total_credit")
	}
	r.keepTogether(4 * lineH)
	r.sum(l.T("net_total"), l.Money(v.Net, v.Currency), false)
	r.sum(l.T("tax_total"), l.Money(v.Tax, v.Currency), false)
	r.sum(total, l.Money(v.Gross, v.Currency), true)
	r.pdf.Ln(4)
}

// sum writes one label and amount on the right half.
func (r *renderer) sum(label, amount string, bold bool) {
	p := r.pdf
	r.font("", 10)
	if bold {
		r.font("B", 11.5)
	}
	p.SetX(margin + bodyWidth/2)
	p.CellFormat(bodyWidth/2-35, lineH+1, label, "", 0, "L", false, 0, "")
	p.CellFormat(35, lineH+1, amount, "", 1, "R", false, 0, "")
}

// taxes draws the breakdown per rate: rate, taxable amount, tax.
func (r *renderer) taxes() {
	p, l, v := r.pdf, r.l, r.v
	if len(v.Taxes) == 0 {
		return
	}
	r.keepTogether(float64(len(v.Taxes)+1) * lineH)
	w := []float64{30, 40, 40}
	r.font("B", 9)
	r.text(90)
	for i, h := range []string{l.T("vat_rate"), l.T("taxable_base"), l.T("tax_amount")} {
		p.CellFormat(w[i], lineH, h, "B", 0, align(i), false, 0, "")
	}
	p.Ln(lineH)
	r.text(20)
	r.font("", 9.5)
	for _, t := range v.Taxes {
		for i, s := range []string{l.T("vat") + " " + l.Rate(t.Rate), l.Money(t.TaxableBase, v.Currency), l.Money(t.TaxAmount, v.Currency)} {
			p.CellFormat(w[i], lineH, s, "", 0, align(i), false, 0, "")
		}
		p.Ln(lineH)
	}
	p.Ln(4)
}

// payment writes the payment state: the state, what was paid and what is still due.
func (r *renderer) payment() {
	p, l, v := r.pdf, r.l, r.v
	if v.Payment == nil {
		return
	}
	r.keepTogether(3 * lineH)
	r.font("B", 10)
	p.CellFormat(bodyWidth, lineH, l.T("payment_status")+" ("+l.Date(v.IssuedAt)+"): "+l.T("state_"+string(v.Payment.State)), "", 1, "L", false, 0, "")
	r.font("", 9.5)
	line := l.T("paid") + ": " + l.Money(v.Payment.Paid, v.Currency) + "    " + l.T("outstanding") + ": " + l.Money(max(v.Payment.Outstanding, 0), v.Currency)
	p.CellFormat(bodyWidth, lineH, line, "", 1, "L", false, 0, "")
	p.Ln(3)
}

// legal writes the tax treatment's legal note, a credit note's reason and the notes.
func (r *renderer) legal() {
	p, l, v := r.pdf, r.l, r.v
	r.font("", 9.5)
	switch v.Treatment {
	case "reverse_charge", "export", "oss", "exempt", "outside_scope":
		r.font("B", 9.5)
		p.MultiCell(bodyWidth, lineH, l.T("note_"+v.Treatment), "", "L", false)
		p.Ln(2)
	}
	if v.Reason != "" {
		r.font("", 9.5)
		p.MultiCell(bodyWidth, lineH, l.T("reason")+": "+v.Reason, "", "L", false)
		p.Ln(2)
	}
	if strings.TrimSpace(v.Notes) != "" {
		r.font("B", 9)
		p.CellFormat(bodyWidth, lineH, l.T("notes"), "", 1, "L", false, 0, "")
		r.font("", 9.5)
		p.MultiCell(bodyWidth, lineH, v.Notes, "", "L", false)
	}
}

// footer writes the seller's identity and the page number on every page.
func (r *renderer) footer() {
	p, v := r.pdf, r.v
	p.SetY(-15)
	r.font("", 7.5)
	r.text(120)
	var parts []string
	for _, s := range []string{firstOf(v.Seller.Company, v.Seller.Name), v.Seller.Email} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if v.Seller.VATID != "" {
		parts = append(parts, r.l.T("vat_id")+" "+v.Seller.VATID)
	}
	p.CellFormat(bodyWidth*0.75, 4, strings.Join(parts, " · "), "", 0, "L", false, 0, "")
	p.CellFormat(bodyWidth*0.25, 4, r.l.T("page", "n", strconv.Itoa(p.PageNo()), "total", "{nb}"), "", 0, "R", false, 0, "")
}

// keepTogether starts a new page when h millimetres do not fit on this one.
func (r *renderer) keepTogether(h float64) {
	if r.pdf.GetY()+h > 297-25 {
		r.pdf.AddPage()
	}
}

// parseColor reads #rrggbb (or #rgb); the default colour otherwise.
func parseColor(s string) [3]int {
	s = strings.TrimPrefix(strings.TrimSpace(s), "#")
	if len(s) == 3 {
		s = string([]byte{s[0], s[0], s[1], s[1], s[2], s[2]})
	}
	n, err := strconv.ParseUint(s, 16, 32)
	if len(s) != 6 || err != nil {
		return parseColor(defaultColor)
	}
	return [3]int{int(n >> 16 & 0xff), int(n >> 8 & 0xff), int(n & 0xff)}
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
