package hostedpage

import (
	"bytes"
	"fmt"
	"html/template"
	"strconv"
	"sync"
)

// The payment page is the hot path of the service: every buyer's view of a checkout renders it.
// Executing it through html/template cost about 1,000 allocations a page (each action is a call
// through reflect, each escaper another), so it is written here instead:
//
//   - the layout around the page (head, brand bar, test-mode banner, footer with the language
//     picker) depends only on the locale, the site's branding and two flags; it is rendered by
//     html/template from templates/layout.html once per such key and kept as three pieces of
//     bytes (layoutCache), with slots for the content and the picker's hidden inputs;
//   - the content (templates/checkout.html) is written by writeCheckout with the locale's
//     messages escaped once at start-up (Locale.E) and every value escaped as html/template
//     escapes it in that context (escape.go).
//
// templates/checkout.html stays the page's reference: TestFastRenderMatchesTemplate renders a
// range of checkouts both ways and requires the same bytes, so a change to one without the
// other fails. The other pages (expired, paid, not found…) are rare and still go through
// html/template.

// Slots in the layout's cached rendering, where the content and the picker's inputs go. NUL
// bytes never appear in the layout's own output (html/template escapes NUL in values).
const (
	contentSlot = "\x00paygate:content\x00"
	keepSlot    = "\x00paygate:keep\x00"
)

// ContentSlot is what the layout-only template renders as the content: the slot marker.
func (p page) ContentSlot() template.HTML { return contentSlot }

// KeepHTML renders the language picker's hidden inputs: the address's other parameters.
func (p page) KeepHTML() template.HTML {
	if p.slots {
		return keepSlot
	}
	var b bytes.Buffer
	writeKeep(&b, p.Keep)
	return template.HTML(b.String()) //nolint:gosec // every value is escaped
}

func writeKeep(b *bytes.Buffer, keep []queryParam) {
	for _, q := range keep {
		b.WriteString("\n<input type=\"hidden\" name=\"")
		writeEscaped(b, q.Name)
		b.WriteString("\" value=\"")
		writeEscaped(b, q.Value)
		b.WriteString("\">")
	}
}

// layoutKey is everything the cached layout depends on besides the server's own settings
// (assets, backend): the locale, the site's branding as the runtime API sent it for this very
// request (so a branding change shows on the next page view), the test-mode banner, the
// footer's card note, and the site's frame ancestors (the cached policy header).
type layoutKey struct {
	lang, name, logo, theme, support, ancestors string
	test, cardNote                              bool
}

// layoutPieces are the layout rendered for one key, split at the slots, and what else depends
// on the key alone: texts of the content that name the site, and the page's policy header.
type layoutPieces struct {
	head, mid, tail []byte
	heading         string // escaped "heading" with the site's name
	cardIntro       string
	gcPending       string
	returnTo        string
	cancelReturn    string
	csp             string
	xfoDeny         bool
}

// maxLayouts bounds the cache: past it, the cache starts again empty (one key per site,
// language and mode in use, so this is only reached by a great many sites).
const maxLayouts = 10000

type layoutCache struct {
	mu sync.RWMutex
	m  map[layoutKey]*layoutPieces
}

// layoutFor returns the cached pieces for the page, rendering them on first use.
func (s *Server) layoutFor(p *checkoutPage, ancestors string) (*layoutPieces, error) {
	k := layoutKey{lang: p.Lang, name: p.Site.Name, logo: p.Site.LogoURL, theme: p.ThemeURL, support: p.Site.SupportEmail,
		ancestors: ancestors, test: p.TestMode, cardNote: p.CardNote}
	s.layouts.mu.RLock()
	lp := s.layouts.m[k]
	s.layouts.mu.RUnlock()
	if lp != nil {
		return lp, nil
	}
	lp, err := s.buildLayout(p, ancestors)
	if err != nil {
		return nil, err
	}
	s.layouts.mu.Lock()
	if s.layouts.m == nil || len(s.layouts.m) >= maxLayouts {
		s.layouts.m = map[layoutKey]*layoutPieces{}
	}
	s.layouts.m[k] = lp
	s.layouts.mu.Unlock()
	return lp, nil
}

