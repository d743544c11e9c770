// Package dudafake is an in-process fake of the parts of Duda's App Store API that package duda calls, for tests:
// token refresh, payment gateway registration, payment sessions and their confirm call, refund intents, plus a tiny
// store page for the shopper's browser to land on. It also builds the requests Duda sends us (signed lifecycle
// calls, payment-methods calls) so the platform's own endpoints can be driven as Duda would.
//
// It checks what the real API checks as far as Duda documents it (Basic app credentials, a current
// "Bearer" access token for the site, links on confirm) and answers errors as JSON. Nothing touches the network
// beyond the loopback httptest server, which is closed by t.Cleanup.
package dudafake

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"paygate.dev/pkg/duda"
)

// DefaultTokenTTL is how long the fake's access tokens last, like Duda's.
const DefaultTokenTTL = 12 * time.Hour

// Server is the fake Duda API. All methods are safe for concurrent use.
type Server struct {
	t     testing.TB
	srv   *httptest.Server
	creds duda.AppCredentials
	ttl   time.Duration
	now   func() time.Time

	mu        sync.Mutex
	sites     map[string]*site
	byRefresh map[string]string // refresh token → site name
	sessions  map[string]*session
	intents   map[string][]byte // site + "\x00" + id → JSON served
	requests  []Request
}

type site struct {
	name      string
	access    string
	refresh   string
	expiresAt time.Time
	failAuth  int
	refreshes int
	// failRegister makes the next registrations answer failRegisterStatus.
	failRegister       int
	failRegisterStatus int
	gateways           map[string]duda.PaymentGateway
	order              []string
}

type session struct {
	site         string
	body         []byte
	returnURL    string
	failConfirms int
	failStatus   int
	confirms     []duda.ConfirmRequest
}

// Request is one call the fake received, for assertions.
type Request struct {
	Method string
	Path   string // unescaped
	Query  string
	Header http.Header // only Authorization, X-Duda-Access-Token and Content-Type
	Body   []byte
	Status int // what the fake answered
}

// Option configures a Server.
type Option func(*Server)

// WithCredentials sets the app credentials the fake accepts (default: generated; AppSecret must be base64).
func WithCredentials(c duda.AppCredentials) Option { return func(s *Server) { s.creds = c } }

// WithTokenTTL sets how long issued access tokens last (default DefaultTokenTTL).
func WithTokenTTL(d time.Duration) Option { return func(s *Server) { s.ttl = d } }

// WithClock sets the fake's clock, used for token expiry and lifecycle signature timestamps (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// New starts a fake Duda API; it is closed when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		t: t,
		creds: duda.AppCredentials{
			AppUser:     "paygate-app",
			AppPassword: "pw-" + randHex(8),
			AppUUID:     "app-" + randHex(8),
			AppSecret:   base64.StdEncoding.EncodeToString(randBytes(32)),
		},
		ttl:       DefaultTokenTTL,
		now:       time.Now,
		sites:     map[string]*site{},
		byRefresh: map[string]string{},
		sessions:  map[string]*session{},
		intents:   map[string][]byte{},
	}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	const eco = "/api/integrationhub/application/site/{site}/ecommerce"
	mux.HandleFunc("POST /api/integrationhub/application/{app}/token/refresh", s.handleRefresh)
	mux.HandleFunc("POST "+eco+"/payment-gateways", s.api(s.createGateway))
	mux.HandleFunc("GET "+eco+"/payment-gateways", s.api(s.listGateways))
	mux.HandleFunc("GET "+eco+"/payment-gateways/{id}", s.api(s.getGateway))
	mux.HandleFunc("PATCH "+eco+"/payment-gateways/{id}", s.api(s.patchGateway))
	mux.HandleFunc("DELETE "+eco+"/payment-gateways/{id}", s.api(s.deleteGateway))
	mux.HandleFunc("GET "+eco+"/payment-sessions/{id}", s.api(s.getSession))
	mux.HandleFunc("POST "+eco+"/payment-sessions/{id}/confirm", s.api(s.confirm))
	mux.HandleFunc("GET "+eco+"/refund-intents/{id}", s.api(s.getRefundIntent))
	mux.HandleFunc("GET /store/thank-you", s.storePage("Thank you for your order"))
	mux.HandleFunc("GET /store/cart", s.storePage("Your cart"))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NotFound", "no such endpoint in the fake: "+r.Method+" "+r.URL.Path)
	})
	s.srv = httptest.NewServer(s.record(mux))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the fake's base URL: the api_endpoint of its install payloads.
