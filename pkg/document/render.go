package document

import (
	"bytes"
	"fmt"
	"strings"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
)

// Page geometry (A4, millimetres).
const (
	margin    = 15.0
	pageWidth = 210.0
	bodyWidth = pageWidth - 2*margin
	lineH     = 5.0
)

// defaultColor brands a document whose site has no (valid) colour.
const defaultColor = "#1f2937"

// renderer is one document being written.
type renderer struct {
	pdf *fpdf.Fpdf
	v   View
	l   *Locale
	rgb [3]int
}

// Render writes the document as PDF. The output depends only on v (the PDF's dates are the
// issue date), so rendering the same view twice gives the same bytes.
func Render(v View) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes("go", "", goregular.TTF)
	pdf.AddUTF8FontFromBytes("go", "B", gobold.TTF)
	r := &renderer{pdf: pdf, v: v, l: LocaleFor(v.Language), rgb: parseColor(v.Branding.Color)}
	pdf.SetMargins(margin, margin, margin)
	pdf.SetAutoPageBreak(true, 20)
	pdf.SetCreationDate(v.IssuedAt.UTC())
	pdf.SetModificationDate(v.IssuedAt.UTC())
	pdf.SetCatalogSort(true)
	pdf.SetLang(r.l.Code)
	pdf.SetTitle(r.title(), true)
	pdf.SetAuthor(firstOf(v.Seller.Company, v.Seller.Name, v.Branding.Name), true)
	pdf.SetCreator("Paygate", false)
	pdf.SetProducer("Paygate", false)
	pdf.AliasNbPages("{nb}")
	pdf.SetFooterFunc(r.footer)
	pdf.AddPage()
	r.header()
	r.parties()
	r.lines()
	r.totals()
	r.taxes()
	r.payment()
	r.legal()
	if err := pdf.Error(); err != nil {
		return nil, fmt.Errorf("render %s %s: %w", v.Kind, v.Number, err)
	}
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("render %s %s: %w", v.Kind, v.Number, err)
	}
	return b.Bytes(), nil
}

func (r *renderer) title() string {
	t := r.l.Title(r.v.Kind)
	if r.v.Number != "" {
		t += " " + r.v.Number
	}
	return t
}

func (r *renderer) font(style string, size float64) { r.pdf.SetFont("go", style, size) }

func (r *renderer) text(gray int) { r.pdf.SetTextColor(gray, gray, gray) }

// header draws the brand band, the title and the document's facts (number, dates).
func (r *renderer) header() {
	p, v, l := r.pdf, r.v, r.l
	p.SetFillColor(r.rgb[0], r.rgb[1], r.rgb[2])
	p.Rect(0, 0, pageWidth, 22, "F")
	p.SetXY(margin, 7)
	r.font("B", 15)
	r.onBrand()
	p.CellFormat(bodyWidth, 8, firstOf(v.Branding.Name, v.Seller.Company, v.Seller.Name), "", 1, "L", false, 0, "")
	p.SetXY(margin, 30)
	r.text(20)
	r.font("B", 20)
	p.CellFormat(bodyWidth/2, 10, strings.ToUpper(l.Title(v.Kind)), "", 0, "L", false, 0, "")
	r.font("", 9.5)
	facts := [][2]string{}
	if v.Number != "" {
		facts = append(facts, [2]string{l.T("number"), v.Number})
	}
	facts = append(facts, [2]string{l.T("issue_date"), l.Date(v.IssuedAt)})
	if v.DueAt != nil {
		facts = append(facts, [2]string{l.T("due_date"), l.Date(*v.DueAt)})
	}
	if v.CreditedInvoice != "" {
		facts = append(facts, [2]string{l.T("credited_invoice"), v.CreditedInvoice})
	}
	y := 30.0
	for _, f := range facts {
		p.SetXY(margin+bodyWidth/2, y)
		r.text(90)
		p.CellFormat(40, lineH, f[0], "", 0, "L", false, 0, "")
		r.text(20)
		p.CellFormat(bodyWidth/2-40, lineH, f[1], "", 0, "R", false, 0, "")
		y += lineH
	}
	p.SetY(max(y, 42) + 2)
	if v.Test {
		r.banner(l.T("test_banner"), 180, 40, 40)
	}
	if v.Kind == ProForma {
		r.banner(l.T("pro_forma_note"), 160, 100, 0)
	}
}

// banner writes a warning line in colour.
func (r *renderer) banner(s string, red, green, blue int) {
	r.font("B", 10)
	r.pdf.SetTextColor(red, green, blue)
	r.pdf.MultiCell(bodyWidth, lineH, s, "", "L", false)
	r.text(20)
	r.pdf.Ln(1)
}

// parties draws the seller's and the client's blocks side by side.
func (r *renderer) parties() {
	p := r.pdf
	p.Ln(3)
	top := p.GetY()
	left := r.party(margin, top, r.l.T("seller"), r.partyLines(r.v.Seller))
	right := r.party(margin+bodyWidth/2, top, r.l.T("client"), r.partyLines(r.v.Client))
	p.SetY(max(left, right) + 6)
}

// party writes one party's block at x, y and returns where it ends.
func (r *renderer) party(x, y float64, heading string, lines []string) float64 {
	p := r.pdf
	w := bodyWidth/2 - 5
	p.SetXY(x, y)
	r.font("B", 8)
	r.text(110)
	p.CellFormat(w, lineH, strings.ToUpper(heading), "", 2, "L", false, 0, "")
	r.text(20)
	for i, s := range lines {
		r.font("", 10)
		if i == 0 {
			r.font("B", 10)
		}
		p.SetX(x)
		p.MultiCell(w, lineH, s, "", "L", false)
	}
	return p.GetY()
}

// onBrand sets the colour of text on the brand colour: white, or near black on a light brand.
func (r *renderer) onBrand() {
	if 299*r.rgb[0]+587*r.rgb[1]+114*r.rgb[2] > 160_000 {
		r.text(20)
		return
	}
	r.pdf.SetTextColor(255, 255, 255)
}
