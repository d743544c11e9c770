// Package mollieapi is a small typed client for the parts of Mollie's REST API (v2) Paygate
// uses: payments (create, get, cancel), refunds (create, list), chargebacks (list) and
// methods (list). No Go client for Mollie is served by the module proxy, so this one follows
// Mollie's public documentation:
//
//   - Authentication is "Authorization: Bearer <API key>"; the key's prefix (test_ or live_)
//     picks the mode, there is one base URL (https://api.mollie.com/v2).
//   - Amounts are {"currency":"EUR","value":"10.00"}: a string with exactly the currency's
//     decimals; Amount and Minor convert exactly from and to int64 minor units (pkg/money).
//   - Errors are application/hal+json {"status","title","detail","field","_links"}: *APIError.
//   - POST and DELETE calls carry an Idempotency-Key; the same key answers the same request.
//   - 5xx, 429 and network failures are retried with backoff (429 after Retry-After).
package mollieapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// BaseURL is Mollie's API base.
const BaseURL = "https://api.mollie.com"

// Modes of an API key.
const (
	ModeTest = "test"
	ModeLive = "live"
)

const (
	defaultTimeout     = 30 * time.Second
	defaultMaxAttempts = 4
	backoffBase        = 300 * time.Millisecond
	backoffMax         = 8 * time.Second
	maxRetryAfter      = 60 * time.Second
	maxResponseBytes   = 4 << 20
)

// ErrInvalidConfig is wrapped by every error New returns.
var ErrInvalidConfig = errors.New("mollie: invalid config")

// Config configures a Client. Only APIKey is required.
type Config struct {
	// APIKey is a test_ or live_ API key; its prefix is the client's mode.
	APIKey string
	// BaseURL overrides https://api.mollie.com (tests point it at molliefake).
	BaseURL    string
	HTTPClient *http.Client
	// Timeout bounds each attempt (default 30s); bound the whole call with ctx.
	Timeout time.Duration
	// MaxAttempts is the number of attempts per call, retries included (default 4).
	MaxAttempts int
	// Sleep waits between attempts; it must return ctx's error once ctx is done.
	Sleep func(context.Context, time.Duration) error
}

// Client calls Mollie with one API key. It is safe for concurrent use.
type Client struct {
	key, mode, baseURL string
	http               *http.Client
	timeout            time.Duration
	maxAttempts        int
	sleep              func(context.Context, time.Duration) error
}

// KeyMode returns the mode of an API key ("test" or "live"), or "" when it is neither.
func KeyMode(key string) string {
	switch {
	case strings.HasPrefix(key, "test_") && len(key) > len("test_"):
		return ModeTest
	case strings.HasPrefix(key, "live_") && len(key) > len("live_"):
		return ModeLive
	}
	return ""
}

// New checks cfg and returns a client.
func New(cfg Config) (*Client, error) {
	if strings.ContainsFunc(cfg.APIKey, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, fmt.Errorf("%w: the API key contains whitespace or control characters", ErrInvalidConfig)
	}
	mode := KeyMode(cfg.APIKey)
	if mode == "" {
		return nil, fmt.Errorf("%w: the API key must start with test_ or live_", ErrInvalidConfig)
	}
	c := &Client{key: cfg.APIKey, mode: mode, baseURL: BaseURL, http: cfg.HTTPClient, timeout: cfg.Timeout, maxAttempts: cfg.MaxAttempts, sleep: cfg.Sleep}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: base URL %q is not an absolute http(s) URL", ErrInvalidConfig, cfg.BaseURL)
		}
		c.baseURL = strings.TrimRight(cfg.BaseURL, "/")
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.timeout <= 0 {
		c.timeout = defaultTimeout
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = defaultMaxAttempts
	}
	if c.sleep == nil {
		c.sleep = sleepContext
	}
	return c, nil
}

// Mode is the API key's mode: "test" or "live".
func (c *Client) Mode() string { return c.mode }

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// NewIdempotencyKey returns a random key; prefer keys derived from your own ids.
func NewIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type request struct {
	method, path string
	query        url.Values
	body         any
	idemKey      string
}

// do sends r until it succeeds, fails for good or runs out of attempts.
func (c *Client) do(ctx context.Context, r request) ([]byte, error) {
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return nil, fmt.Errorf("mollie: %s %s: encoding request: %w", r.method, r.path, err)
		}
	}
	if (r.method == http.MethodPost || r.method == http.MethodDelete) && r.idemKey == "" {
		r.idemKey = NewIdempotencyKey()
	}
	target := c.baseURL + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	for attempt := 1; ; attempt++ {
		body, wait, err := c.attempt(ctx, r, target, payload)
		if err == nil {
			return body, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("mollie: %s %s: %w (after %d attempt(s): %w)", r.method, r.path, ctx.Err(), attempt, err)
		}
		if wait < 0 {
			return nil, fmt.Errorf("mollie: %s %s: %w", r.method, r.path, err)
		}
		if attempt >= c.maxAttempts {
			return nil, fmt.Errorf("mollie: %s %s: giving up after %d attempts: %w", r.method, r.path, attempt, err)
		}
		if wait == 0 {
			wait = backoff(attempt)
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return nil, fmt.Errorf("mollie: %s %s: not retrying after the context deadline: %w", r.method, r.path, err)
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return nil, fmt.Errorf("mollie: %s %s: %w (last error: %w)", r.method, r.path, serr, err)
		}
	}
}

// attempt sends one request. wait: <0 do not retry, 0 retry after backoff, >0 after that long.
func (c *Client) attempt(ctx context.Context, r request, target string, payload []byte) ([]byte, time.Duration, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, r.method, target, rd)
	if err != nil {
		return nil, -1, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/hal+json")
	req.Header.Set("User-Agent", "paygate-mollie/1.0")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.idemKey != "" {
		req.Header.Set("Idempotency-Key", r.idemKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The request may or may not have arrived: the idempotency key makes a retry safe.
		return nil, 0, fmt.Errorf("sending request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, 0, fmt.Errorf("reading %d response: %w", resp.StatusCode, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return body, 0, nil
	}
	apiErr := parseAPIError(resp.StatusCode, body)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return nil, retryAfter(resp.Header.Get("Retry-After")), apiErr
	case resp.StatusCode >= 500:
		return nil, 0, apiErr
	}
	return nil, -1, apiErr
}

// retryAfter reads Retry-After in seconds (capped), 0 when absent or unreadable.
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0
	}
	return min(time.Duration(n)*time.Second, maxRetryAfter)
}

// backoff is exponential with equal jitter.
func backoff(attempt int) time.Duration {
	d := backoffBase << (attempt - 1)
	if d > backoffMax || d <= 0 {
		d = backoffMax
	}
	half := d / 2
	return half + mrand.N(half+1)
}

func decode[T any](r request, body []byte) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(body, v); err != nil {
		return nil, fmt.Errorf("mollie: %s %s: decoding response: %w", r.method, r.path, err)
	}
	return v, nil
}

// idPath builds "/v2/<collection>/<id><suffix>", refusing an empty id.
func idPath(collection, id, suffix string) (string, error) {
	if strings.TrimSpace(id) == "" {
		return "", &ValidationError{Field: "id", Message: "is required"}
	}
	return "/v2/" + collection + "/" + url.PathEscape(id) + suffix, nil
}