func (s *Server) URL() string { return s.srv.URL }

// Creds are the app credentials the fake accepts; AppSecret (base64) signs the lifecycle requests it builds.
func (s *Server) Creds() duda.AppCredentials { return s.creds }

// NewClient returns a duda.Client pointed at the fake with its credentials.
func (s *Server) NewClient(store duda.TokenStore, opts ...duda.Option) *duda.Client {
	return duda.NewClient(s.URL(), s.creds, store, opts...)
}

// ---------------------------------------------------------------------------------------------------------------
// Sites and tokens.

// AddSite installs the app on a site (again, if it was already) and returns the install payload Duda would send,
// with fresh tokens expiring after the token TTL.
func (s *Server) AddSite(siteName string) duda.InstallPayload {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.sites[siteName]
	if st == nil {
		st = &site{name: siteName, gateways: map[string]duda.PaymentGateway{}}
		s.sites[siteName] = st
	}
	s.issueLocked(st)
	return duda.InstallPayload{
		Auth: duda.InstallAuth{
			Type:              "bearer",
			AuthorizationCode: st.access,
			RefreshToken:      st.refresh,
			ExpirationDate:    duda.UnixTime{Time: st.expiresAt},
		},
		APIEndpoint:          s.URL(),
		SiteName:             siteName,
		InstallerAccountUUID: "acct-" + randHex(6),
		AccountOwnerUUID:     "owner-" + randHex(6),
		UserLang:             "en",
		AppPlanUUID:          "plan-" + randHex(6),
		Recurrency:           "MONTHLY",
		Free:                 false,
		ConfigurationData:    json.RawMessage(`{}`),
	}
}

// UninstallPayload returns the body Duda sends when the app is removed from a site.
func (s *Server) UninstallPayload(siteName string) duda.UninstallPayload {
	return duda.UninstallPayload{SiteName: siteName}
}

func (s *Server) issueLocked(st *site) {
	delete(s.byRefresh, st.refresh)
	st.access = "at_" + randHex(16)
	st.refresh = "rt_" + randHex(16)
	// Millisecond precision, as on the wire, so the payload and the fake agree exactly.
	st.expiresAt = s.now().Add(s.ttl).Truncate(time.Millisecond).UTC()
	s.byRefresh[st.refresh] = st.name
}

// Tokens returns the site's current tokens as the fake sees them.
func (s *Server) Tokens(siteName string) duda.Tokens {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.mustSiteLocked(siteName)
	return duda.Tokens{AccessToken: st.access, RefreshToken: st.refresh, ExpiresAt: st.expiresAt}
}

// ExpireTokens makes the site's current access token answer 401 from now on, as after Duda's 12 hours; the
// refresh token still works.
func (s *Server) ExpireTokens(siteName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustSiteLocked(siteName).expiresAt = s.now().Add(-time.Second)
}

// FailAuth makes the next n API calls for the site answer 401 whatever their token (the refresh endpoint is not
// affected), to test that a client gives up after one refresh.
func (s *Server) FailAuth(siteName string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustSiteLocked(siteName).failAuth = n
}

// FailGatewayRegistrations makes the next n gateway registrations (POST payment-gateways) for the site answer
// status, as Duda does while a store cannot take a gateway yet (e.g. 405).
func (s *Server) FailGatewayRegistrations(siteName string, n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.mustSiteLocked(siteName)
	st.failRegister, st.failRegisterStatus = n, status
}

// Refreshes counts the successful token refreshes for the site.
func (s *Server) Refreshes(siteName string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mustSiteLocked(siteName).refreshes
}

// Gateways lists the site's registered payment gateways in creation order.
func (s *Server) Gateways(siteName string) []duda.PaymentGateway {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.mustSiteLocked(siteName)
	out := make([]duda.PaymentGateway, 0, len(st.order))
	for _, id := range st.order {
		out = append(out, st.gateways[id])
	}
	return out
}