// buildLayout renders the layout for the page's key through html/template.
func (s *Server) buildLayout(p *checkoutPage, ancestors string) (*layoutPieces, error) {
	base := p.page
	base.Keep, base.slots = nil, true
	var b bytes.Buffer
	if err := s.layout.ExecuteTemplate(&b, "layout", base); err != nil {
		return nil, err
	}
	out := b.Bytes()
	head, rest, ok1 := bytes.Cut(out, []byte(contentSlot))
	mid, tail, ok2 := bytes.Cut(rest, []byte(keepSlot))
	if !ok1 || !ok2 || bytes.IndexByte(tail, 0) >= 0 || bytes.IndexByte(head, 0) >= 0 {
		return nil, fmt.Errorf("layout: the content and keep slots must each appear once")
	}
	l, site := p.L, p.Site.Name
	lp := &layoutPieces{head: head, mid: mid, tail: tail,
		heading:      escapeHTML(l.T("heading", "site", site)),
		cardIntro:    escapeHTML(l.T("card_intro", "site", site)),
		gcPending:    escapeHTML(l.T("gc_pending_text", "site", site)),
		returnTo:     escapeHTML(l.T("return_to_merchant", "site", site)),
		cancelReturn: escapeHTML(l.T("cancel_return", "site", site)),
	}
	csp := s.cspFor(ancestors, p.CardNote)
	lp.csp, lp.xfoDeny = csp.String(), len(csp.FrameAncestors) == 0
	return lp, nil
}

// writeCheckout writes the payment page: the cached layout around the content.
func (s *Server) writeCheckout(b *bytes.Buffer, p *checkoutPage, lp *layoutPieces) {
	b.Write(lp.head)
	p.writeContent(b, lp)
	b.Write(lp.mid)
	writeKeep(b, p.Keep)
	b.Write(lp.tail)
}

// ew writes raw strings and escaped values into a buffer.
type ew struct{ *bytes.Buffer }

// s writes raw markup.
func (w ew) s(parts ...string) {
	for _, p := range parts {
		w.WriteString(p)
	}
}

// e writes a value escaped.
func (w ew) e(v string) { writeEscaped(w.Buffer, v) }

// when writes markup when cond holds.
func (w ew) when(cond bool, markup string) {
	if cond {
		w.WriteString(markup)
	}
}

// writeContent writes templates/checkout.html's "content".
func (p *checkoutPage) writeContent(b *bytes.Buffer, lp *layoutPieces) {
	w := ew{b}
	p.writeRoot(w)
	w.s("\n>\n<script type=\"application/json\" id=\"pg-i18n\">", string(p.ScriptMessages()), "</script>\n<h1>", lp.heading, "</h1>")
	l := p.L
	if p.Reference != "" {
		w.s("\n<p class=\"ref\">", l.E("order_reference"), ": <span class=\"mono\">")
		w.e(p.Reference)
		w.s("</span></p>")
	}
	p.writeSummary(w)
	p.writeForm(w, lp)
	p.writeWire(w)
	p.writeSteps(w, lp)
	if p.CancelURL != "" {
		w.s("\n<p class=\"cancel\" id=\"cancel\"><a href=\"")
		writeURLAttr(b, p.CancelURL)
		w.s("\">", lp.cancelReturn, "</a></p>")
	}
	w.s("\n</div>\n</div>\n<div id=\"live\" class=\"sr-only\" role=\"status\" aria-live=\"polite\" aria-atomic=\"true\"></div>\n</div>")
}

// writeRoot writes the page's root element's opening tag, without its closing bracket.
func (p *checkoutPage) writeRoot(w ew) {
	attr := func(name, v string) {
		w.s(" ", name, "=\"")
		w.e(v)
		w.s("\"")
	}
	w.s("<div id=\"checkout\" class=\"checkout\"")
	attr("data-backend", p.BackendURL)
	attr("data-code", p.Code)
	attr("data-session", p.SessionPublicID)
	attr("data-locale", p.Lang)
	attr("data-currency", p.Currency)
	attr("data-exponent", strconv.Itoa(p.Exponent))
	attr("data-display", p.Display)
	attr("data-site", p.Site.Name)
	if t := p.Txn; t != nil {
		attr("data-txn", t.ID)
		attr("data-txn-status", t.Status)
		w.when(t.Marked, ` data-txn-marked="true"`)
	}
	if c := p.Card; c != nil {
		attr("data-stripe-js", c.StripeJS)
		attr("data-stripe-flow", c.Flow)
		attr("data-brand", c.Color)
	}
	if g := p.GoCardless; g != nil {
		attr("data-gc-flow", g.Flow)
	}
	if r := p.Return; r != nil {
		attr("data-return-txn", r.TxnID)
		if r.Status != "" {
			attr("data-return-status", r.Status)
		}
		w.when(r.Verified, ` data-return-verified="true"`)
		if r.GoCardless != "" {
			attr("data-gc-return", r.GoCardless)
		}
	}
}

