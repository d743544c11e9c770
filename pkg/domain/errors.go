package domain

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error; the HTTP layer maps each kind to one status code.
type Kind int

// Error kinds, from the caller's point of view.
const (
	KindInternal         Kind = iota // a bug or an outage: logged, answered with a generic message
	KindInvalid                      // the request is malformed or a field is invalid (400)
	KindUnauthorized                 // missing or bad credentials (401)
	KindForbidden                    // authenticated but not allowed (403)
	KindNotFound                     // unknown object, or another tenant's (404)
	KindConflict                     // the object's state does not allow it, or a duplicate (409)
	KindUnprocessable                // well-formed but semantically impossible (422)
	KindRateLimited                  // too many requests (429)
	KindTooLarge                     // request body too large (413)
	KindUnsupportedMedia             // wrong content type (415)
	KindUnavailable                  // a dependency (provider, database) is unavailable (503)
)

// Stable error codes. Integrations match on these; never rename one.
const (
	CodeInternal             = "INTERNAL_ERROR"
	CodeInvalid              = "INVALID_REQUEST"
	CodeValidation           = "VALIDATION_ERROR"
	CodeAmountMismatch       = "AMOUNT_MISMATCH"
	CodeMalformedJSON        = "MALFORMED_JSON"
	CodeUnauthorized         = "UNAUTHORIZED"
	CodeForbidden            = "FORBIDDEN"
	CodeInsufficientScope    = "INSUFFICIENT_SCOPE"
	CodeLiveModeRequired     = "LIVE_MODE_REQUIRED"
	CodeModeMismatch         = "MODE_MISMATCH"
	CodeSecretShownOnce      = "SECRET_SHOWN_ONCE"
	CodeNotFound             = "NOT_FOUND"
	CodeConflict             = "CONFLICT"
	CodeInvalidState         = "INVALID_STATE"
	CodeIdempotencyReused    = "IDEMPOTENCY_KEY_REUSED"
	CodeIdempotencyInFlight  = "IDEMPOTENCY_KEY_IN_FLIGHT"
	CodeNoProvider           = "NO_PROVIDER_AVAILABLE"
	CodeCheckoutExpired      = "CHECKOUT_EXPIRED"
	CodeCheckoutClosed       = "CHECKOUT_NOT_OPEN"
	CodeAlreadyPaid          = "CHECKOUT_ALREADY_PAID"
	CodeRefundExceedsBalance = "REFUND_EXCEEDS_BALANCE"
	CodeRateLimited          = "RATE_LIMITED"
	CodeTooLarge             = "REQUEST_TOO_LARGE"
	CodeUnsupportedMedia     = "UNSUPPORTED_MEDIA_TYPE"
	CodeUnavailable          = "SERVICE_UNAVAILABLE"
	CodeProviderError        = "PROVIDER_ERROR"
	CodeRouteNotFound        = "ROUTE_NOT_FOUND"
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
)

// CodePaymentDisputed (409): a refund was asked for a payment under dispute (open, or lost:
// the payer already has the money back).
const CodePaymentDisputed = "PAYMENT_DISPUTED"

// CodeIPNURLPrivate (400): an ipnUrl is, or resolves to, a loopback, private or other internal
// address, which notifications may not reach while IPN_ALLOW_PRIVATE_TARGETS is off.
const CodeIPNURLPrivate = "IPN_URL_PRIVATE"

// Error is the platform's error: a kind (how to answer), a stable code (what integrations match
// on) and a human message (what a person reads). Field names the offending input, if any.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Field   string
	Err     error // the cause, for logs; never shown to callers
	// RetryAfter is, for KindRateLimited, how long the caller should wait (0: not known; the
	// HTTP layer then still sends a Retry-After of at least one second).
	RetryAfter time.Duration
	// Also lists further invalid fields the same validation found (KindInvalid): the API
	// answers with the first, forms show them all at once.
	Also []*Error
	// Hold is, for a checkout refused by a customer risk hold, the hold's public details: the
	// HTTP layer puts them at the top level of the error body.
	Hold *HoldRefusal
}