func (s *Server) mustSiteLocked(siteName string) *site {
	st := s.sites[siteName]
	if st == nil {
		s.t.Fatalf("dudafake: unknown site %q (call AddSite first)", siteName)
	}
	return st
}

// ---------------------------------------------------------------------------------------------------------------
// Payment sessions.

// SessionSpec describes a payment session to create. Money fields are decimal text in major units ("30.75"); they
// are written to the JSON as strings, or as numbers with NumericAmounts. Zero fields get defaults.
type SessionSpec struct {
	ID               string    // default "ps_<random>"
	Mode             duda.Mode // default LIVE
	Currency         string    // default EUR
	Email            string    // default shopper@example.com
	Language         string    // default en
	PurchaseID       string    // default "cart_<random>"
	CancelURL        string    // default {URL}/store/cart?session=<id>
	ReturnURL        string    // what confirm answers; default {URL}/store/thank-you?session=<id>
	Total            string    // default: the sum of the line totals, DISCOUNT lines subtracted
	Items            []Item    // default: one PHYSICAL line of 30.75
	ShippingAddress  *duda.Address
	BillingAddress   *duda.Address
	SiteExternalID   string
	NumericAmounts   bool // money as JSON numbers (30.75) instead of strings ("30.75")
	StringQuantities bool // quantities as JSON strings ("2") instead of numbers

	// Raw, when set, is served verbatim by GET instead of the JSON built from the fields above (for shapes the
	// fields cannot express, such as 1e1). The fields still give the session's id and return URL.
	Raw json.RawMessage
}

// Item is an invoice line of a SessionSpec.
type Item struct {
	Type           string // PHYSICAL (default), DIGITAL, TAX, SHIPPING or DISCOUNT
	Name           string
	UnitPrice      string // major units, e.g. "30.75"
	Quantity       int64  // default 1
	DiscountAmount string // per line; default "0"
	Total          string // default UnitPrice × Quantity − DiscountAmount
}

