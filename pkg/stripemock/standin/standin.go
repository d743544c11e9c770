// Package standin serves a stand-in for Stripe.js (https://js.stripe.com/v3) to browser tests:
// the subset of Stripe.js the hosted page uses, a fake card form in an iframe of its own origin
// (as Stripe's Payment Element is), the API that script and form call (on the same origin, as
// api.stripe.com is for the real one), and a 3-D Secure challenge page.
//
// What the page may call, and what the stand-in checks (a misuse throws an IntegrationError in
// the page, as Stripe.js does, and fails the test):
//
//	Stripe(publishableKey)                       a pk_test_… or pk_live_… key
//	stripe.elements({clientSecret, appearance, locale})
//	                                             a client secret "pi_…_secret_…" of a
//	                                             PaymentIntent the backend created
//	elements.create("payment", {fields})         only "payment"
//	element.mount(selector | element)            one container
//	element.on("ready" | "change" | …, fn)       change events carry {complete, empty}
//	element.unmount(), element.destroy()
//	stripe.confirmPayment({elements, confirmParams: {return_url, payment_method_data}, redirect})
//	                                             an absolute return_url; billing details the
//	                                             Element was told not to collect ("never")
//
// The card number decides what happens, as with Stripe's test cards:
//
//	4242 4242 4242 4242  succeeded (with a charge)
//	4000 0000 0000 0002  declined: result.error "Your card was declined.", the PaymentIntent
//	                     back to requires_payment_method
//	4000 0027 6000 3184  3-D Secure: the page goes to the stand-in's challenge page, whose
//	                     "Complete" and "Fail" buttons send the buyer to return_url with
//	                     payment_intent, payment_intent_client_secret and redirect_status
//
// stripe-mock is stateless, so the stand-in records each outcome in the PaymentIntents (the
// stripemock.Overlay in front of stripe-mock): the backend sees it when it retrieves the
// PaymentIntent (GET …/status?sync=1). With Options.WebhookURL it also sends the signed event, as
// Stripe does.
package standin

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"paygate.dev/pkg/stripemock"
)

// Stripe's test card numbers the stand-in knows.
const (
	CardSucceeds     = "4242424242424242"
	CardDeclined     = "4000000000000002"
	CardThreeDSecure = "4000002760003184"
)

// Messages the stand-in answers with (Stripe's own wording).
const (
	DeclinedMessage       = "Your card was declined."
	AuthenticationMessage = "We are unable to authenticate your payment method. Please choose a different payment method and try again."
)

// PaymentIntents is what the stand-in reads and records PaymentIntents in;
// *stripemock.Overlay is one.
type PaymentIntents interface {
	PaymentIntent(id string) (stripemock.PaymentIntent, bool)
	SetPaymentIntent(id, status, chargeID string, amount int64, currency string)
	FailPaymentIntent(id string, e stripemock.PaymentError)
}

// Options adjust the stand-in.
type Options struct {
	// WebhookURL, when set, receives Stripe's event after every outcome
	// (payment_intent.succeeded, payment_intent.payment_failed), signed with WebhookSecret.
	WebhookURL    string
	WebhookSecret string
	// Fail reports a misuse of the stand-in by the page; the default is the test's Errorf.
	Fail func(format string, args ...any)
}

// Server is a running stand-in.
type Server struct {
	// URL is the stand-in's origin (http://127.0.0.1:port): Stripe.js, its frames and its API.
	URL string

	opts    Options
	intents PaymentIntents
	srv     *httptest.Server
	pages   *template.Template

	mu            sync.Mutex
	sessions      []Session
	confirmations []Confirmation
	challenges    map[string]*challenge // by PaymentIntent id
	misuses       []string
}

// Session is one stripe.elements() call, as the stand-in's script reported it.
type Session struct {
	PublishableKey string
	ClientSecret   string
	PaymentIntent  string
	ColorPrimary   string // appearance.variables.colorPrimary
	Locale         string
}

// BillingDetails are the payment_method_data.billing_details a confirmation carried.
type BillingDetails struct {
	Name, Email                      string
	Line1, City, PostalCode, Country string
}

// Confirmation is one stripe.confirmPayment() that reached the stand-in's API.
type Confirmation struct {
	PaymentIntent  string
	Card           string // the number as typed into the card form (digits only)
	Expiry, CVC    string
	ReturnURL      string
	Redirect       string // always | if_required
	BillingDetails BillingDetails
	Outcome        string // succeeded | declined | requires_action | invalid
}

type challenge struct {
	pi        stripemock.PaymentIntent
	returnURL string
	done      bool
}

//go:embed static
var static embed.FS

