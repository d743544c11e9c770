package gcfake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// DefaultAccessToken is the token the fake accepts unless WithAccessToken says otherwise.
const DefaultAccessToken = "sandbox_gcfake_access_token"

// APIVersion is the only GoCardless-Version the fake accepts.
const APIVersion = "2015-07-06"

// Server is an in-memory GoCardless sandbox behind an httptest server. All methods are safe for
// concurrent use.
type Server struct {
	tb          testing.TB
	srv         *httptest.Server
	mux         *http.ServeMux
	token       string
	now         func() time.Time
	hookClient  *http.Client
	autoDeliver bool
	creditor    string // default creditor's name
	tag         string // makes ids unique across fakes sharing one database
	reqSeq      atomic.Int64
	jitter      time.Duration // each API request is delayed up to this before it is handled

	mu              sync.Mutex
	seq             int
	billingRequests map[string]*BillingRequest
	flows           map[string]*BillingRequestFlow
	payments        map[string]*Payment
	mandates        map[string]*Mandate
	refunds         map[string]*Refund
	customers       map[string]*Customer
	creditors       []*Creditor
	idem            map[string]string // endpoint + "\x00" + key → created resource id
	failures        []FailureKind
	requests        []Request
	events          []Event
	pending         []string // event ids not yet put in a batch
	outbox          []*batch // batches not yet answered 2xx
	deliveries      []Delivery
	delivering      int
	webhookURL      string
	webhookSecret   string

	deliverMu sync.Mutex // serialises deliveries so batches go out in order
	kick      chan struct{}
}

// Option configures a Server.
type Option func(*Server)

// WithAccessToken sets the one access token the fake accepts (others get 401).
func WithAccessToken(token string) Option { return func(s *Server) { s.token = token } }

// WithClock sets the fake's clock (created_at, charge dates, flow expiry, RateLimit-Reset).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithWebhook sets the endpoint events are delivered to and the secret batches are signed with.
func WithWebhook(url, secret string) Option {
	return func(s *Server) { s.webhookURL, s.webhookSecret = url, secret }
}

// WithAutoDeliver delivers events without DeliverEvents: asynchronously after API calls and flow
// pages, synchronously (before returning) from Simulate and Pay.
func WithAutoDeliver() Option { return func(s *Server) { s.autoDeliver = true } }

// WithJitter delays each API request (not the authorisation pages) by a random duration below
// max before handling it, as the network between a client and GoCardless does: requests sent
// at the same time may then be handled in any order.
func WithJitter(max time.Duration) Option { return func(s *Server) { s.jitter = max } }

// WithCreditorName names the default creditor served by GET /creditors.
func WithCreditorName(name string) Option { return func(s *Server) { s.creditor = name } }

// WithWebhookClient sets the HTTP client used for webhook deliveries.
func WithWebhookClient(c *http.Client) Option { return func(s *Server) { s.hookClient = c } }

// New starts a fake GoCardless API and stops it when the test ends.
func New(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := &Server{
		tb:              tb,
		token:           DefaultAccessToken,
		now:             time.Now,
		hookClient:      &http.Client{Timeout: 10 * time.Second},
		creditor:        "Paygate Test Creditor",
		billingRequests: map[string]*BillingRequest{},
		flows:           map[string]*BillingRequestFlow{},
		payments:        map[string]*Payment{},
		mandates:        map[string]*Mandate{},
		refunds:         map[string]*Refund{},
		customers:       map[string]*Customer{},
		idem:            map[string]string{},
		kick:            make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(s)
	}
	const alphabet = "ABCDEFGHJKMNPQRSTVWXYZ0123456789"
	var tag [4]byte
	for i := range tag {
		tag[i] = alphabet[mrand.IntN(len(alphabet))]
	}
	s.tag = string(tag[:])
	s.creditors = []*Creditor{{
		ID: s.newIDLocked("CR"), CreatedAt: s.nowUTC(), Name: s.creditor, CountryCode: "GB",
		VerificationStatus: "successful", CanCreateRefunds: true,
	}}
	s.routes()
	s.srv = httptest.NewServer(s)

	ctx, cancel := context.WithCancel(context.Background())
	workerDone := make(chan struct{})
	go s.deliveryWorker(ctx, workerDone)
	tb.Cleanup(func() {
		cancel()
		<-workerDone
		s.srv.Close()
	})
	return s
}

