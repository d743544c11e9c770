package gcapi

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
	"runtime"
	"strings"
	"time"
)

// Environments a client can be configured for.
const (
	EnvironmentSandbox = "sandbox"
	EnvironmentLive    = "live"
)

// Base URLs of the two environments.
const (
	LiveBaseURL    = "https://api.gocardless.com"
	SandboxBaseURL = "https://api-sandbox.gocardless.com"
)

// APIVersion is sent as GoCardless-Version on every request.
const APIVersion = "2015-07-06"

const (
	defaultTimeout     = 30 * time.Second
	defaultMaxAttempts = 4
	backoffBase        = 500 * time.Millisecond
	backoffMax         = 8 * time.Second
	maxRateLimitWait   = 60 * time.Second
	maxResponseBytes   = 4 << 20
)

var userAgent = "paygate-gocardless/1.0 " + runtime.Version()

// Config configures a Client. Only AccessToken and Environment are required.
type Config struct {
	AccessToken string
	// Environment is "sandbox" or "live"; it picks the base URL and must match the token.
	Environment string
	// BaseURL overrides the environment's URL (tests point it at gcfake).
	BaseURL    string
	HTTPClient *http.Client
	// Timeout bounds each attempt, not the whole call (default 30s); bound the call with ctx.
	Timeout time.Duration
	// MaxAttempts is the total number of attempts per call, retries included (default 4).
	MaxAttempts int
	// Sleep waits between attempts and must return early with ctx's error when ctx is done.
	Sleep func(context.Context, time.Duration) error
	// Now is the clock RateLimit-Reset is compared with.
	Now func() time.Time
}

// Client calls the GoCardless API with one access token. It is safe for concurrent use.
type Client struct {
	token       string
	environment string
	baseURL     string
	http        *http.Client
	timeout     time.Duration
	maxAttempts int
	sleep       func(context.Context, time.Duration) error
	now         func() time.Time
}

// New checks cfg and returns a client. It fails (wrapping ErrInvalidConfig) when the token is
// empty or has whitespace in it, the environment is not sandbox/live, a sandbox token is used
// with live or a non-sandbox token with sandbox, or BaseURL is not an absolute http(s) URL.
func New(cfg Config) (*Client, error) {
	token := cfg.AccessToken
	switch {
	case token == "":
		return nil, fmt.Errorf("%w: access token is empty", ErrInvalidConfig)
	case strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		// Usually a token pasted with a trailing newline; the header would be rejected anyway.
		return nil, fmt.Errorf("%w: access token contains whitespace or control characters", ErrInvalidConfig)
	}
	c := &Client{
		token:       token,
		environment: cfg.Environment,
		http:        cfg.HTTPClient,
		timeout:     cfg.Timeout,
		maxAttempts: cfg.MaxAttempts,
		sleep:       cfg.Sleep,
		now:         cfg.Now,
	}
	sandboxToken := strings.HasPrefix(token, "sandbox_")
	switch cfg.Environment {
	case EnvironmentSandbox:
		if !sandboxToken {
			return nil, fmt.Errorf("%w: the sandbox environment needs a sandbox access token (sandbox_...)", ErrInvalidConfig)
		}
		c.baseURL = SandboxBaseURL
	case EnvironmentLive:
		if sandboxToken {
			return nil, fmt.Errorf("%w: a sandbox access token cannot be used with the live environment", ErrInvalidConfig)
		}
		c.baseURL = LiveBaseURL
	default:
		return nil, fmt.Errorf("%w: environment must be %q or %q, got %q", ErrInvalidConfig, EnvironmentSandbox, EnvironmentLive, cfg.Environment)
	}
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
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// Environment returns "sandbox" or "live".
func (c *Client) Environment() string { return c.environment }

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

// NewIdempotencyKey returns a random key (32 hex characters). The create calls use one when the
// caller passes none; prefer deriving keys from your own ids so a crash-and-retry of the whole
// operation (not only of the HTTP call) reuses the key.
func NewIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// request describes one logical call; do may send it several times.
type request struct {
	method  string
	path    string // already escaped
	query   url.Values
	body    any
	idemKey string // POST only; fixed for every attempt of this call
}

// do sends r until it succeeds, fails for good, or runs out of attempts, and returns the body of
// the successful answer. Errors are *APIError (wrapped with the method and path), network errors
// wrapped with the same context, or ctx's error when the caller gave up.
func (c *Client) do(ctx context.Context, r request) ([]byte, error) {
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return nil, fmt.Errorf("gocardless: %s %s: encoding request: %w", r.method, r.path, err)
		}
	}
	if r.method == http.MethodPost && r.idemKey == "" {
		r.idemKey = NewIdempotencyKey()
	}
	target := c.baseURL + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}

	var lastErr error
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, c.giveUp(r, attempt-1, err, lastErr)
		}
		body, wait, err := c.attempt(ctx, r, target, payload)
		if err == nil {
			return body, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, c.giveUp(r, attempt, ctxErr, lastErr)
		}
		if wait < 0 { // not retryable
			return nil, fmt.Errorf("gocardless: %s %s: %w", r.method, r.path, err)
		}
		lastErr = err
		if attempt >= c.maxAttempts {
			return nil, fmt.Errorf("gocardless: %s %s: giving up after %d attempts: %w", r.method, r.path, attempt, err)
		}
		if wait == 0 {
			wait = backoff(attempt)
		}
		// No point sleeping past the caller's deadline only to fail then.
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return nil, fmt.Errorf("gocardless: %s %s: not retrying, the next attempt (in %s) would be after the context deadline: %w",
				r.method, r.path, wait.Round(time.Millisecond), err)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, c.giveUp(r, attempt, err, lastErr)
		}
	}
}