// Start runs the stand-in until the test ends; it records outcomes in intents.
func Start(t testing.TB, intents PaymentIntents, o Options) *Server {
	t.Helper()
	if o.Fail == nil {
		o.Fail = t.Errorf
	}
	s := &Server{opts: o, intents: intents, challenges: map[string]*challenge{}}
	s.pages = template.Must(template.ParseFS(static, "static/*.html"))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v3", s.script("static/stripe.js"))
	mux.HandleFunc("GET /elements/payment.js", s.script("static/payment.js"))
	mux.HandleFunc("GET /elements/payment", s.handleElement)
	mux.HandleFunc("GET /v1/elements/sessions", s.handleSession)
	mux.HandleFunc("OPTIONS /v1/elements/sessions", s.handlePreflight)
	mux.HandleFunc("POST /v1/payment_intents/{id}/confirm", s.handleConfirm)
	mux.HandleFunc("GET /3ds/challenge", s.handleChallenge)
	mux.HandleFunc("POST /3ds/complete", s.handleComplete)
	mux.HandleFunc("POST /_standin/misuse", s.handleMisuse)
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	// Anything else the page asks for is a call real Stripe.js would not make: say so.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.misuse("unexpected request %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
	})
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	// Close waits for requests in flight, so no handler reports after the test ended.
	t.Cleanup(s.srv.Close)
	return s
}

// ScriptURL is the stand-in's Stripe.js (config.MainFrontend.StripeJSURL in tests).
func (s *Server) ScriptURL() string { return s.URL + "/v3" }

// Sessions lists the stripe.elements() calls so far.
func (s *Server) Sessions() []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Session(nil), s.sessions...)
}

// Confirmations lists the confirmations that reached the stand-in's API so far.
func (s *Server) Confirmations() []Confirmation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Confirmation(nil), s.confirmations...)
}

// SendWebhooks makes the stand-in send Stripe's signed event to url after every outcome, as
// Options.WebhookURL does; for a URL known only once the services run (the main backend's
// /hooks/stripe/{providerId}).
func (s *Server) SendWebhooks(url, secret string) {
	s.mu.Lock()
	s.opts.WebhookURL, s.opts.WebhookSecret = url, secret
	s.mu.Unlock()
}

// Misuses lists what the page did that Stripe.js does not allow (each also failed the test).
func (s *Server) Misuses() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.misuses...)
}

func (s *Server) misuse(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	s.misuses = append(s.misuses, msg)
	s.mu.Unlock()
	s.opts.Fail("stand-in Stripe.js: %s", msg)
}

var (
	publishableKeyRE = regexp.MustCompile(`^pk_(test|live)_[A-Za-z0-9]+$`)
	clientSecretRE   = regexp.MustCompile(`^(pi_[A-Za-z0-9]+)_secret_[A-Za-z0-9]+$`)
	colorRE          = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
)

// paymentIntent checks a publishable key and client secret as Stripe's API does, and returns
// the PaymentIntent the secret belongs to.
func (s *Server) paymentIntent(key, secret string) (stripemock.PaymentIntent, error) {
	if !publishableKeyRE.MatchString(key) {
		return stripemock.PaymentIntent{}, fmt.Errorf("invalid publishable key %q (pk_test_… or pk_live_… expected)", key)
	}
	m := clientSecretRE.FindStringSubmatch(secret)
	if m == nil {
		return stripemock.PaymentIntent{}, fmt.Errorf("invalid client secret %q (pi_…_secret_… expected)", secret)
	}
	pi, ok := s.intents.PaymentIntent(m[1])
	if !ok || pi.ClientSecret != secret {
		return stripemock.PaymentIntent{}, fmt.Errorf("no PaymentIntent has the client secret %q", secret)
	}
	return pi, nil
}

func (s *Server) script(name string) http.HandlerFunc {
	body, err := static.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(body)
	}
}

// cors lets the page (another origin) read the stand-in's API answers, as api.stripe.com does.
func cors(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "no-store")
}

func (s *Server) handlePreflight(w http.ResponseWriter, _ *http.Request) {
	cors(w)
	w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
	w.WriteHeader(http.StatusNoContent)
}

// apiError answers like Stripe's API: {"error": {...}}.
func apiError(w http.ResponseWriter, status int, typ, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"type": typ, "code": code, "message": message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// handleSession is Stripe.js fetching what the Payment Element shows: the page calls the
// stand-in's API directly (so its CSP's connect-src must allow this origin).
func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	cors(w)
	q := r.URL.Query()
	pi, err := s.paymentIntent(q.Get("key"), q.Get("client_secret"))
	if err != nil {
		s.misuse("stripe.elements(): %v", err)
		apiError(w, http.StatusBadRequest, "invalid_request_error", "resource_missing", err.Error())
		return
	}
	s.mu.Lock()
	s.sessions = append(s.sessions, Session{PublishableKey: q.Get("key"), ClientSecret: q.Get("client_secret"), PaymentIntent: pi.ID,
		ColorPrimary: q.Get("color_primary"), Locale: q.Get("locale")})
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"object": "elements_session", "payment_intent": publicIntent(pi, "")})
}