// URL is the base URL to give the client (Config.BaseURL).
func (s *Server) URL() string { return s.srv.URL }

// AccessToken is the token the fake accepts.
func (s *Server) AccessToken() string { return s.token }

func (s *Server) nowUTC() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// newIDLocked returns a GoCardless-looking id: prefix, the fake's tag, a sequence number.
func (s *Server) newIDLocked(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%s%06d", prefix, s.tag, s.seq)
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /billing_requests", s.handleCreateBillingRequest)
	m.HandleFunc("GET /billing_requests/{id}", serveOne(s, "billing_requests", s.BillingRequest))
	m.HandleFunc("POST /billing_requests/{id}/actions/cancel", s.handleCancelBillingRequest)
	m.HandleFunc("POST /billing_request_flows", s.handleCreateFlow)
	m.HandleFunc("GET /payments/{id}", serveOne(s, "payments", s.Payment))
	m.HandleFunc("GET /mandates/{id}", serveOne(s, "mandates", s.Mandate))
	m.HandleFunc("POST /refunds", s.handleCreateRefund)
	m.HandleFunc("GET /refunds/{id}", serveOne(s, "refunds", s.Refund))
	m.HandleFunc("GET /creditors", s.handleListCreditors)
	m.HandleFunc("POST /scenario_simulators/{id}/actions/run", s.handleRunSimulator)
	m.HandleFunc("GET /flow/{id}", s.handleFlowPage)
	m.HandleFunc("POST /flow/{id}/pay", s.handleFlowPay)
	m.HandleFunc("GET /flow/{id}/exit", s.handleFlowExit)
	m.HandleFunc("POST /flow/{id}/exit", s.handleFlowExit)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, http.StatusNotFound, "invalid_api_usage", "Path not found", []fieldError{{Reason: "path_not_found", Message: "Path not found"}})
	})
	s.mux = m
}

// Request is one request the fake received, recorded before any failure was injected.
type Request struct {
	Method         string
	Path           string
	Query          string
	IdempotencyKey string
	Header         http.Header
	Body           []byte
	Status         int         // status written (0 when the connection was dropped)
	Injected       FailureKind // the failure FailNext injected, if any
}

// Requests returns every request received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Header = r.Header.Clone()
		r.Body = bytes.Clone(r.Body)
		out[i] = r
	}
	return out
}

// RequestsTo returns the requests received for one method and path, oldest first.
func (s *Server) RequestsTo(method, path string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Method == method && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// FailureKind is a failure FailNext can inject.
type FailureKind string

// Failures FailNext can inject.
const (
	// FailRateLimited answers 429 rate_limit_exceeded with RateLimit-Reset two seconds ahead
	// (whole seconds, so with a whole-second clock the wait is exactly 2s).
	FailRateLimited FailureKind = "rate_limited"
	// FailInternalError answers 500 with a JSON "gocardless" error.
	FailInternalError FailureKind = "internal_error"
	// FailUnavailable answers 503 with a JSON "gocardless" error.
	FailUnavailable FailureKind = "unavailable"
	// FailBadGatewayHTML answers 502 with an HTML page, as a proxy in front of the API would.
	FailBadGatewayHTML FailureKind = "bad_gateway_html"
	// FailConnectionReset closes the connection without processing the request.
	FailConnectionReset FailureKind = "connection_reset"
	// FailLostResponse processes the request (a create does create) and then closes the
	// connection without answering: the case idempotency keys exist for.
	FailLostResponse FailureKind = "lost_response"
)

// FailNext makes the next n API requests (not the authorisation pages) fail with kind.
func (s *Server) FailNext(n int, kind FailureKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, kind)
	}
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