// writeSummary writes the order summary: the lines, the totals and the expiry.
func (p *checkoutPage) writeSummary(w ew) {
	l, t := p.L, &p.Totals
	w.s("\n\n<div class=\"cols\">\n<details class=\"summary\" id=\"summary\">\n<summary class=\"summary-bar\"><h2 id=\"summary-h\">", l.E("order_summary"),
		"</h2><span class=\"bar-total\"><span class=\"sr-only\">", l.E("total"), ": </span><span data-total=\"gross\">")
	w.e(t.Gross)
	w.s("</span></span></summary>\n<div class=\"summary-body\">\n<table class=\"items\">\n<thead><tr><th scope=\"col\">", l.E("item"),
		"</th><th scope=\"col\" class=\"num\">", l.E("quantity"), "</th><th scope=\"col\" class=\"num\">", l.E("amount"), "</th></tr></thead>\n<tbody>\n")
	p.writeItems(w.Buffer)
	w.s("\n</tbody>\n</table>\n<dl class=\"totals\" id=\"totals\">")
	lines := func() {
		for _, tl := range t.Lines {
			w.s("\n<div data-taxline><dt>")
			w.e(tl.Label)
			w.s("</dt><dd>")
			w.e(tl.Amount)
			w.s("</dd></div>")
		}
	}
	if !p.Inclusive {
		w.s("\n<div><dt>", l.E("subtotal"), "</dt><dd data-total=\"net\">")
		w.e(t.Net)
		w.s("</dd></div>")
		lines()
	}
	w.s("\n<div class=\"grand\" data-grand><dt>", l.E("total"), "</dt><dd data-total=\"gross\">")
	w.e(t.Gross)
	w.s("</dd></div>")
	if p.Inclusive {
		lines()
	}
	w.s("\n</dl>\n<p id=\"tax-hint\" class=\"hint\"")
	w.when(t.Hint == "", " hidden")
	w.s(">")
	w.e(t.Hint)
	w.s("</p>")
	if p.Expires != "" {
		exp := l.Around("expires", "date")
		w.s("\n<p class=\"small\">")
		w.e(exp[0])
		w.s("<time datetime=\"")
		w.e(p.ExpiresISO)
		w.s("\">")
		w.e(p.Expires)
		w.s("</time>")
		w.e(exp[1])
		w.s("</p>")
	}
	w.s("\n</div>\n</details>\n\n<div class=\"flow\">\n\n<div id=\"error-summary\" class=\"error-summary\" role=\"alert\" tabindex=\"-1\" hidden>\n<h2>",
		l.E("errors_title"), "</h2>\n<ul></ul>\n</div>\n<p id=\"pay-error\" class=\"pay-error\" role=\"alert\" tabindex=\"-1\" hidden></p>\n\n<noscript><p class=\"notice\">",
		l.E("noscript"), "</p></noscript>\n\n")
}