// CreateSession stores a payment session for the site and returns it as the client will decode it.
func (s *Server) CreateSession(siteName string, spec SessionSpec) duda.PaymentSession {
	s.t.Helper()
	spec = s.withDefaults(spec)
	inv := s.invoice(spec)
	ps := duda.PaymentSession{
		ID: spec.ID, Mode: spec.Mode, CancelURL: spec.CancelURL, Invoice: inv,
		SiteName: siteName, SiteExternalID: spec.SiteExternalID,
	}
	body := []byte(spec.Raw)
	if body == nil {
		var err error
		if body, err = json.Marshal(ps); err != nil {
			s.t.Fatalf("dudafake: encode session: %v", err)
		}
	}
	var out duda.PaymentSession
	if err := json.Unmarshal(body, &out); err != nil {
		s.t.Fatalf("dudafake: session JSON does not decode: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustSiteLocked(siteName)
	s.sessions[spec.ID] = &session{site: siteName, body: body, returnURL: spec.ReturnURL}
	return out
}

// PaymentMethodsPayload returns the payment-methods request Duda would send for the same cart as spec (no
// session exists yet at that step, so nothing is stored).
func (s *Server) PaymentMethodsPayload(siteName string, spec SessionSpec) duda.PaymentMethodsRequest {
	s.t.Helper()
	spec = s.withDefaults(spec)
	inv := s.invoice(spec)
	req := duda.PaymentMethodsRequest{Mode: spec.Mode, SiteName: siteName, Invoice: duda.PaymentMethodsInvoice{
		PurchaseID: inv.PurchaseID, PurchaseType: inv.PurchaseType, Email: inv.Email, Language: inv.Language,
		Currency: inv.Currency, Total: inv.Total, BillingAddress: inv.BillingAddress, ShippingAddress: inv.ShippingAddress,
	}}
	for _, it := range inv.Items {
		req.Invoice.Items = append(req.Invoice.Items, duda.PaymentMethodsItem{
			Name: it.Name, Amount: it.UnitPrice, Quantity: it.Quantity, Type: it.Type,
			DiscountAmount: it.DiscountAmount, Total: it.Total,
		})
	}
	return req
}

func (s *Server) withDefaults(spec SessionSpec) SessionSpec {
	if spec.ID == "" {
		spec.ID = "ps_" + randHex(12)
	}
	if spec.Mode == "" {
		spec.Mode = duda.ModeLive
	}
	if spec.Currency == "" {
		spec.Currency = "EUR"
	}
	if spec.Email == "" {
		spec.Email = "shopper@example.com"
	}
	if spec.Language == "" {
		spec.Language = "en"
	}
	if spec.PurchaseID == "" {
		spec.PurchaseID = "cart_" + randHex(8)
	}
	if spec.CancelURL == "" {
		spec.CancelURL = s.URL() + "/store/cart?session=" + url.QueryEscape(spec.ID)
	}
	if spec.ReturnURL == "" {
		spec.ReturnURL = s.URL() + "/store/thank-you?session=" + url.QueryEscape(spec.ID)
	}
	if len(spec.Items) == 0 {
		spec.Items = []Item{{Type: duda.ItemPhysical, Name: "T-shirt", UnitPrice: "30.75", Quantity: 1}}
	}
	return spec
}

// invoice builds the invoice of spec, computing the totals it leaves out.
func (s *Server) invoice(spec SessionSpec) duda.Invoice {
	s.t.Helper()
	money := func(v string) duda.Decimal {
		if spec.NumericAmounts {
			return duda.NewDecimal(v)
		}
		return duda.NewDecimalString(v)
	}
	minor := func(what, v string) int64 {
		n, err := duda.NewDecimal(v).Minor(spec.Currency)
		if err != nil {
			s.t.Fatalf("dudafake: %s %q: %v (give the totals explicitly for amounts the fake cannot add)", what, v, err)
		}
		return n
	}
	format := func(n int64) string {
		d, err := duda.DecimalFromMinor(n, spec.Currency)
		if err != nil {
			s.t.Fatalf("dudafake: %v", err)
		}
		return d.String()
	}
	inv := duda.Invoice{
		PurchaseID: spec.PurchaseID, PurchaseType: "CART", Email: spec.Email, Language: spec.Language,
		Currency: spec.Currency, ShippingAddress: spec.ShippingAddress, BillingAddress: spec.BillingAddress,
	}
	var sum int64
	for _, it := range spec.Items {
		if it.Type == "" {
			it.Type = duda.ItemPhysical
		}
		if it.Quantity == 0 {
			it.Quantity = 1
		}
		if it.DiscountAmount == "" {
			it.DiscountAmount = "0"
		}
		if it.Total == "" {
			it.Total = format(minor("unit_price", it.UnitPrice)*it.Quantity - minor("discount_amount", it.DiscountAmount))
		}
		q := duda.NewQuantity(it.Quantity)
		if spec.StringQuantities {
			q = duda.NewQuantityString(it.Quantity)
		}
		inv.Items = append(inv.Items, duda.SessionItem{
			Type: it.Type, Name: it.Name, UnitPrice: money(it.UnitPrice), Quantity: q,
			DiscountAmount: money(it.DiscountAmount), Total: money(it.Total),
		})
		if spec.Total == "" {
			// Duda does not document the sign of DISCOUNT lines; the fake subtracts them either way.
			lt := minor("total", it.Total)
			if strings.EqualFold(it.Type, duda.ItemDiscount) && lt > 0 {
				lt = -lt
			}
			sum += lt
		}
	}
	if spec.Total == "" {
		spec.Total = format(sum)
	}
	inv.Total = money(spec.Total)
	return inv
}

// FailConfirms makes the next n confirm calls for the session answer 500.
func (s *Server) FailConfirms(sessionID string, n int) {
	s.FailConfirmsWith(sessionID, n, http.StatusInternalServerError)
}

// FailConfirmsWith makes the next n confirm calls for the session answer status (e.g. 503).
func (s *Server) FailConfirmsWith(sessionID string, n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.sessions[sessionID]
	if ss == nil {
		s.t.Fatalf("dudafake: unknown session %q", sessionID)
	}
	ss.failConfirms, ss.failStatus = n, status
}

// Confirms lists every confirm call the fake accepted for the session, in order (failed ones are only in Requests).
func (s *Server) Confirms(sessionID string) []duda.ConfirmRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss := s.sessions[sessionID]; ss != nil {
		return append([]duda.ConfirmRequest(nil), ss.confirms...)
	}
	return nil
}

// CreateRefundIntent stores a refund intent for the site (ID "ri_<random>" when empty) and returns it.
func (s *Server) CreateRefundIntent(siteName string, ri duda.RefundIntent) duda.RefundIntent {
	s.t.Helper()
	if ri.ID == "" {
		ri.ID = "ri_" + randHex(12)
	}
	if ri.PurchaseType == "" {
		ri.PurchaseType = "CART"
	}
	if ri.Mode == "" {
		ri.Mode = duda.ModeLive
	}
	body, err := json.Marshal(ri)
	if err != nil {
		s.t.Fatalf("dudafake: encode refund intent: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustSiteLocked(siteName)
	s.intents[siteName+"\x00"+ri.ID] = body
	return ri
}

// ---------------------------------------------------------------------------------------------------------------
// Requests Duda makes to us.

// SignedLifecycleRequest builds an app lifecycle call (install, uninstall, ...) to url as Duda sends it: JSON body
// (payload marshalled, or used as is when it is []byte, json.RawMessage or string), signed with the app secret at
// the fake's current time in Unix milliseconds. The request works with an http.Client and with ServeHTTP.
func (s *Server) SignedLifecycleRequest(method, url string, payload any) *http.Request {
	s.t.Helper()
	return s.SignedLifecycleRequestAt(method, url, payload, s.now())
}

// SignedLifecycleRequestAt is SignedLifecycleRequest with a chosen signing time (for stale-timestamp tests).
func (s *Server) SignedLifecycleRequestAt(method, url string, payload any, at time.Time) *http.Request {
	s.t.Helper()
	body := s.body(payload)
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	req := s.newRequest(method, url, body)
	req.Header.Set(duda.HeaderSignatureTimestamp, ts)
	req.Header.Set(duda.HeaderSignature, duda.Sign(s.creds.AppSecret, ts, body))
	return req
}

// PaymentMethodsRequest builds the POST Duda makes to a payment-methods URL at the payment step (unsigned, as
// Duda documents no signature for it).
func (s *Server) PaymentMethodsRequest(url string, req duda.PaymentMethodsRequest) *http.Request {
	s.t.Helper()
	return s.newRequest(http.MethodPost, url, s.body(req))
}

// CheckoutRedirectURL is where Duda sends the shopper's browser after they pick one of our payment methods.
func CheckoutRedirectURL(checkoutURL, sessionID, siteName string) string {
	sep := "?"
	if strings.Contains(checkoutURL, "?") {
		sep = "&"
	}
	return checkoutURL + sep + url.Values{"session_id": {sessionID}, "site_name": {siteName}}.Encode()
}

// LiteralCheckoutRedirectURL is the same arrival as Duda builds it when checkout_url already has a query string:
// Duda appends "?session_id=…&site_name=…" literally, so the URL holds a second "?".
func LiteralCheckoutRedirectURL(checkoutURL, sessionID, siteName string) string {
	return checkoutURL + "?" + url.Values{"session_id": {sessionID}, "site_name": {siteName}}.Encode()
}

func (s *Server) body(payload any) []byte {
	switch p := payload.(type) {
	case []byte:
		return p
	case json.RawMessage:
		return p
	case string:
		return []byte(p)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		s.t.Fatalf("dudafake: encode payload: %v", err)
	}
	return b
}

func (s *Server) newRequest(method, url string, body []byte) *http.Request {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		s.t.Fatalf("dudafake: build request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Duda-dudafake")
	return req
}

// ---------------------------------------------------------------------------------------------------------------
// Request log.

// Requests returns every call the fake received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count is how many received calls had this method and a path ending in pathSuffix.
func (s *Server) Count(method, pathSuffix string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == method && strings.HasSuffix(r.Path, pathSuffix) {
			n++
		}
	}
	return n
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (s *Server) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		h := http.Header{}
		for _, k := range []string{"Authorization", "X-Duda-Access-Token", "Content-Type"} {
			if v := r.Header.Values(k); len(v) > 0 {
				h[k] = append([]string(nil), v...)
			}
		}
		s.mu.Lock()
		s.requests = append(s.requests, Request{
			Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: h, Body: body, Status: sw.status,
		})
		s.mu.Unlock()
	})
}

