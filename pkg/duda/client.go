package duda

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout bounds each HTTP attempt unless WithTimeout says otherwise.
const DefaultTimeout = 30 * time.Second

// RefreshMargin is how close to its expiry a token is refreshed before a call rather than risking a 401 midway.
const RefreshMargin = 5 * time.Minute

// maxResponseBody bounds what we read from Duda; its answers are small, a runaway one must not eat memory.
const maxResponseBody = 4 << 20

// DefaultAPIOrigins are the api_endpoint values Duda is known to send: production and sandbox.
var DefaultAPIOrigins = []string{"https://api.duda.co", "https://api-sandbox.duda.co"}

// ErrNoTokens is what a TokenStore should return (wrapped or not) when it has nothing for a site: the app was never
// installed there, or was uninstalled.
var ErrNoTokens = errors.New("duda: no tokens for site")

// AppCredentials identify our app to Duda. AppUser and AppPassword are the App Store API credentials (sent as Basic
// auth on every call), AppUUID names the app in the token refresh path, and AppSecret (base64, as Duda hands it out)
// verifies the lifecycle calls' signatures.
type AppCredentials struct {
	AppUser     string
	AppPassword string
	AppUUID     string
	AppSecret   string
}

// Tokens is a site's access grant. Duda calls the access token "authorization_code"; it lasts about 12 hours.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	ExpiresAt    time.Time // zero when unknown: then only a 401 triggers a refresh
}

// TokenStore persists each site's tokens (the platform keeps them encrypted in its database). The Client calls
// Load before every call and Save after every refresh, always under a per-site lock, so a store needs no locking of
// its own beyond being safe for use by several sites at once. Load returns ErrNoTokens for an unknown site.
type TokenStore interface {
	Load(ctx context.Context, siteName string) (Tokens, error)
	Save(ctx context.Context, siteName string, t Tokens) error
}

// Client calls Duda's App Store API for the sites our app is installed on. It is safe for concurrent use.
//
// Before each call it loads the site's tokens and refreshes them if they expire within RefreshMargin; on a 401 it
// refreshes once and repeats the call once, never more. Concurrent calls for one site never refresh at the same
// time (Duda may rotate the refresh token, and a second refresh with the old one would fail). Nothing else is
// retried: in particular a failed confirm is returned to the caller, whose durable job decides when to try again
// (see IsRetryable).
type Client struct {
	base    string
	creds   AppCredentials
	store   TokenStore
	hc      *http.Client
	now     func() time.Time
	timeout time.Duration

	mu    sync.Mutex
	locks map[string]chan struct{} // per site; one entry per site ever called, which is bounded by our installs
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: a plain http.Client; per-call timeouts come from WithTimeout).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithClock sets the clock used to decide whether a token is about to expire (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(c *Client) {
		if now != nil {
			c.now = now
		}
	}
}