// writeForm writes the payment form: methods, billing details and the pay button.
func (p *checkoutPage) writeForm(w ew, lp *layoutPieces) {
	l := p.L
	w.s("<form id=\"pay-form\" class=\"pay\" method=\"post\" novalidate")
	w.when(p.FormHidden(), " hidden")
	w.s(">")
	if p.GoCardless != nil {
		w.s("\n<p id=\"gc-left\" class=\"notice\" tabindex=\"-1\" hidden>", l.E("gc_left"), "</p>")
	}
	if len(p.Providers) > 0 {
		w.s("\n<fieldset class=\"providers\">\n<legend>", l.E("payment_method"), "</legend>\n")
		p.writeProviders(w.Buffer)
		w.s("\n")
		if p.CountryRules { // only a page with providers restricted to some countries needs it
			w.s("<p class=\"notice\" id=\"no-provider-country\"")
			w.when(!p.NoneForCountry, " hidden")
			w.s(">", l.E("no_providers_country"))
			p.writeBackLink(w, lp)
			w.s("</p>\n")
		}
		w.s("<p class=\"field-error\" id=\"err-providerId\" hidden></p>\n</fieldset>")
	} else {
		w.s("\n<p class=\"notice\" id=\"no-providers\">", l.E("no_providers"))
		p.writeBackLink(w, lp)
		w.s("</p>")
	}
	w.s("\n\n<fieldset class=\"billing\">\n<legend>", l.E("billing_details"), "</legend>\n")
	p.writeFields(w.Buffer)
	w.s("\n</fieldset>")
	if len(p.Providers) > 0 {
		w.s("\n<button type=\"submit\" class=\"pay-btn\" id=\"pay-btn\">")
		for _, pl := range p.PayLabels {
			w.s("<span class=\"pay-lbl\" data-for=\"")
			w.e(pl.For)
			w.s("\">")
			w.e(pl.Around[0])
			if pl.Amount {
				w.s("<span data-total=\"gross\">")
				w.e(p.Totals.Gross)
				w.s("</span>")
			}
			w.e(pl.Around[1])
			w.s("</span>")
		}
		w.s("</button>")
	}
	w.s("\n</form>\n\n")
}

// writeWire writes the bank transfer's instructions (hidden until a transfer is chosen).
func (p *checkoutPage) writeWire(w ew) {
	l, wi := p.L, p.Wire
	if wi == nil {
		wi = &wireView{}
	}
	w.s("<section id=\"wire\" class=\"panel\" aria-labelledby=\"wire-h\"")
	w.when(p.Wire == nil, " hidden")
	w.s(">\n<h2 id=\"wire-h\" tabindex=\"-1\">", l.E("wire_title"), "</h2>\n<p>", l.E("wire_intro"), "</p>\n<dl class=\"wire-details\">\n<div><dt>",
		l.E("wire_amount"), "</dt><dd class=\"big\" data-wire=\"amount\">")
	w.e(wi.Amount)
	w.s("</dd></div>\n<div><dt>", l.E("wire_reference"), "</dt><dd><code class=\"mono big\" id=\"wire-reference\" data-wire=\"reference\">")
	w.e(wi.Reference)
	w.s("</code> ")
	p.writeCopy(w, "wire-reference", "wire_reference")
	w.s("</dd></div>\n<div><dt>", l.E("wire_account_holder"), "</dt><dd data-wire=\"accountHolder\">")
	w.e(wi.AccountHolder)
	w.s("</dd></div>\n<div><dt>", l.E("wire_iban"), "</dt><dd><code class=\"mono\" id=\"wire-iban\" data-wire=\"iban\">")
	w.e(wi.IBAN)
	w.s("</code> ")
	p.writeCopy(w, "wire-iban", "wire_iban")
	w.s("</dd></div>\n<div data-wire-row=\"bic\"")
	w.when(wi.BIC == "", " hidden")
	w.s("><dt>", l.E("wire_bic"), "</dt><dd><code class=\"mono\" data-wire=\"bic\">")
	w.e(wi.BIC)
	w.s("</code></dd></div>\n<div data-wire-row=\"bankName\"")
	w.when(wi.BankName == "", " hidden")
	w.s("><dt>", l.E("wire_bank"), "</dt><dd data-wire=\"bankName\">")
	w.e(wi.BankName)
	w.s("</dd></div>\n</dl>\n<p class=\"instructions\" data-wire=\"instructions\"")
	w.when(wi.Instructions == "", " hidden")
	w.s(">")
	w.e(wi.Instructions)
	w.s("</p>\n<button type=\"button\" id=\"sent-btn\" class=\"pay-btn\"")
	w.when(p.Marked(), " hidden")
	w.s(">", l.E("wire_sent"), "</button>\n<p id=\"wire-waiting\" class=\"notice\" tabindex=\"-1\"")
	w.when(!p.Marked(), " hidden")
	w.s(">", l.E("wire_waiting"), "</p>")
	if p.Switchable() {
		w.s("\n<p><button type=\"button\" class=\"link-btn\" id=\"wire-back\"")
		w.when(p.Marked(), " hidden")
		w.s(">", l.E("change_method"), "</button></p>")
	}
	w.s("\n</section>")
}