func (c *Client) giveUp(r request, attempts int, ctxErr, lastErr error) error {
	if lastErr == nil {
		return fmt.Errorf("gocardless: %s %s: %w", r.method, r.path, ctxErr)
	}
	return fmt.Errorf("gocardless: %s %s: %w after %d attempt(s); last error: %w", r.method, r.path, ctxErr, attempts, lastErr)
}

// attempt sends one HTTP request. wait says what to do on error: <0 do not retry, 0 retry after
// the usual backoff, >0 retry after exactly that long (RateLimit-Reset).
func (c *Client) attempt(ctx context.Context, r request, target string, payload []byte) (body []byte, wait time.Duration, err error) {
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
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("GoCardless-Version", APIVersion)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if r.idemKey != "" {
		req.Header.Set("Idempotency-Key", r.idemKey)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, -1, ctx.Err()
		}
		// Connection refused, reset, per-attempt timeout: the request may or may not have been
		// applied, which is exactly what the idempotency key makes safe to retry.
		return nil, 0, fmt.Errorf("sending request: %w", err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		if ctx.Err() != nil {
			return nil, -1, ctx.Err()
		}
		return nil, 0, fmt.Errorf("reading %d response: %w", resp.StatusCode, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return body, 0, nil
	}

	apiErr := parseAPIError(resp.StatusCode, resp.Header, body)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return nil, c.rateLimitWait(resp.Header), apiErr
	case resp.StatusCode >= 500:
		return nil, 0, apiErr
	default:
		return nil, -1, apiErr
	}
}

// rateLimitWait returns how long to wait before retrying a 429: until RateLimit-Reset (an HTTP
// date), capped at maxRateLimitWait, or 0 (use backoff) when the header is absent, unparseable or
// already past.
func (c *Client) rateLimitWait(h http.Header) time.Duration {
	reset, err := http.ParseTime(h.Get("RateLimit-Reset"))
	if err != nil {
		return 0
	}
	wait := reset.Sub(c.now())
	if wait <= 0 {
		return 0
	}
	return min(wait, maxRateLimitWait)
}

// backoff returns the wait after the given failed attempt: exponential with "equal jitter", so
// a herd of clients that failed together does not retry together.
func backoff(attempt int) time.Duration {
	d := backoffBase << (attempt - 1)
	if d > backoffMax || d <= 0 {
		d = backoffMax
	}
	half := d / 2
	return half + mrand.N(half+1)
}

// parseAPIError turns an error answer into *APIError. A body that is not GoCardless's envelope
// (an HTML page from a proxy, a plain-text 502) becomes Type upstream_error instead of a JSON
// syntax error.
func parseAPIError(status int, h http.Header, body []byte) *APIError {
	var env struct {
		Error *struct {
			Message          string       `json:"message"`
			DocumentationURL string       `json:"documentation_url"`
			Type             string       `json:"type"`
			RequestID        string       `json:"request_id"`
			Code             flexInt      `json:"code"`
			Errors           []FieldError `json:"errors"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Error == nil || (env.Error.Type == "" && env.Error.Message == "") {
		what := "non-JSON response"
		if json.Valid(body) {
			what = "response without a GoCardless error envelope"
		}
		return &APIError{
			StatusCode: status,
			Type:       ErrorTypeUpstream,
			Code:       status,
			Message:    fmt.Sprintf("%d %s", status, what),
			RequestID:  h.Get("X-Request-Id"),
		}
	}
	e := env.Error
	return &APIError{
		StatusCode:       status,
		Type:             e.Type,
		Code:             int(e.Code),
		Message:          e.Message,
		DocumentationURL: e.DocumentationURL,
		RequestID:        e.RequestID,
		Errors:           e.Errors,
	}
}

// decodeEnvelope decodes the resource under key ("payments") of a successful answer.
func decodeEnvelope[T any](r request, body []byte, key string) (*T, error) {
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("gocardless: %s %s: decoding response: %w", r.method, r.path, err)
	}
	raw, ok := env[key]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, fmt.Errorf("gocardless: %s %s: response has no %q", r.method, r.path, key)
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("gocardless: %s %s: decoding %s: %w", r.method, r.path, key, err)
	}
	return v, nil
}

// conflictID returns the resource id an idempotency key already created, if err says so.
func conflictID(err error) (string, *APIError) {
	var ae *APIError
	if errors.As(err, &ae) {
		if id := ae.ConflictingResourceID(); id != "" {
			return id, ae
		}
	}
	return "", nil
}

// resourcePath builds "/collection/{id}[/suffix]", refusing an empty id (which would turn a GET of
// one resource into a list call).
func resourcePath(collection, id, suffix string) (string, error) {
	if strings.TrimSpace(id) == "" {
		return "", &ValidationError{Errors: []FieldError{{Field: "id", Message: "is required"}}}
	}
	return "/" + collection + "/" + url.PathEscape(id) + suffix, nil
}