// ---------------------------------------------------------------------------------------------------------------
// Handlers.

// api wraps a handler that needs app credentials and the site's current access token; it runs under s.mu.
func (s *Server) api(h func(w http.ResponseWriter, r *http.Request, st *site)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.appAuthOK(r) {
			writeError(w, http.StatusUnauthorized, "Unauthorized", "bad app credentials")
			return
		}
		st := s.sites[r.PathValue("site")]
		if st == nil {
			writeError(w, http.StatusNotFound, "ResourceNotExist", "site not found or app not installed")
			return
		}
		raw := r.Header.Get("X-DUDA-ACCESS-TOKEN")
		if len(raw) < 7 || !strings.EqualFold(raw[:7], "bearer ") {
			writeError(w, http.StatusUnauthorized, "Unauthorized", "X-DUDA-ACCESS-TOKEN must be 'Bearer <token>'")
			return
		}
		tok := strings.TrimSpace(raw[7:])
		switch {
		case st.failAuth > 0:
			st.failAuth--
			writeError(w, http.StatusUnauthorized, "Unauthorized", "access token rejected (injected)")
			return
		case tok != st.access:
			for _, other := range s.sites {
				if other.access == tok && other != st {
					writeError(w, http.StatusForbidden, "Forbidden", "access token belongs to another site")
					return
				}
			}
			writeError(w, http.StatusUnauthorized, "Unauthorized", "invalid access token")
			return
		case !s.now().Before(st.expiresAt):
			writeError(w, http.StatusUnauthorized, "Unauthorized", "access token expired")
			return
		}
		h(w, r, st)
	}
}