// writeCopy writes a copy button and its "copied" note for the element id, labelled by key.
func (p *checkoutPage) writeCopy(w ew, id, key string) {
	l := p.L
	w.s("<button type=\"button\" class=\"copy\" data-copy=\"", id, "\" data-what=\"", l.E(key), "\" aria-label=\"")
	w.e(l.T("copy_label", "what", l.M(key)))
	w.s("\">", l.E("copy"), "</button><span class=\"copied\" data-copied=\"", id, "\" hidden>", l.E("copied_short"), "</span>")
}

// writeSteps writes the card, checking, GoCardless and paid steps.
func (p *checkoutPage) writeSteps(w ew, lp *layoutPieces) {
	l := p.L
	if p.CardUI() {
		pay := l.Around("pay_amount", "amount")
		w.s("\n<section id=\"card\" class=\"panel\" aria-labelledby=\"card-h\" hidden>\n<h2 id=\"card-h\" tabindex=\"-1\">", l.E("card_title"),
			"</h2>\n<p class=\"small\">", lp.cardIntro, "</p>\n<p id=\"card-error\" class=\"field-error\" role=\"alert\" hidden></p>\n",
			"<div id=\"payment-element\" class=\"payment-element\" role=\"group\" aria-labelledby=\"card-h\"></div>\n<button type=\"button\" class=\"pay-btn\" id=\"card-pay-btn\">")
		w.e(pay[0])
		w.s("<span data-card-amount></span>")
		w.e(pay[1])
		w.s("</button>\n<p><button type=\"button\" class=\"link-btn\" id=\"card-back\">", l.E("card_back"),
			"</button></p>\n</section>\n\n<section id=\"checking\" class=\"panel\" aria-labelledby=\"checking-h\"")
		w.when(!p.Checking(), " hidden")
		w.s(">\n<h2 id=\"checking-h\" tabindex=\"-1\">", l.E("checking_title"), "</h2>\n<p>", l.E("checking_text"), "</p>\n</section>")
	}
	if p.GoCardless != nil {
		w.s("\n<section id=\"gc\" class=\"panel\" aria-labelledby=\"gc-h\" hidden>\n<h2 id=\"gc-h\" tabindex=\"-1\">", l.E("gc_pending_title"),
			"</h2>\n<p id=\"gc-text\">", lp.gcPending, "</p>\n<p><a id=\"gc-return-link\" class=\"button\" href=\"#\" hidden>", lp.returnTo, "</a></p>\n</section>")
	}
	w.s("\n\n<section id=\"paid\" class=\"panel\" aria-labelledby=\"paid-h\" hidden>\n<h2 id=\"paid-h\" tabindex=\"-1\">", l.E("paid_title"),
		"</h2>\n<p id=\"paid-msg\"></p>\n<p><a id=\"return-link\" class=\"button\" href=\"#\" hidden>", lp.returnTo, "</a></p>\n</section>")
}

// ItemsHTML renders the summary's lines (for the template; the writer calls writeItems).
func (p *checkoutPage) ItemsHTML() template.HTML {
	var b bytes.Buffer
	p.writeItems(&b)
	return template.HTML(b.String()) //nolint:gosec // every value is escaped
}

func (p *checkoutPage) writeItems(b *bytes.Buffer) {
	w := ew{b}
	var num [20]byte
	for _, it := range p.Items {
		i := strconv.AppendInt(num[:0], int64(it.Index), 10)
		w.s("<tr><th scope=\"row\"><span class=\"name\">")
		w.e(it.Name)
		w.s("</span>")
		if it.Description != "" {
			w.s("<span class=\"desc\">")
			w.e(it.Description)
			w.s("</span>")
		}
		w.s("<span class=\"unit\" data-unit=\"")
		b.Write(i)
		w.s("\" data-qty=\"")
		b.Write(strconv.AppendInt(num[len(i):len(i)], it.Qty, 10))
		w.s("\"")
		w.when(it.Unit == "", " hidden")
		w.s(">")
		w.e(it.Unit)
		w.s("</span></th>\n<td class=\"num\">")
		w.e(it.Quantity)
		w.s("</td><td class=\"num\" data-line=\"")
		b.Write(i)
		w.s("\">")
		w.e(it.Amount)
		w.s("</td></tr>\n")
	}
}