// publicIntent is a PaymentIntent as Stripe.js returns it to the page.
func publicIntent(pi stripemock.PaymentIntent, status string) map[string]any {
	if status == "" {
		status = pi.Status
	}
	return map[string]any{"id": pi.ID, "object": "payment_intent", "status": status, "amount": pi.Amount, "currency": pi.Currency,
		"client_secret": pi.ClientSecret, "payment_method_types": []string{"card"}}
}

// handleElement is the Payment Element's frame: the card form.
func (s *Server) handleElement(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	parent, err := url.Parse(q.Get("origin"))
	if err != nil || parent.Host == "" || (parent.Scheme != "http" && parent.Scheme != "https") {
		s.misuse("the payment frame was opened without the page's origin")
		http.Error(w, "bad origin", http.StatusBadRequest)
		return
	}
	color := q.Get("color")
	if !colorRE.MatchString(color) {
		color = "#0570de" // Stripe's default colorPrimary
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// Only the page that mounted it may frame the form (Stripe's frames are framed by anyone;
	// the stand-in is stricter so that a test notices a wrong parent).
	w.Header().Set("Content-Security-Policy", "frame-ancestors "+parent.Scheme+"://"+parent.Host)
	_ = s.pages.ExecuteTemplate(w, "element.html", map[string]any{"Color": template.CSS(color), "Lang": q.Get("locale")})
}

// handleConfirm is the card form confirming the PaymentIntent with the card the buyer typed.
func (s *Server) handleConfirm(w http.ResponseWriter, r *http.Request) {
	cors(w)
	if err := r.ParseForm(); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "parameter_invalid", "send a form")
		return
	}
	f := r.PostForm
	pi, err := s.paymentIntent(f.Get("key"), f.Get("client_secret"))
	if err == nil && pi.ID != r.PathValue("id") {
		err = fmt.Errorf("the client secret is not the one of %s", r.PathValue("id"))
	}
	if err != nil {
		s.misuse("stripe.confirmPayment(): %v", err)
		apiError(w, http.StatusBadRequest, "invalid_request_error", "resource_missing", err.Error())
		return
	}
	c := Confirmation{PaymentIntent: pi.ID, Card: digits(f.Get("card[number]")), Expiry: f.Get("card[exp]"), CVC: f.Get("card[cvc]"),
		ReturnURL: f.Get("return_url"), Redirect: f.Get("redirect"), BillingDetails: BillingDetails{
			Name: f.Get("billing_details[name]"), Email: f.Get("billing_details[email]"), Line1: f.Get("billing_details[address][line1]"),
			City: f.Get("billing_details[address][city]"), PostalCode: f.Get("billing_details[address][postal_code]"),
			Country: f.Get("billing_details[address][country]")}}
	record := func(outcome string) {
		c.Outcome = outcome
		s.mu.Lock()
		s.confirmations = append(s.confirmations, c)
		s.mu.Unlock()
	}
	if u, err := url.Parse(c.ReturnURL); err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		record("invalid")
		s.misuse("stripe.confirmPayment(): return_url must be an absolute http(s) URL, got %q", c.ReturnURL)
		apiError(w, http.StatusBadRequest, "invalid_request_error", "url_invalid", "Invalid URL: return_url")
		return
	}
	if pi.Status != "requires_payment_method" && pi.Status != "requires_confirmation" {
		record("invalid")
		apiError(w, http.StatusBadRequest, "invalid_request_error", "payment_intent_unexpected_state",
			fmt.Sprintf("You cannot confirm this PaymentIntent because it has a status of %s.", pi.Status))
		return
	}
	switch c.Card {
	case CardSucceeds:
		record("succeeded")
		s.succeed(pi)
		writeJSON(w, http.StatusOK, map[string]any{"payment_intent": publicIntent(pi, "succeeded")})
	case CardThreeDSecure:
		record("requires_action")
		s.intents.SetPaymentIntent(pi.ID, "requires_action", "", pi.Amount, pi.Currency)
		s.mu.Lock()
		s.challenges[pi.ID] = &challenge{pi: pi, returnURL: c.ReturnURL}
		s.mu.Unlock()
		out := publicIntent(pi, "requires_action")
		out["next_action"] = map[string]any{"type": "redirect_to_url", "redirect_to_url": map[string]any{
			"url": s.URL + "/3ds/challenge?payment_intent=" + url.QueryEscape(pi.ID), "return_url": c.ReturnURL}}
		writeJSON(w, http.StatusOK, map[string]any{"payment_intent": out})
	default: // CardDeclined, and any other number
		record("declined")
		s.fail(pi, stripemock.PaymentError{Code: "card_declined", DeclineCode: "generic_decline", Message: DeclinedMessage})
		writeJSON(w, http.StatusPaymentRequired, map[string]any{"error": map[string]any{"type": "card_error", "code": "card_declined",
			"decline_code": "generic_decline", "message": DeclinedMessage, "payment_intent": publicIntent(pi, "requires_payment_method")}})
	}
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (s *Server) succeed(pi stripemock.PaymentIntent) {
	charge := "ch_" + strings.TrimPrefix(pi.ID, "pi_")
	s.intents.SetPaymentIntent(pi.ID, "succeeded", charge, pi.Amount, pi.Currency)
	s.webhook("payment_intent.succeeded", map[string]any{"id": pi.ID, "object": "payment_intent", "status": "succeeded",
		"amount": pi.Amount, "currency": pi.Currency, "latest_charge": charge})
}