// ServeHTTP records the request, injects failures, checks authentication and dispatches.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))

	isPage := strings.HasPrefix(r.URL.Path, "/flow/")
	if s.jitter > 0 && !isPage {
		time.Sleep(mrand.N(s.jitter))
	}
	s.mu.Lock()
	idx := len(s.requests)
	s.requests = append(s.requests, Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		IdempotencyKey: r.Header.Get("Idempotency-Key"), Header: r.Header.Clone(), Body: body,
	})
	var failure FailureKind
	if !isPage && len(s.failures) > 0 {
		failure, s.failures = s.failures[0], s.failures[1:]
		s.requests[idx].Injected = failure
	}
	s.mu.Unlock()

	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		s.mu.Lock()
		if sw.status != 0 || s.requests[idx].Status == 0 {
			s.requests[idx].Status = sw.status
		}
		s.mu.Unlock()
	}()

	if isPage {
		s.mux.ServeHTTP(sw, r)
		return
	}
	switch failure {
	case "":
	case FailRateLimited:
		reset := s.now().UTC().Truncate(time.Second).Add(2 * time.Second)
		w.Header().Set("RateLimit-Limit", "1000")
		w.Header().Set("RateLimit-Remaining", "0")
		w.Header().Set("RateLimit-Reset", reset.Format(http.TimeFormat))
		s.writeError(sw, http.StatusTooManyRequests, "invalid_api_usage", "Rate limit exceeded",
			[]fieldError{{Reason: "rate_limit_exceeded", Message: "Rate limit exceeded"}})
		return
	case FailInternalError, FailUnavailable:
		status := http.StatusInternalServerError
		if failure == FailUnavailable {
			status = http.StatusServiceUnavailable
		}
		s.writeError(sw, status, "gocardless", "Uh-oh! Something went wrong on our end.",
			[]fieldError{{Reason: "internal_server_error", Message: "Uh-oh! Something went wrong on our end."}})
		return
	case FailBadGatewayHTML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		sw.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(sw, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n")
		return
	case FailConnectionReset:
		s.dropConnection(w)
		return
	case FailLostResponse:
		rec := httptest.NewRecorder()
		s.serveAPI(rec, r)
		s.mu.Lock()
		s.requests[idx].Status = rec.Code
		s.mu.Unlock()
		s.dropConnection(w)
		return
	default:
		panic(fmt.Sprintf("gcfake: unknown failure kind %q", failure))
	}
	s.serveAPI(sw, r)
}

func (s *Server) dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic("gcfake: cannot hijack connection: " + err.Error())
	}
	_ = conn.Close()
}

// serveAPI checks what the real API checks before routing: token, version header, content type.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	s.setRateLimitHeaders(w)
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		s.writeError(w, http.StatusUnauthorized, "invalid_api_usage", "Invalid token",
			[]fieldError{{Reason: "access_token_not_found", Message: "Access token not found"}})
		return
	}
	switch v := r.Header.Get("GoCardless-Version"); v {
	case APIVersion:
	case "":
		s.writeError(w, http.StatusBadRequest, "invalid_api_usage", "GoCardless-Version header is required",
			[]fieldError{{Reason: "missing_version_header", Message: "GoCardless-Version header is required"}})
		return
	default:
		s.writeError(w, http.StatusBadRequest, "invalid_api_usage", "Version not found",
			[]fieldError{{Reason: "version_not_found", Message: fmt.Sprintf("GoCardless-Version %q is not supported", v)}})
		return
	}
	if r.Method == http.MethodPost && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		s.writeError(w, http.StatusUnsupportedMediaType, "invalid_api_usage", "Content-Type must be application/json",
			[]fieldError{{Reason: "invalid_content_type", Message: "Content-Type must be application/json"}})
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) setRateLimitHeaders(w http.ResponseWriter) {
	if w.Header().Get("RateLimit-Limit") != "" {
		return
	}
	w.Header().Set("RateLimit-Limit", "1000")
	w.Header().Set("RateLimit-Remaining", "999")
	w.Header().Set("RateLimit-Reset", s.now().UTC().Truncate(time.Minute).Add(time.Minute).Format(http.TimeFormat))
}

type fieldError struct {
	Field          string            `json:"field,omitempty"`
	Message        string            `json:"message"`
	RequestPointer string            `json:"request_pointer,omitempty"`
	Reason         string            `json:"reason,omitempty"`
	Links          map[string]string `json:"links,omitempty"`
}

// writeError writes GoCardless's error envelope.
func (s *Server) writeError(w http.ResponseWriter, status int, typ, message string, errs []fieldError) {
	if errs == nil {
		errs = []fieldError{}
	}
	anchor := typ
	if len(errs) > 0 && errs[0].Reason != "" {
		anchor = errs[0].Reason
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"message":           message,
		"documentation_url": "https://developer.gocardless.com/api-reference#" + anchor,
		"type":              typ,
		"request_id":        fmt.Sprintf("RQ%s%08d", s.tag, s.reqSeq.Add(1)),
		"code":              status,
		"errors":            errs,
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("gcfake: encoding answer: " + err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