// writeBackLink writes the notices' way back to the shop (checkout.html's {{with .BackURL}}).
func (p *checkoutPage) writeBackLink(w ew, lp *layoutPieces) {
	if p.BackURL == "" {
		return
	}
	w.s(" <a href=\"")
	writeURLAttr(w.Buffer, p.BackURL)
	w.s("\">", lp.returnTo, "</a>")
}

// ProvidersHTML renders the payment methods' radio buttons (for the template).
func (p *checkoutPage) ProvidersHTML() template.HTML {
	var b bytes.Buffer
	p.writeProviders(&b)
	return template.HTML(b.String()) //nolint:gosec // every value is escaped
}

func (p *checkoutPage) writeProviders(b *bytes.Buffer) {
	w := ew{b}
	var num [20]byte
	for _, pr := range p.Providers {
		i := strconv.AppendInt(num[:0], int64(pr.Index), 10)
		w.s("<div class=\"radio\"")
		if pr.Countries != "" {
			w.s(" data-countries=\"")
			w.e(pr.Countries)
			w.s("\"")
		}
		w.when(pr.Hidden, " hidden")
		w.s("><input type=\"radio\" name=\"providerId\" id=\"prov-")
		b.Write(i)
		w.s("\" value=\"")
		w.e(pr.ID)
		w.s("\" data-type=\"")
		w.e(pr.Type)
		w.s("\"")
		w.when(pr.Checked, " checked")
		w.when(pr.Hidden, " disabled")
		w.s("><label for=\"prov-")
		b.Write(i)
		w.s("\">")
		w.e(pr.Name)
		if pr.TypeLabel != "" {
			w.s(" <span class=\"ptype\">")
			w.e(pr.TypeLabel)
			w.s("</span>")
		}
		w.s("</label></div>\n")
	}
}

// FieldsHTML renders the billing form's fields (for the template). Names, types, autocomplete
// tokens and describedby ids are our own constants; every other value is escaped; the country
// select's options were escaped at start-up.
func (p *checkoutPage) FieldsHTML() template.HTML {
	var b bytes.Buffer
	p.writeFields(&b)
	return template.HTML(b.String()) //nolint:gosec // every value above is escaped; the rest are our constants
}

func (p *checkoutPage) writeFields(b *bytes.Buffer) {
	w := ew{b}
	l := p.L
	for _, f := range p.Fields {
		w.s("<div class=\"field\">\n<label for=\"f-", f.Name, "\">")
		w.e(f.Label)
		if !f.Required {
			w.s(` <span class="opt">(`, l.E("optional"), ")</span>")
		}
		w.s("</label>")
		if f.Hint != "" {
			w.s("\n<p class=\"hint\" id=\"hint-", f.Name, "\">")
			w.e(f.Hint)
			w.s("</p>")
		}
		if f.Name == "country" {
			w.s("\n<select id=\"f-country\" name=\"country\" autocomplete=\"country\" required>\n<option value=\"\">", l.E("choose_country"), "</option>\n")
			l.writeCountryOptions(b, p.Country)
			w.s("</select>")
		} else {
			p.writeInput(w, f)
		}
		if f.Name == "vatId" {
			w.s("\n<p class=\"status\" id=\"vat-status\"")
			w.when(p.Totals.VATStatus == "", " hidden")
			w.s(">")
			w.e(p.Totals.VATStatus)
			w.s("</p>")
		}
		w.s("\n<p class=\"field-error\" id=\"err-", f.Name, "\" hidden></p>\n</div>\n")
	}
}

func (p *checkoutPage) writeInput(w ew, f fieldView) {
	w.s("\n<input id=\"f-", f.Name, "\" name=\"", f.Name, "\" type=\"", f.Type, "\" autocomplete=\"", f.Autocomplete, "\" value=\"")
	w.e(f.Value)
	w.s("\"")
	if f.Inputmode != "" {
		w.s(" inputmode=\"", f.Inputmode, "\"")
	}
	w.when(f.Required, " required")
	if f.DescribedBy != "" {
		w.s(" aria-describedby=\"", f.DescribedBy, "\" data-describedby=\"", f.DescribedBy, "\"")
	}
	w.when(f.Name == "vatId", ` spellcheck="false"`)
	w.s(">")
}