func (s *Server) appAuthOK(r *http.Request) bool {
	u, p, ok := r.BasicAuth()
	return ok && u == s.creds.AppUser && p == s.creds.AppPassword
}

func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.appAuthOK(r) {
		writeError(w, http.StatusUnauthorized, "Unauthorized", "bad app credentials")
		return
	}
	if r.PathValue("app") != s.creds.AppUUID {
		writeError(w, http.StatusNotFound, "ResourceNotExist", "unknown app")
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "body is not JSON")
		return
	}
	rt, _ := body["refreshToken"].(string)
	if rt == "" {
		rt, _ = body["refresh_token"].(string)
	}
	name, ok := s.byRefresh[rt]
	if rt == "" || !ok {
		writeError(w, http.StatusUnauthorized, "InvalidRefreshToken", "unknown or already used refresh token")
		return
	}
	st := s.sites[name]
	s.issueLocked(st) // the old access and refresh tokens stop working
	st.refreshes++
	writeJSON(w, http.StatusOK, duda.TokenResponse{
		Type: "bearer", AuthorizationCode: st.access, RefreshToken: st.refresh,
		ExpirationDate: duda.UnixTime{Time: st.expiresAt},
	})
}

func (s *Server) createGateway(w http.ResponseWriter, r *http.Request, st *site) {
	if st.failRegister > 0 {
		st.failRegister--
		writeError(w, st.failRegisterStatus, "RegistrationRefused", "payment gateway registration refused (injected)")
		return
	}
	var gw duda.PaymentGateway
	if err := json.NewDecoder(r.Body).Decode(&gw); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "body is not a payment gateway")
		return
	}
	if gw.LivePaymentMethodsURL == "" {
		writeError(w, http.StatusBadRequest, "BadRequest", "live_payment_methods_url is required")
		return
	}
	gw.ID = "cpg_" + randHex(10)
	st.gateways[gw.ID] = gw
	st.order = append(st.order, gw.ID)
	writeJSON(w, http.StatusCreated, gw)
}

