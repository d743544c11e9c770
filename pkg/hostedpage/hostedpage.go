package hostedpage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/frontend"
	"paygate.dev/pkg/assets"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/runtimeapi"
)

// Options configure the hosted page service.
type Options struct {
	// Runtime calls the main backend's runtime API server to server (its internal URL). Required.
	Runtime *runtimeapi.Client
	// BackendURL is the main backend's public base URL as the buyer's browser reaches it
	// (config Hosts.MainBackendURL()). The page's script calls it, and the CSP's connect-src
	// allows exactly its origin. Required.
	BackendURL string
	// StripeJSURL is where Stripe.js is loaded from (https://js.stripe.com/v3; tests serve a
	// stand-in). Only on pages that offer a Stripe provider does the CSP allow its origin
	// (script-src, frame-src, and connect-src for the API Stripe.js calls), and only when the
	// buyer pays by card does the page load it.
	StripeJSURL string
	// FrameAncestors are origins allowed to embed every page (space or comma separated); a
	// site's own list is added to it. Empty everywhere means frame-ancestors 'none'.
	FrameAncestors string
	// HTTPS says the public site is served over HTTPS: send Strict-Transport-Security and mark
	// cookies Secure. Off in development (plain http://localhost).
	HTTPS bool
	// Log receives warnings about an unreachable runtime API and template failures.
	Log *slog.Logger
	// Files overrides the embedded frontend files (tests); nil means frontend.Hosted().
	Files fs.FS
	// RuntimeTimeout bounds the server-side call for the checkout (default 5s).
	RuntimeTimeout time.Duration
}

// Server renders the hosted checkout pages. Templates, locales and assets are read and checked
// once by New; serving never touches the file system.
type Server struct {
	opts    Options
	log     *slog.Logger
	catalog *Catalog
	assets  *assets.Set
	pages   map[string]*template.Template
	layout  *template.Template // layout.html around a slot, for the payment page's cached layout (render.go)
	layouts layoutCache
	// viaTemplate renders the payment page through templates/checkout.html as well (tests
	// compare it with the writer's output).
	viaTemplate bool
	backendURL  string
	connect     string
	stripe      string
	bufs        sync.Pool
}

