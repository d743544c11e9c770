package gcapi

import (
	"errors"
	"fmt"
	"strings"
)

// Error types GoCardless puts in the error envelope's "type" field, plus the one this client
// invents for answers that carry no envelope at all.
const (
	ErrorTypeValidationFailed = "validation_failed"
	ErrorTypeInvalidAPIUsage  = "invalid_api_usage"
	ErrorTypeInvalidState     = "invalid_state"
	ErrorTypeGoCardless       = "gocardless"
	// ErrorTypeUpstream marks an error answer whose body was not GoCardless's JSON envelope,
	// typically an HTML page from a proxy or load balancer in front of the API.
	ErrorTypeUpstream = "upstream_error"
)

// Reasons (errors[].reason) the client acts on.
const (
	ReasonIdempotentCreationConflict = "idempotent_creation_conflict"
	ReasonRateLimitExceeded          = "rate_limit_exceeded"
	ReasonResourceNotFound           = "resource_not_found"
)

var (
	// ErrInvalidSignature is returned by ParseWebhook when the Webhook-Signature header is missing,
	// malformed or does not match the body. Answer such deliveries with HTTP 498.
	ErrInvalidSignature = errors.New("gocardless: invalid webhook signature")

	// ErrInvalidConfig is wrapped by every error New returns.
	ErrInvalidConfig = errors.New("gocardless: invalid config")

	// ErrSandboxOnly is returned by calls that only exist in the sandbox (scenario simulators)
	// when the client is configured for live.
	ErrSandboxOnly = errors.New("gocardless: only available in the sandbox environment")

	// ErrIdempotencyKeyReused is returned when GoCardless reports that an idempotency key already
	// created a resource, but that resource does not match the request (same key, different
	// payment or amount): a bug in how the caller derives keys, never something to paper over.
	ErrIdempotencyKeyReused = errors.New("gocardless: idempotency key already used for a different request")
)

// APIError is an error answer from GoCardless (or from something in front of it).
//
// Code is the numeric code from the envelope, which GoCardless sets to the HTTP status; StatusCode
// is the HTTP status actually received. Errors lists per-field problems for validation_failed and
// the machine-readable reason for the other types.
type APIError struct {
	StatusCode       int
	Type             string
	Code             int
	Message          string
	DocumentationURL string
	RequestID        string
	Errors           []FieldError
}

// FieldError is one entry of the envelope's "errors" array.
type FieldError struct {
	Message        string            `json:"message"`
	Field          string            `json:"field,omitempty"`
	RequestPointer string            `json:"request_pointer,omitempty"`
	Reason         string            `json:"reason,omitempty"`
	Links          map[string]string `json:"links,omitempty"`
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s: %s", e.StatusCode, e.Type, e.Message)
	if details := describeFieldErrors(e.Errors); details != "" {
		b.WriteString(" (" + details + ")")
	}
	if e.RequestID != "" {
		b.WriteString(" request_id=" + e.RequestID)
	}
	return b.String()
}

// ConflictingResourceID returns the id of the resource an idempotency key already created, when
// the error is GoCardless's idempotent_creation_conflict, and "" otherwise.
func (e *APIError) ConflictingResourceID() string {
	if e == nil || e.StatusCode != 409 || e.Type != ErrorTypeInvalidState {
		return ""
	}
	for _, fe := range e.Errors {
		if fe.Reason == ReasonIdempotentCreationConflict {
			return fe.Links["conflicting_resource_id"]
		}
	}
	return ""
}

func (e *APIError) hasReason(reason string) bool {
	for _, fe := range e.Errors {
		if fe.Reason == reason {
			return true
		}
	}
	return false
}

// ValidationError is returned, before any request is sent, when the client's own checks reject
// the input (amount not positive, currency not three letters, metadata over GoCardless's limits...).
// Errors uses the same shape as a validation_failed answer so callers can treat both alike.
type ValidationError struct {
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	return "gocardless: invalid request: " + describeFieldErrors(e.Errors)
}

func describeFieldErrors(errs []FieldError) string {
	parts := make([]string, 0, len(errs))
	for _, fe := range errs {
		switch {
		case fe.Field != "":
			parts = append(parts, fe.Field+" "+fe.Message)
		case fe.Reason != "" && fe.Message == "":
			parts = append(parts, fe.Reason)
		default:
			parts = append(parts, fe.Message)
		}
	}
	return strings.Join(parts, "; ")
}

// IsNotFound reports whether err is GoCardless saying the resource does not exist (HTTP 404).
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.StatusCode == 404 || ae.hasReason(ReasonResourceNotFound))
}

// IsValidation reports whether err is a rejected input: either GoCardless's validation_failed
// (HTTP 422) or the client's own pre-flight ValidationError. Retrying such a call cannot help.
func IsValidation(err error) bool {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return true
	}
	var ae *APIError
	return errors.As(err, &ae) && ae.Type == ErrorTypeValidationFailed
}

// IsRateLimited reports whether err is (or, after retries were exhausted, ends with) an HTTP 429.
func IsRateLimited(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.StatusCode == 429 || ae.hasReason(ReasonRateLimitExceeded))
}
