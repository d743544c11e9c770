package duda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"unicode/utf8"
)

// maxErrorBody is how much of an error answer APIError keeps.
const maxErrorBody = 2 << 10

// APIError is a failed call to Duda: an answer outside 2xx (StatusCode set), or no answer at all (StatusCode 0, Err
// set: connection refused, reset, timeout). Use IsNotFound, IsUnauthorized and IsRetryable rather than reading the
// fields.
type APIError struct {
	Method     string
	Path       string // the request path, without host or query
	StatusCode int    // 0 when no answer was received
	Body       string // first 2 KB of the answer, for logs
	Code       string // Duda's error_code, when the body had one
	Message    string // Duda's message, or the transport error
	Err        error  // the transport error when StatusCode is 0
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "duda: %s %s: ", e.Method, e.Path)
	if e.StatusCode == 0 {
		b.WriteString("no answer")
	} else {
		fmt.Fprintf(&b, "%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " [%s]", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Unwrap returns the transport error, if any.
func (e *APIError) Unwrap() error { return e.Err }

// IsNotFound reports whether err is (or wraps) a 404 from Duda.
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// IsUnauthorized reports whether err is (or wraps) a 401 from Duda, including a failed token refresh.
func IsUnauthorized(err error) bool { return statusOf(err) == http.StatusUnauthorized }

// IsRetryable reports whether the same call may succeed later: a 5xx, 429 or 408 answer, or no answer at all
// (network failure, per-call timeout). A caller's own cancellation is not retryable, nor is anything else.
func IsRetryable(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		if ae.StatusCode == 0 {
			return !errors.Is(ae.Err, context.Canceled)
		}
		return ae.StatusCode >= 500 || ae.StatusCode == http.StatusTooManyRequests || ae.StatusCode == http.StatusRequestTimeout
	}
	var ne net.Error
	return errors.As(err, &ne)
}

func statusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return 0
}

// newAPIError builds the error for a non-2xx answer, keeping the first 2 KB of body and Duda's message.
func newAPIError(method, path string, status int, body []byte) *APIError {
	e := &APIError{Method: method, Path: path, StatusCode: status}
	kept := body
	if len(kept) > maxErrorBody {
		kept = kept[:maxErrorBody]
		// Do not cut a rune in half: logs choke on invalid UTF-8.
		for len(kept) > 0 && !utf8.Valid(kept) {
			kept = kept[:len(kept)-1]
		}
	}
	e.Body = strings.ToValidUTF8(string(kept), "\uFFFD")
	var m map[string]any
	if json.Unmarshal(body, &m) == nil {
		e.Code = firstString(m, "error_code", "errorCode", "code")
		e.Message = firstString(m, "message", "error_message", "errorMessage", "error_description", "error")
		if e.Message == "" {
			if inner, ok := m["error"].(map[string]any); ok {
				e.Message = firstString(inner, "message", "description")
				if e.Code == "" {
					e.Code = firstString(inner, "code")
				}
			}
		}
	}
	return e
}

func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}