// WithTimeout bounds each HTTP attempt (default DefaultTimeout). A call that refreshes and retries makes up to
// three attempts.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// NewClient returns a client for the api_endpoint a site's install payload named (check it with
// CheckAPIEndpoint first). A malformed endpoint is not reported here but by every call.
func NewClient(apiEndpoint string, creds AppCredentials, store TokenStore, opts ...Option) *Client {
	c := &Client{
		base:    strings.TrimRight(strings.TrimSpace(apiEndpoint), "/"),
		creds:   creds,
		store:   store,
		hc:      &http.Client{},
		now:     time.Now,
		timeout: DefaultTimeout,
		locks:   map[string]chan struct{}{},
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// CheckAPIEndpoint accepts an api_endpoint only when its scheme and host are one of the allowed origins
// (default DefaultAPIOrigins) and it has no path, query or credentials: the app credentials and the site's token
// are sent there.
func CheckAPIEndpoint(endpoint string, allowedOrigins ...string) error {
	if len(allowedOrigins) == 0 {
		allowedOrigins = DefaultAPIOrigins
	}
	u, err := url.Parse(strings.TrimSpace(endpoint))
	if err != nil {
		return fmt.Errorf("duda: api_endpoint %q: %w", endpoint, err)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("duda: api_endpoint %q must be a bare origin", endpoint)
	}
	origin := strings.ToLower(u.Scheme + "://" + u.Host)
	for _, a := range allowedOrigins {
		if strings.ToLower(strings.TrimRight(a, "/")) == origin {
			return nil
		}
	}
	return fmt.Errorf("duda: api_endpoint %q is not a known Duda API origin", endpoint)
}

// ---------------------------------------------------------------------------------------------------------------
// Payment gateways.

// RegisterPaymentGateway adds our gateway to the site's checkout and returns it with Duda's id (keep it: uninstall
// deletes by id). LivePaymentMethodsURL is required. Fails with an *APIError on any answer but 2xx.
func (c *Client) RegisterPaymentGateway(ctx context.Context, siteName string, gw PaymentGateway) (PaymentGateway, error) {
	if gw.LivePaymentMethodsURL == "" {
		return PaymentGateway{}, errors.New("duda: register payment gateway: live_payment_methods_url is required")
	}
	p, err := gatewaysPath(siteName)
	if err != nil {
		return PaymentGateway{}, err
	}
	gw.ID = ""
	var out PaymentGateway
	return out, c.call(ctx, siteName, http.MethodPost, p, nil, gw, &out)
}

// ListPaymentGateways returns one page of the site's registered gateways. A limit of 0 or less leaves paging to
// Duda's default.
func (c *Client) ListPaymentGateways(ctx context.Context, siteName string, offset, limit int) (PaymentGatewayList, error) {
	p, err := gatewaysPath(siteName)
	if err != nil {
		return PaymentGatewayList{}, err
	}
	q := url.Values{}
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out PaymentGatewayList
	return out, c.call(ctx, siteName, http.MethodGet, p, q, nil, &out)
}

// GetPaymentGateway returns one registered gateway; IsNotFound(err) when Duda does not know it.
func (c *Client) GetPaymentGateway(ctx context.Context, siteName, gatewayID string) (PaymentGateway, error) {
	p, err := gatewayPath(siteName, gatewayID)
	if err != nil {
		return PaymentGateway{}, err
	}
	var out PaymentGateway
	return out, c.call(ctx, siteName, http.MethodGet, p, nil, nil, &out)
}

// UpdatePaymentGateway PATCHes the gateway with the non-empty fields of gw (its ID is ignored) and returns the
// result; IsNotFound(err) when Duda does not know it.
func (c *Client) UpdatePaymentGateway(ctx context.Context, siteName, gatewayID string, gw PaymentGateway) (PaymentGateway, error) {
	p, err := gatewayPath(siteName, gatewayID)
	if err != nil {
		return PaymentGateway{}, err
	}
	gw.ID = ""
	var out PaymentGateway
	return out, c.call(ctx, siteName, http.MethodPatch, p, nil, gw, &out)
}

// DeletePaymentGateway removes the gateway from the site's checkout. A 404 counts as already gone (nil), so an
// uninstall can be replayed safely.
func (c *Client) DeletePaymentGateway(ctx context.Context, siteName, gatewayID string) error {
	p, err := gatewayPath(siteName, gatewayID)
	if err != nil {
		return err
	}
	if err := c.call(ctx, siteName, http.MethodDelete, p, nil, nil, nil); err != nil && !IsNotFound(err) {
		return err
	}
	return nil
}

// ---------------------------------------------------------------------------------------------------------------
// Payment sessions and refunds.

// GetPaymentSession fetches the session the shopper arrived with. Amounts stay as Duda wrote them (see Decimal);
// convert with the invoice currency. IsNotFound(err) for an unknown session.
func (c *Client) GetPaymentSession(ctx context.Context, siteName, sessionID string) (PaymentSession, error) {
	p, err := sessionPath(siteName, sessionID)
	if err != nil {
		return PaymentSession{}, err
	}
	var out PaymentSession
	return out, c.call(ctx, siteName, http.MethodGet, p, nil, nil, &out)
}

// ConfirmPaymentSession reports the outcome of a session and returns where Duda wants the shopper sent. The body
// carries the session id (req.SessionID, filled in when empty). The request is checked with Validate first (an error then is final). The call is made once (twice only around a
// token refresh): on failure the *APIError tells, through IsRetryable, whether the platform's durable job should try
// again, which it must until Duda accepts.
func (c *Client) ConfirmPaymentSession(ctx context.Context, siteName, sessionID string, req ConfirmRequest) (ConfirmResponse, error) {
	switch req.SessionID {
	case "":
		req.SessionID = sessionID // Duda requires it in the body as well as in the path
	case sessionID:
	default:
		return ConfirmResponse{}, fmt.Errorf("duda: confirm body names session %q, the path %q", req.SessionID, sessionID)
	}
	if err := req.Validate(); err != nil {
		return ConfirmResponse{}, err
	}
	p, err := sessionPath(siteName, sessionID)
	if err != nil {
		return ConfirmResponse{}, err
	}
	var out ConfirmResponse
	return out, c.call(ctx, siteName, http.MethodPost, p+"/confirm", nil, req, &out)
}

// GetRefundIntent fetches a refund issued from the store dashboard. IsNotFound(err) for an unknown id.
func (c *Client) GetRefundIntent(ctx context.Context, siteName, refundIntentID string) (RefundIntent, error) {
	base, err := ecommercePath(siteName)
	if err != nil {
		return RefundIntent{}, err
	}
	seg, err := segment("refund intent id", refundIntentID)
	if err != nil {
		return RefundIntent{}, err
	}
	var out RefundIntent
	return out, c.call(ctx, siteName, http.MethodGet, base+"/refund-intents/"+seg, nil, nil, &out)
}

// ---------------------------------------------------------------------------------------------------------------
// Paths.

func segment(what, s string) (string, error) {
	// "." and ".." would be resolved away by a proxy and hit another resource.
	if s == "" || s == "." || s == ".." {
		return "", fmt.Errorf("duda: %s %q is not usable in a path", what, s)
	}
	return url.PathEscape(s), nil
}

func ecommercePath(siteName string) (string, error) {
	s, err := segment("site name", siteName)
	if err != nil {
		return "", err
	}
	return "/api/integrationhub/application/site/" + s + "/ecommerce", nil
}

func gatewaysPath(siteName string) (string, error) {
	p, err := ecommercePath(siteName)
	return p + "/payment-gateways", err
}

func gatewayPath(siteName, id string) (string, error) {
	p, err := gatewaysPath(siteName)
	if err != nil {
		return "", err
	}
	seg, err := segment("payment gateway id", id)
	return p + "/" + seg, err
}

func sessionPath(siteName, id string) (string, error) {
	p, err := ecommercePath(siteName)
	if err != nil {
		return "", err
	}
	seg, err := segment("payment session id", id)
	return p + "/payment-sessions/" + seg, err
}

// ---------------------------------------------------------------------------------------------------------------
// Calls and tokens.

// call runs one API call for a site with its token, refreshing first when the token is about to expire, and once
// more (then retrying once) on a 401. out may be nil when the answer is not needed.
func (c *Client) call(ctx context.Context, siteName, method, path string, query url.Values, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("duda: %s %s: encode body: %w", method, path, err)
		}
	}
	tok, err := c.currentToken(ctx, siteName)
	if err != nil {
		return err
	}
	status, resp, err := c.send(ctx, method, path, query, body, tok.AccessToken)
	if err != nil {
		return err
	}
	if status == http.StatusUnauthorized {
		if tok, err = c.refreshAfterUnauthorized(ctx, siteName, tok.AccessToken); err != nil {
			return err
		}
		// One retry only: a second 401 is returned, never looped on.
		if status, resp, err = c.send(ctx, method, path, query, body, tok.AccessToken); err != nil {
			return err
		}
	}
	if status < 200 || status > 299 {
		return newAPIError(method, path, status, resp)
	}
	if out == nil {
		return nil
	}
	if len(bytes.TrimSpace(resp)) == 0 {
		return fmt.Errorf("duda: %s %s: empty answer with status %d", method, path, status)
	}
	if err := json.Unmarshal(resp, out); err != nil {
		return fmt.Errorf("duda: %s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// send makes one HTTP attempt. A transport failure comes back as an *APIError with StatusCode 0.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body []byte, accessToken string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("duda: %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.creds.AppUser+":"+c.creds.AppPassword)))
	if accessToken != "" {
		req.Header.Set("X-DUDA-ACCESS-TOKEN", "Bearer "+accessToken)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "paygate-duda/1")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, &APIError{Method: method, Path: path, Message: err.Error(), Err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBody+1))
	if err != nil {
		return 0, nil, &APIError{Method: method, Path: path, Message: "reading answer: " + err.Error(), Err: err}
	}
	if len(b) > maxResponseBody {
		return 0, nil, fmt.Errorf("duda: %s %s: answer larger than %d bytes", method, path, maxResponseBody)
	}
	return res.StatusCode, b, nil
}