// New loads and checks templates, locales and assets. It fails when a file is missing or
// malformed, when locales disagree on their keys, or when BackendURL is not an absolute
// http(s) URL.
func New(o Options) (*Server, error) {
	if o.Runtime == nil {
		return nil, errors.New("hostedpage: Options.Runtime is required")
	}
	if o.Files == nil {
		o.Files = frontend.Hosted()
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.RuntimeTimeout <= 0 {
		o.RuntimeTimeout = 5 * time.Second
	}
	s := &Server{opts: o, log: o.Log}
	if s.connect = origin(o.BackendURL); s.connect == "" {
		return nil, fmt.Errorf("hostedpage: BackendURL must be an absolute http(s) URL, got %q", o.BackendURL)
	}
	s.backendURL = strings.TrimRight(o.BackendURL, "/")
	if o.StripeJSURL != "" {
		if s.stripe = origin(o.StripeJSURL); s.stripe == "" {
			return nil, fmt.Errorf("hostedpage: StripeJSURL must be an absolute http(s) URL, got %q", o.StripeJSURL)
		}
	}
	var err error
	if s.catalog, err = LoadCatalog(o.Files); err != nil {
		return nil, fmt.Errorf("hostedpage: %w", err)
	}
	if s.assets, err = loadAssets(o.Files); err != nil {
		return nil, fmt.Errorf("hostedpage: %w", err)
	}
	if s.pages, err = parseTemplates(o.Files); err != nil {
		return nil, fmt.Errorf("hostedpage: %w", err)
	}
	if s.layout, err = template.New("layout").Option("missingkey=error").ParseFS(o.Files, "templates/layout.html"); err == nil {
		_, err = s.layout.Parse(`{{define "content"}}{{.ContentSlot}}{{end}}`)
	}
	if err != nil {
		return nil, fmt.Errorf("hostedpage: %w", err)
	}
	s.bufs.New = func() any { return new(bytes.Buffer) }
	return s, nil
}

// pageNames are the page templates; each is parsed together with layout.html.
var pageNames = []string{"checkout", "state"}

func parseTemplates(files fs.FS) (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Option("missingkey=error").ParseFS(files, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

// Catalog returns the loaded locales.
func (s *Server) Catalog() *Catalog { return s.catalog }

// AssetURLs returns the hashed URLs of the stylesheet, script and icon.
func (s *Server) AssetURLs() AssetURLs { return urlsOf(s.assets) }

// Register mounts the pages on e:
//
//	GET  /checkout/:code     the hosted page (or the expired, cancelled, paid, 404, 429 and 503 pages)
//	POST /checkout/:code     without JavaScript the form posts here: back to the page (303)
//	GET  /assets/:file       content-hashed CSS, JS and icon, cached for a year
//	GET  /theme/v2/:file     the brand colours as CSS custom properties ({hex}.css), cached for a year
//
// and an HTML 404 page for every other unknown path.
func (s *Server) Register(e *echo.Echo) {
	e.GET("/checkout/:code", s.handleCheckout)
	e.POST("/checkout/:code", s.handleCheckoutPost)
	e.GET("/assets/:file", s.handleAsset)
	e.GET("/theme/v2/:file", s.handleTheme)
	e.RouteNotFound("/*", s.handleNotFound)
}

// shortCodeRE is what a short code can look like; anything else is a 404 without a backend call.
var shortCodeRE = regexp.MustCompile(`^[A-Za-z0-9_-]{4,64}$`)

const langCookie = "paygate_lang"

// sessionPrefix starts a sessionPublicId (domain.PrefixSession), which no short code has.
const sessionPrefix = "cs_"

func (s *Server) handleCheckout(c echo.Context) error {
	req := c.Request()
	in := s.languageInputs(c)
	code := c.Param("code")
	if !shortCodeRE.MatchString(code) || strings.HasPrefix(code, sessionPrefix) {
		// The page is addressed by the short code only: the sessionPublicId travels in IPNs
		// and must not open a page that shows the buyer's details.
		return s.renderState(c, http.StatusNotFound, "notfound", s.basePage(c, s.catalog.Negotiate(in), nil, false), nil)
	}
	ctx, cancel := context.WithTimeout(runtimeapi.WithClientIP(req.Context(), c.RealIP()), s.opts.RuntimeTimeout)
	defer cancel()
	co, err := s.opts.Runtime.GetCheckout(ctx, code, httpapi.RequestID(c))
	if err != nil {
		l := s.catalog.Negotiate(in)
		if runtimeapi.IsNotFound(err) {
			return s.renderState(c, http.StatusNotFound, "notfound", s.basePage(c, l, nil, false), nil)
		}
		if secs, ok := runtimeapi.RateLimited(err); ok {
			// The buyer's address went over the runtime API's limit: an expected answer, not
			// a failure of ours (logged below ERROR), passed on as a 429 that says when to retry.
			s.log.InfoContext(req.Context(), "buyer rate-limited by the runtime API", "retry_after_s", secs)
			c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
			return s.renderState(c, http.StatusTooManyRequests, "ratelimited", s.basePage(c, l, nil, false), nil)
		}
		s.log.WarnContext(req.Context(), "runtime API unavailable", "error", err.Error())
		c.Response().Header().Set("Retry-After", "30")
		return s.renderState(c, http.StatusServiceUnavailable, "unavailable", s.basePage(c, l, nil, false), nil)
	}
	in.Checkout, in.SiteDefault = co.Language, co.Site.DefaultLanguage
	base := s.basePage(c, s.catalog.Negotiate(in), &co.Site, co.Mode == "test")
	paid := co.Transaction != nil && isPaid(co.Transaction.Status)
	ret := returnOf(c, co)
	switch {
	case co.Status == "completed" || (co.Status == "open" && paid):
		if ret != nil && co.Transaction != nil && co.Transaction.TransactionID == ret.TxnID {
			// Back from the provider after paying (a webhook was quicker than the buyer): the
			// page confirms the payment and takes the buyer back to the shop.
			return s.renderCheckout(c, base, co, ret)
		}
		return s.renderState(c, http.StatusOK, "completed", base, co)
	case co.Status == "expired":
		return s.renderState(c, http.StatusGone, "expired", base, co)
	case co.Status == "cancelled" || co.Status == "canceled":
		return s.renderState(c, http.StatusGone, "cancelled", base, co)
	case co.Status == "open":
		return s.renderCheckout(c, base, co, ret)
	}
	s.log.WarnContext(req.Context(), "checkout in an unknown status", "status", co.Status)
	return s.renderState(c, http.StatusServiceUnavailable, "unavailable", base, co)
}

func isPaid(status string) bool {
	return status == "succeeded" || status == "partially_refunded" || status == "disputed"
}

// txnIDRE is what a transaction id in ?transaction= can look like.
var txnIDRE = regexp.MustCompile(`^txn_[A-Za-z0-9]{1,64}$`)

// returnOf is the attempt whose outcome the page checks as soon as it loads: the transaction a
// provider sent the buyer back with (?transaction=, the return URL the Stripe adapter gives
// Stripe; GoCardless's flow adds gocardless=return after authorising, gocardless=exit when the
// buyer left it), or a card or GoCardless payment still processing at the provider. Stripe's redirect_status is passed on
// as a hint that the attempt failed, never as proof of success: only the status API says paid.
//
// Anyone can put any transaction id in a link, and the status API answers for any id: the
// script believes an id from the address only when this browser tab started that attempt,
// when the status API says it is this checkout's, or when the checkout's own latest attempt is
// that one (Verified, set here).
func returnOf(c echo.Context, co *runtimeapi.Checkout) *returnView {
	own := co.Transaction
	if id := c.QueryParam("transaction"); txnIDRE.MatchString(id) {
		r := &returnView{TxnID: id, Verified: own != nil && own.TransactionID == id}
		if c.QueryParam("redirect_status") == "failed" {
			r.Status = "failed"
		}
		if g := c.QueryParam("gocardless"); g == gcReturn || g == gcExit {
			r.GoCardless = g
		}
		return r
	}
	if own != nil && own.Status == "pending_provider" {
		switch own.ProviderType {
		case "stripe":
			return &returnView{TxnID: own.TransactionID, Verified: true}
		case "gocardless":
			return &returnView{TxnID: own.TransactionID, Verified: true, GoCardless: gcPending}
		}
	}
	return nil
}

// stripeReturnParams are what Stripe adds to the return URL; the language links leave them out.
var stripeReturnParams = []string{"payment_intent", "payment_intent_client_secret", "redirect_status", "setup_intent", "setup_intent_client_secret"}

// offersStripe reports whether the page may load Stripe.js: a Stripe provider is offered and
// Stripe.js is configured.
func (s *Server) offersStripe(co *runtimeapi.Checkout) bool {
	return s.stripe != "" && offers(co, "stripe")
}

// offers reports whether the checkout offers a provider of a type.
func offers(co *runtimeapi.Checkout, typ string) bool {
	if co == nil {
		return false
	}
	for _, pr := range co.Providers {
		if pr.Type == typ {
			return true
		}
	}
	return false
}

// countryRE is a country code in ?country=.
var countryRE = regexp.MustCompile(`^[A-Z]{2}$`)

// handleCheckoutPost sends a browser without JavaScript back to the page, which says that
// JavaScript is needed. Only the billing country posted is read: the page it goes back to
// (?country=) offers the payment methods available to that country; nothing is kept.
func (s *Server) handleCheckoutPost(c echo.Context) error {
	q := c.Request().URL.Query()
	if cc := strings.ToUpper(strings.TrimSpace(c.FormValue("country"))); countryRE.MatchString(cc) {
		q.Set("country", cc)
	}
	u := url.URL{Path: "/checkout/" + url.PathEscape(c.Param("code")), RawQuery: q.Encode()}
	s.setBaseHeaders(c.Response().Header())
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusSeeOther, u.String())
}

func (s *Server) handleNotFound(c echo.Context) error {
	return s.renderState(c, http.StatusNotFound, "notfound", s.basePage(c, s.catalog.Negotiate(s.languageInputs(c)), nil, false), nil)
}

// languageInputs reads ?lang= and the remembered choice, and remembers a valid ?lang= for
// later visits (the switcher's links carry ?lang=). The cookie holds "{lang}:{short code}": the
// checkout the buyer chose the language on, so that a choice made on one checkout does not
// overrule the language another merchant set on theirs.
func (s *Server) languageInputs(c echo.Context) LanguageInputs {
	in := LanguageInputs{Query: c.QueryParam("lang"), AcceptLanguage: c.Request().Header.Get("Accept-Language")}
	code := c.Param("code")
	if ck, err := c.Cookie(langCookie); err == nil {
		lang, on, _ := strings.Cut(ck.Value, ":")
		in.Cookie, in.CookieHere = lang, on != "" && on == code
	}
	if l := s.catalog.Locale(in.Query); l != nil && (in.Cookie != l.Code || !in.CookieHere) {
		v := l.Code
		if shortCodeRE.MatchString(code) {
			v += ":" + code
		}
		c.SetCookie(&http.Cookie{Name: langCookie, Value: v, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: s.opts.HTTPS, SameSite: http.SameSiteLaxMode})
	}
	return in
}

// basePage fills what the layout needs.
func (s *Server) basePage(c echo.Context, l *Locale, site *runtimeapi.Site, test bool) page {
	p := page{Lang: l.Code, L: l, Assets: urlsOf(s.assets), TestMode: test}
	theme := ThemeFor("")
	if site != nil {
		theme = ThemeFor(site.PrimaryColor)
		p.Site = siteView{Name: site.Name, LogoURL: safeHTTPSURL(site.LogoURL), SupportEmail: site.SupportEmail}
		if !strings.Contains(p.Site.SupportEmail, "@") {
			p.Site.SupportEmail = ""
		}
	}
	p.ThemeURL = "/theme/v2/" + theme.Brand[1:] + ".css"
	if raw := c.Request().URL.RawQuery; raw != "" && raw != "lang="+l.Code {
		p.Keep = keptParams(c.Request().URL.Query())
	}
	return p
}

// keptParams are the address's parameters the language picker (a GET form) sends again: all
// but lang itself and what Stripe added to its return URL, in a stable order.
func keptParams(q url.Values) []queryParam {
	var out []queryParam
	for _, k := range stripeReturnParams {
		q.Del(k)
	}
	q.Del("lang")
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range q[k] {
			out = append(out, queryParam{Name: k, Value: v})
		}
	}
	return out
}

// csp builds the policy of a page; co is nil on pages without a checkout.
func (s *Server) csp(co *runtimeapi.Checkout, script bool) CSP {
	siteAncestors := ""
	if co != nil {
		siteAncestors = co.Site.FrameAncestors
	}
	if !script {
		return CSP{NoScript: true, FrameAncestors: frameAncestors(s.opts.FrameAncestors, siteAncestors)}
	}
	return s.cspFor(siteAncestors, offers(co, "stripe"))
}

// cspFor is the policy of a page with script, given the site's frame ancestors and whether a
// Stripe provider is offered (Stripe.js is allowed only when it is configured as well).
func (s *Server) cspFor(siteAncestors string, stripe bool) CSP {
	p := CSP{FrameAncestors: frameAncestors(s.opts.FrameAncestors, siteAncestors)}
	p.Connect = []string{s.connect}
	if stripe && s.stripe != "" {
		p.addStripe(s.stripe)
	}
	return p
}

// renderCheckout renders the payment page; ret, when set, is an attempt whose outcome the page
// checks on load instead of showing the form.
func (s *Server) renderCheckout(c echo.Context, base page, co *runtimeapi.Checkout, ret *returnView) error {
	base.Title = base.L.T("page_title", "site", co.Site.Name)
	if pref := c.QueryParam("provider"); pref != "" && pref != co.DefaultProviderID {
		// The way to pay the buyer already chose (e.g. at a Duda store's checkout) comes first,
		// if the checkout offers it.
		for _, pr := range co.Providers {
			if pr.ID == pref {
				chosen := *co
				chosen.DefaultProviderID = pref
				co = &chosen
				break
			}
		}
	}
	if cc := strings.ToUpper(c.QueryParam("country")); countryRE.MatchString(cc) {
		// The country the buyer chose on a page without JavaScript (handleCheckoutPost): the
		// payment methods offered to it, and the form with it selected.
		chosen := *co
		a := runtimeapi.Address{}
		if co.BillingAddress != nil {
			a = *co.BillingAddress
		}
		a.Country = cc
		chosen.BillingAddress = &a
		co = &chosen
	}
	p := s.buildCheckoutPage(base, co)
	p.BackURL = shopURL(c, co)
	if ret != nil {
		p.Return, p.Txn, p.Wire = ret, nil, nil
		if ret.GoCardless != "" && p.GoCardless == nil { // back from GoCardless, no longer offered
			p.GoCardless = &gcView{Flow: base.Assets.GoCardlessFlow}
		}
	}
	if s.viaTemplate {
		return s.render(c, http.StatusOK, "checkout", p, s.csp(co, true))
	}
	lp, err := s.layoutFor(p, co.Site.FrameAncestors)
	if err != nil {
		s.log.ErrorContext(c.Request().Context(), "template failed", "page", "checkout", "error", err.Error())
		s.setPageHeaders(c.Response().Header(), CSP{NoScript: true})
		return c.String(http.StatusInternalServerError, "internal error")
	}
	buf := s.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer s.bufs.Put(buf)
	s.writeCheckout(buf, p, lp)
	s.setPolicyHeaders(c.Response().Header(), lp.csp, lp.xfoDeny)
	return c.Blob(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}

// renderState renders one of the pages that only say where a checkout stands.
func (s *Server) renderState(c echo.Context, status int, kind string, base page, co *runtimeapi.Checkout) error {
	l := base.L
	p := &statePage{page: base, Kind: kind, Heading: l.T(kind + "_title")}
	site := base.Site.Name
	p.Message = l.T(kind+"_text", "site", site)
	switch kind {
	case "completed":
		if co != nil && co.Transaction != nil {
			if u := safeHTTPURL(co.Transaction.ReturnURL); u != "" {
				p.LinkURL, p.LinkText = u, l.T("return_to_merchant", "site", site)
			}
		}
	case "cancelled", "expired", "notfound":
		if u := shopURL(c, co); u != "" {
			p.LinkURL, p.LinkText = u, l.T("return_to_merchant", "site", site)
			if site == "" {
				p.LinkText = l.T("return_to_shop")
			}
		}
	case "unavailable":
		p.LinkURL, p.LinkText = c.Request().URL.RequestURI(), l.T("try_again")
		p.RequestID = httpapi.RequestID(c)
	case "ratelimited":
		p.Message = l.T("ratelimited_text", "seconds", c.Response().Header().Get("Retry-After"))
		p.LinkURL, p.LinkText = c.Request().URL.RequestURI(), l.T("try_again")
	}
	p.Title = p.Heading
	return s.render(c, status, "state", p, s.csp(co, false))
}

// shopURL is the way back to the shop from a page that cannot be paid: the checkout's cancel
// URL, else the shop behind its return URL, else the site the buyer came from (the Referer's
// origin, which browsers send across sites) when that is not this service.
func shopURL(c echo.Context, co *runtimeapi.Checkout) string {
	if co != nil {
		if u := safeHTTPURL(co.CancelURL); u != "" {
			return u
		}
		if co.Transaction != nil {
			if o := origin(co.Transaction.ReturnURL); o != "" {
				return o + "/"
			}
		}
	}
	ref := origin(c.Request().Header.Get("Referer"))
	if ref == "" || strings.EqualFold(strings.TrimPrefix(strings.TrimPrefix(ref, "https://"), "http://"), c.Request().Host) {
		return ""
	}
	return ref + "/"
}

// render executes a page into a buffer first, so that a template error never sends half a page.
func (s *Server) render(c echo.Context, status int, name string, data any, csp CSP) error {
	buf := s.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer s.bufs.Put(buf)
	h := c.Response().Header()
	if err := s.pages[name].ExecuteTemplate(buf, "layout", data); err != nil {
		s.log.ErrorContext(c.Request().Context(), "template failed", "page", name, "error", err.Error())
		s.setPageHeaders(h, CSP{NoScript: true})
		return c.String(http.StatusInternalServerError, "internal error")
	}
	s.setPageHeaders(h, csp)
	return c.Blob(status, "text/html; charset=utf-8", buf.Bytes())
}

func (s *Server) handleAsset(c echo.Context) error {
	if !s.assets.Has(c.Param("file")) {
		return s.handleNotFound(c)
	}
	h := c.Response().Header()
	s.setBaseHeaders(h)
	h.Set("Content-Security-Policy", "default-src 'none'")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	s.assets.Serve(c.Response(), c.Request(), c.Param("file"))
	return nil
}

var themeFileRE = regexp.MustCompile(`^([0-9a-f]{6})\.css$`)

// handleTheme serves the colours derived from one brand colour. The URL holds the colour and
// the algorithm's version, so the answer never changes and is cached for a year.
func (s *Server) handleTheme(c echo.Context) error {
	m := themeFileRE.FindStringSubmatch(c.Param("file"))
	if m == nil {
		return s.handleNotFound(c)
	}
	h := c.Response().Header()
	s.setBaseHeaders(h)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", []byte(ThemeFor("#"+m[1]).CSS()))
}