// invalids collects a validation's field errors: the first is the error, the others ride
// along in its Also.
type invalids struct{ first *Error }

func (v *invalids) add(field, format string, args ...any) {
	e := Invalid(field, format, args...)
	if v.first == nil {
		v.first = e
		return
	}
	v.first.Also = append(v.first.Also, e)
}

func (v *invalids) err() error {
	if v.first == nil {
		return nil
	}
	return v.first
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap exposes the cause to errors.Is / errors.As.
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error of the given kind and code.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports a bad field value (400 VALIDATION_ERROR).
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Code: CodeValidation, Field: field, Message: fmt.Sprintf(format, args...)}
}

// IPNURLPrivate refuses an ipnUrl whose target is an internal address (400 IPN_URL_PRIVATE,
// field ipnUrl); reason says which address and why.
func IPNURLPrivate(reason string) *Error { return TargetPrivate("ipnUrl", reason) }

// TargetPrivate refuses a notification URL (field: ipnUrl, a site's eventsUrl) whose target is
// an internal address (400 IPN_URL_PRIVATE); reason says which address and why.
func TargetPrivate(field, reason string) *Error {
	return &Error{Kind: KindInvalid, Code: CodeIPNURLPrivate, Field: field,
		Message: field + " must not point to a loopback, private or other internal address (" + reason + ")"}
}

// NotFound reports an unknown object, or one that belongs to another organisation.
func NotFound(what string) *Error {
	return &Error{Kind: KindNotFound, Code: CodeNotFound, Message: what + " not found"}
}

// Conflict reports a state that does not allow the operation.
func Conflict(code, format string, args ...any) *Error {
	return &Error{Kind: KindConflict, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Unprocessable reports a well-formed request that cannot be carried out.
func Unprocessable(code, format string, args ...any) *Error {
	return &Error{Kind: KindUnprocessable, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Forbidden reports an authenticated caller lacking a permission.
func Forbidden(code, format string, args ...any) *Error {
	return &Error{Kind: KindForbidden, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected error; its message is never shown to callers.
func Internal(err error, format string, args ...any) *Error {
	return &Error{Kind: KindInternal, Code: CodeInternal, Message: fmt.Sprintf(format, args...), Err: err}
}

// Unavailable wraps a failure of a dependency that may succeed later.
func Unavailable(code string, err error, format string, args ...any) *Error {
	return &Error{Kind: KindUnavailable, Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorKind returns the kind of err, KindInternal when err is not a *Error.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// ErrorCode returns the stable code of err, CodeInternal when err is not a *Error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// IsNotFound reports whether err is a NOT_FOUND error.
func IsNotFound(err error) bool { return ErrorKind(err) == KindNotFound }

// IsConflict reports whether err is a conflict.
func IsConflict(err error) bool { return ErrorKind(err) == KindConflict }

// Invalids collects every invalid field a validation outside this package finds, so that forms
// can show them all at once: the first is the error (what the API answers with), the others
// ride along in its Also.
type Invalids struct{ v invalids }

// Add records a field's error.
func (x *Invalids) Add(field, format string, args ...any) { x.v.add(field, format, args...) }

// Collect records err when it is about the input (KindInvalid, with any errors in its Also) and
// answers nil so that the validation goes on. Any other error is answered as it is when nothing
// was collected yet, and otherwise the collected ones are (the first error found wins).
func (x *Invalids) Collect(err error) error {
	var de *Error
	if err == nil {
		return nil
	}
	if errors.As(err, &de) && de.Kind == KindInvalid {
		more := de.Also
		first := *de
		first.Also = nil
		if x.v.first == nil {
			x.v.first = &first
		} else {
			x.v.first.Also = append(x.v.first.Also, &first)
		}
		x.v.first.Also = append(x.v.first.Also, more...)
		return nil
	}
	if x.v.first != nil {
		return x.v.first
	}
	return err
}

// Failed reports whether an error was recorded.
func (x *Invalids) Failed() bool { return x.v.first != nil }

// Err is the collected error (nil when every field is valid).
func (x *Invalids) Err() error { return x.v.err() }