func (s *Server) fail(pi stripemock.PaymentIntent, e stripemock.PaymentError) {
	s.intents.FailPaymentIntent(pi.ID, e)
	lpe := map[string]any{"type": "card_error", "code": e.Code, "message": e.Message}
	if e.DeclineCode != "" {
		lpe["decline_code"] = e.DeclineCode
	}
	s.webhook("payment_intent.payment_failed", map[string]any{"id": pi.ID, "object": "payment_intent", "status": "requires_payment_method",
		"amount": pi.Amount, "currency": pi.Currency, "last_payment_error": lpe})
}

// webhook sends a signed event to Options.WebhookURL, as Stripe does after an outcome.
func (s *Server) webhook(typ string, obj map[string]any) {
	s.mu.Lock()
	target, secret := s.opts.WebhookURL, s.opts.WebhookSecret
	s.mu.Unlock()
	if target == "" {
		return
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	payload := stripemock.Event("evt_standin_"+hex.EncodeToString(id[:]), typ, obj)
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(payload))
	if err != nil {
		s.opts.Fail("stand-in Stripe.js: webhook: %v", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", stripemock.Sign(payload, secret, 0))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.opts.Fail("stand-in Stripe.js: webhook %s: %v", typ, err)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		s.opts.Fail("stand-in Stripe.js: webhook %s answered %d: %s", typ, res.StatusCode, body)
	}
}

// handleChallenge is the bank's 3-D Secure page, on the stand-in's origin.
func (s *Server) handleChallenge(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("payment_intent")
	s.mu.Lock()
	ch := s.challenges[id]
	s.mu.Unlock()
	if ch == nil {
		s.misuse("3-D Secure challenge for %q, which needs none", id)
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	amount := fmt.Sprintf("%s %d.%02d", strings.ToUpper(ch.pi.Currency), ch.pi.Amount/100, ch.pi.Amount%100)
	_ = s.pages.ExecuteTemplate(w, "challenge.html", map[string]any{"PaymentIntent": ch.pi.ID, "Amount": amount})
}

// handleComplete is the buyer's answer to the challenge: the PaymentIntent succeeds or fails,
// and the buyer goes back to return_url as Stripe sends them.
func (s *Server) handleComplete(w http.ResponseWriter, r *http.Request) {
	id, outcome := r.PostFormValue("payment_intent"), r.PostFormValue("outcome")
	s.mu.Lock()
	ch := s.challenges[id]
	again := ch != nil && ch.done
	if ch != nil {
		ch.done = true
	}
	s.mu.Unlock()
	if ch == nil || again || (outcome != "complete" && outcome != "fail") {
		s.misuse("unexpected 3-D Secure answer %q for %q", outcome, id)
		http.Error(w, "unexpected", http.StatusBadRequest)
		return
	}
	status := "succeeded"
	if outcome == "complete" {
		s.succeed(ch.pi)
	} else {
		status = "failed"
		s.fail(ch.pi, stripemock.PaymentError{Code: "payment_intent_authentication_failure", Message: AuthenticationMessage})
	}
	u, _ := url.Parse(ch.returnURL)
	q := u.Query()
	q.Set("payment_intent", ch.pi.ID)
	q.Set("payment_intent_client_secret", ch.pi.ClientSecret)
	q.Set("redirect_status", status)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// handleMisuse is the stand-in's script reporting a call Stripe.js would refuse.
func (s *Server) handleMisuse(w http.ResponseWriter, r *http.Request) {
	cors(w)
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
	s.misuse("%s", body)
	w.WriteHeader(http.StatusNoContent)
}