// lockSite serialises token work for one site; it gives up when ctx ends.
func (c *Client) lockSite(ctx context.Context, siteName string) (func(), error) {
	c.mu.Lock()
	ch := c.locks[siteName]
	if ch == nil {
		ch = make(chan struct{}, 1)
		c.locks[siteName] = ch
	}
	c.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// currentToken returns a token good for at least RefreshMargin, refreshing it first if needed.
func (c *Client) currentToken(ctx context.Context, siteName string) (Tokens, error) {
	unlock, err := c.lockSite(ctx, siteName)
	if err != nil {
		return Tokens{}, err
	}
	defer unlock()
	t, err := c.store.Load(ctx, siteName)
	if err != nil {
		return Tokens{}, fmt.Errorf("duda: load tokens for site %q: %w", siteName, err)
	}
	if t.AccessToken != "" && (t.ExpiresAt.IsZero() || c.now().Add(RefreshMargin).Before(t.ExpiresAt)) {
		return t, nil
	}
	return c.refreshLocked(ctx, siteName, t)
}

// refreshAfterUnauthorized refreshes after Duda refused rejected, unless another caller already replaced it while
// we waited for the lock (then its new token is used and Duda is not asked twice).
func (c *Client) refreshAfterUnauthorized(ctx context.Context, siteName, rejected string) (Tokens, error) {
	unlock, err := c.lockSite(ctx, siteName)
	if err != nil {
		return Tokens{}, err
	}
	defer unlock()
	t, err := c.store.Load(ctx, siteName)
	if err != nil {
		return Tokens{}, fmt.Errorf("duda: load tokens for site %q: %w", siteName, err)
	}
	if t.AccessToken != "" && t.AccessToken != rejected {
		return t, nil
	}
	return c.refreshLocked(ctx, siteName, t)
}

// refreshLocked asks Duda for new tokens and saves them; the caller holds the site lock. If Save fails the new
// tokens are lost and the call fails: with a rotated refresh token the site then needs a reinstall, so stores must
// treat Save errors as serious.
func (c *Client) refreshLocked(ctx context.Context, siteName string, old Tokens) (Tokens, error) {
	if old.RefreshToken == "" {
		return Tokens{}, fmt.Errorf("duda: site %q has no refresh token", siteName)
	}
	app, err := segment("app uuid", c.creds.AppUUID)
	if err != nil {
		return Tokens{}, err
	}
	path := "/api/integrationhub/application/" + app + "/token/refresh"
	// Duda's documents disagree on the key; sending both costs nothing.
	body, _ := json.Marshal(map[string]string{"refreshToken": old.RefreshToken, "refresh_token": old.RefreshToken})
	status, resp, err := c.send(ctx, http.MethodPost, path, nil, body, "")
	if err != nil {
		return Tokens{}, fmt.Errorf("duda: refresh token for site %q: %w", siteName, err)
	}
	if status < 200 || status > 299 {
		return Tokens{}, fmt.Errorf("duda: refresh token for site %q: %w", siteName, newAPIError(http.MethodPost, path, status, resp))
	}
	var tr TokenResponse
	if err := json.Unmarshal(resp, &tr); err != nil {
		return Tokens{}, fmt.Errorf("duda: refresh token for site %q: decode answer: %w", siteName, err)
	}
	if tr.AuthorizationCode == "" {
		return Tokens{}, fmt.Errorf("duda: refresh token for site %q: answer has no authorization_code", siteName)
	}
	t := Tokens{AccessToken: tr.AuthorizationCode, RefreshToken: tr.RefreshToken, ExpiresAt: tr.ExpirationDate.Time}
	if t.RefreshToken == "" {
		t.RefreshToken = old.RefreshToken // not rotated
	}
	if err := c.store.Save(ctx, siteName, t); err != nil {
		return Tokens{}, fmt.Errorf("duda: save refreshed tokens for site %q: %w", siteName, err)
	}
	return t, nil
}