func (s *Server) listGateways(w http.ResponseWriter, r *http.Request, st *site) {
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 {
		limit = 50
	}
	out := duda.PaymentGatewayList{Offset: offset, Limit: limit, TotalResponses: len(st.order), Results: []duda.PaymentGateway{}}
	for i := offset; i >= 0 && i < len(st.order) && i < offset+limit; i++ {
		out.Results = append(out.Results, st.gateways[st.order[i]])
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getGateway(w http.ResponseWriter, r *http.Request, st *site) {
	gw, ok := st.gateways[r.PathValue("id")]
	if !ok {
		writeError(w, http.StatusNotFound, "ResourceNotExist", "payment gateway not found")
		return
	}
	writeJSON(w, http.StatusOK, gw)
}

func (s *Server) patchGateway(w http.ResponseWriter, r *http.Request, st *site) {
	id := r.PathValue("id")
	gw, ok := st.gateways[id]
	if !ok {
		writeError(w, http.StatusNotFound, "ResourceNotExist", "payment gateway not found")
		return
	}
	var in duda.PaymentGateway
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "body is not a payment gateway")
		return
	}
	for dst, src := range map[*string]string{
		&gw.LivePaymentMethodsURL: in.LivePaymentMethodsURL, &gw.TestPaymentMethodsURL: in.TestPaymentMethodsURL,
		&gw.Name: in.Name, &gw.Description: in.Description, &gw.Image: in.Image,
	} {
		if src != "" {
			*dst = src
		}
	}
	if in.Icons != nil {
		gw.Icons = in.Icons
	}
	st.gateways[id] = gw
	writeJSON(w, http.StatusOK, gw)
}

func (s *Server) deleteGateway(w http.ResponseWriter, r *http.Request, st *site) {
	id := r.PathValue("id")
	if _, ok := st.gateways[id]; !ok {
		writeError(w, http.StatusNotFound, "ResourceNotExist", "payment gateway not found")
		return
	}
	delete(st.gateways, id)
	for i, v := range st.order {
		if v == id {
			st.order = append(st.order[:i], st.order[i+1:]...)
			break
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) sessionFor(w http.ResponseWriter, r *http.Request, st *site) *session {
	ss := s.sessions[r.PathValue("id")]
	if ss == nil || ss.site != st.name {
		writeError(w, http.StatusNotFound, "ResourceNotExist", "payment session not found")
		return nil
	}
	return ss
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request, st *site) {
	if ss := s.sessionFor(w, r, st); ss != nil {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(ss.body)
	}
}

func (s *Server) confirm(w http.ResponseWriter, r *http.Request, st *site) {
	ss := s.sessionFor(w, r, st)
	if ss == nil {
		return
	}
	if ss.failConfirms > 0 {
		ss.failConfirms--
		writeError(w, ss.failStatus, "InternalError", "confirm failed (injected)")
		return
	}
	raw, _ := io.ReadAll(r.Body)
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "body is not a JSON object")
		return
	}
	if links := bytes.TrimSpace(keys["links"]); len(links) == 0 || links[0] != '{' {
		writeError(w, http.StatusBadRequest, "BadRequest", "links is required")
		return
	}
	var req duda.ConfirmRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "body is not a confirm request")
		return
	}
	// Duda documents session_id as a required body parameter ("ID returned by the payment session retrieval").
	if req.SessionID != r.PathValue("id") {
		writeError(w, http.StatusBadRequest, "BadRequest", "session_id is required and must name the session of the path")
		return
	}
	switch req.State {
	case duda.StateProcessed, duda.StatePending:
		if req.TransactionID == "" {
			writeError(w, http.StatusBadRequest, "BadRequest", "transaction_id is required for "+string(req.State))
			return
		}
	case duda.StateFailed:
	default:
		writeError(w, http.StatusBadRequest, "BadRequest", "state must be PROCESSED, PENDING or FAILED")
		return
	}
	// A repeated confirm is accepted again (the caller may not have seen our first answer).
	ss.confirms = append(ss.confirms, req)
	writeJSON(w, http.StatusOK, duda.ConfirmResponse{ReturnURL: ss.returnURL})
}

func (s *Server) getRefundIntent(w http.ResponseWriter, r *http.Request, st *site) {
	body, ok := s.intents[st.name+"\x00"+r.PathValue("id")]
	if !ok {
		writeError(w, http.StatusNotFound, "ResourceNotExist", "refund intent not found")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (s *Server) storePage(title string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		q := r.URL.Query()
		keys := make([]string, 0, len(q))
		for k := range q {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, `<li data-key="%s">%s</li>`, html.EscapeString(k), html.EscapeString(q.Get(k)))
		}
		fmt.Fprintf(w, "<!doctype html><html><head><title>%[1]s</title></head><body><h1>%[1]s</h1><ul>%[2]s</ul></body></html>",
			html.EscapeString(title), b.String())
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error_code": code, "message": msg})
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func randHex(n int) string { return hex.EncodeToString(randBytes(n)) }
