package runtimeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"paygate.dev/pkg/logging"
)

// Client calls the runtime API (server to server, from the main frontend).
type Client struct {
	BaseURL string // e.g. http://main-backend:8081
	HTTP    *http.Client
	// InternalToken, shared with the main backend, lets it rate-limit by the buyer's address
	// (forwarded with WithClientIP) instead of the frontend's own.
	InternalToken string
}

// Headers of server-to-server calls.
const (
	HeaderInternalToken = "X-Paygate-Internal-Token"
	HeaderClientIP      = "X-Paygate-Client-IP"
	// HeaderOrgID and HeaderSiteID answer a call with the internal token: the organisation and
	// site the checkout or transaction belongs to, for the frontend's log lines.
	HeaderOrgID  = "X-Paygate-Org-Id"
	HeaderSiteID = "X-Paygate-Site-Id"
)

type clientIPKey struct{}

// WithClientIP records the buyer's address for the calls made with ctx.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

// Error is a non-2xx answer of the runtime API.
type Error struct {
	Status int
	Body   ErrorBody
	// RetryAfter is the Retry-After header in seconds (0 when absent or not a number).
	RetryAfter int
}

func (e *Error) Error() string {
	return fmt.Sprintf("runtime API %d %s: %s", e.Status, e.Body.Code, e.Body.Message)
}

// IsNotFound reports whether err is a 404 from the runtime API.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// RateLimited reports whether err is the runtime API's 429 and, if so, how many seconds it
// asks to wait (at least 1).
func RateLimited(err error) (int, bool) {
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusTooManyRequests {
		return 0, false
	}
	return max(e.RetryAfter, 1), true
}

// GetCheckout fetches what the hosted page shows. requestID is forwarded for log correlation.
func (c *Client) GetCheckout(ctx context.Context, code, requestID string) (*Checkout, error) {
	var out Checkout
	return &out, c.do(ctx, http.MethodGet, "/api/v1/checkouts/"+url.PathEscape(code), nil, requestID, &out)
}

// TaxPreview asks for the tax of a buyer.
func (c *Client) TaxPreview(ctx context.Context, code string, req TaxPreviewRequest, requestID string) (*TaxPreview, error) {
	var out TaxPreview
	return &out, c.do(ctx, http.MethodPost, "/api/v1/checkouts/"+url.PathEscape(code)+"/tax-preview", req, requestID, &out)
}

// TransactionStatus polls a transaction.
func (c *Client) TransactionStatus(ctx context.Context, id, requestID string) (*TransactionStatus, error) {
	var out TransactionStatus
	return &out, c.do(ctx, http.MethodGet, "/api/v1/transactions/"+url.PathEscape(id)+"/status", nil, requestID, &out)
}

func (c *Client) do(ctx context.Context, method, path string, in any, requestID string, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if requestID != "" {
		req.Header.Set("X-Request-ID", requestID)
	}
	if ip, _ := ctx.Value(clientIPKey{}).(string); ip != "" && c.InternalToken != "" {
		req.Header.Set(HeaderInternalToken, c.InternalToken)
		req.Header.Set(HeaderClientIP, ip)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	// The caller's request (a hosted page) concerns the checkout's organisation and site.
	logging.SetTenant(ctx, res.Header.Get(HeaderOrgID), res.Header.Get(HeaderSiteID))
	raw, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		e := &Error{Status: res.StatusCode}
		if n, err := strconv.Atoi(strings.TrimSpace(res.Header.Get("Retry-After"))); err == nil && n > 0 {
			e.RetryAfter = n
		}
		_ = json.Unmarshal(raw, &e.Body)
		return e
	}
	return json.Unmarshal(raw, out)
}
