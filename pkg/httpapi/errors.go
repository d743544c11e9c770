// Package httpapi is the HTTP plumbing the three services share: Echo set-up, the error
// envelope, request ids, JSON binding, rate limits, health checks and graceful serving.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
)

// ErrorBody is the contract's error envelope. Plugins read message first, then error, and show
// requestId next to it.
type ErrorBody struct {
	Error     string `json:"error"`
	Message   string `json:"message"`
	Code      string `json:"code"`
	RequestID string `json:"requestId"`
	Field     string `json:"field,omitempty"`
	// HoldRefusal's fields (holdId, action, reason, allowedProviderTypes, allowedProviderIds,
	// customerRiskHold) sit at the top level of a checkout refused by a customer risk hold.
	*domain.HoldRefusal
}

// StatusOf maps a domain error kind to its HTTP status.
func StatusOf(k domain.Kind) int {
	switch k {
	case domain.KindInvalid:
		return http.StatusBadRequest
	case domain.KindUnauthorized:
		return http.StatusUnauthorized
	case domain.KindForbidden:
		return http.StatusForbidden
	case domain.KindNotFound:
		return http.StatusNotFound
	case domain.KindConflict:
		return http.StatusConflict
	case domain.KindUnprocessable:
		return http.StatusUnprocessableEntity
	case domain.KindRateLimited:
		return http.StatusTooManyRequests
	case domain.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case domain.KindUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case domain.KindUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// RetryAfterError is a 429 that says when to come back.
type RetryAfterError struct {
	Seconds int
	Message string
}

func (e *RetryAfterError) Error() string { return e.Message }

// RetryAfterOf is the Retry-After (whole seconds, at least 1) of an error answered with 429: a
// RetryAfterError's seconds, a RATE_LIMITED domain error's wait, else 1. ok is false for errors
// that are not answered with 429.
func RetryAfterOf(err error) (seconds int, ok bool) {
	var ra *RetryAfterError
	var de *domain.Error
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ra):
		return max(ra.Seconds, 1), true
	case errors.As(err, &de):
		if de.Kind != domain.KindRateLimited {
			return 0, false
		}
		return RetryAfterSeconds(de.RetryAfter), true
	case errors.As(err, &he):
		if he.Code != http.StatusTooManyRequests {
			return 0, false
		}
		return 1, true
	}
	return 0, false
}

// ErrorResponse maps an error to its status and envelope. Unknown errors are logged with the
// request id and answered with a generic message.
func ErrorResponse(err error, reqID string, log *slog.Logger, ctx context.Context) (int, ErrorBody) {
	status, body := http.StatusInternalServerError, ErrorBody{Code: domain.CodeInternal, Message: "internal error"}
	var de *domain.Error
	var he *echo.HTTPError
	var ra *RetryAfterError
	switch {
	case errors.As(err, &ra):
		status = http.StatusTooManyRequests
		body = ErrorBody{Code: domain.CodeRateLimited, Message: ra.Message}
	case errors.As(err, &de):
		status = StatusOf(de.Kind)
		body = ErrorBody{Code: de.Code, Message: de.Message, Field: de.Field, HoldRefusal: de.Hold}
		if de.Kind == domain.KindInternal {
			log.ErrorContext(ctx, "internal error", "error", err.Error())
			body = ErrorBody{Code: domain.CodeInternal, Message: "internal error"}
		} else if de.Kind == domain.KindUnavailable {
			log.WarnContext(ctx, "dependency unavailable", "error", err.Error())
		}
	case errors.As(err, &he):
		status = he.Code
		body = echoErrorBody(he)
	default:
		log.ErrorContext(ctx, "unhandled error", "error", err.Error())
	}
	body.Error = body.Message
	body.RequestID = reqID
	return status, body
}

// ErrorHandler writes every error as the envelope, once.
func ErrorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, body := ErrorResponse(err, RequestID(c), log, c.Request().Context())
		if secs, ok := RetryAfterOf(err); ok && status == http.StatusTooManyRequests {
			c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		b, _ := MarshalJSON(body)
		_ = c.Blob(status, echo.MIMEApplicationJSON, b)
	}
}

// MarshalJSON is the one JSON encoding of every API answer: no HTML escaping, no trailing
// newline, so a stored answer replays byte for byte.
func MarshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func echoErrorBody(he *echo.HTTPError) ErrorBody {
	switch he.Code {
	case http.StatusNotFound:
		return ErrorBody{Code: domain.CodeRouteNotFound, Message: "no such route"}
	case http.StatusMethodNotAllowed:
		return ErrorBody{Code: domain.CodeMethodNotAllowed, Message: "method not allowed on this route"}
	case http.StatusRequestEntityTooLarge:
		return ErrorBody{Code: domain.CodeTooLarge, Message: "request body is larger than 1 MiB"}
	case http.StatusUnsupportedMediaType:
		return ErrorBody{Code: domain.CodeUnsupportedMedia, Message: "send the body as application/json"}
	case http.StatusUnauthorized:
		return ErrorBody{Code: domain.CodeUnauthorized, Message: "authentication required"}
	case http.StatusForbidden:
		return ErrorBody{Code: domain.CodeForbidden, Message: "forbidden"}
	case http.StatusTooManyRequests:
		return ErrorBody{Code: domain.CodeRateLimited, Message: "too many requests"}
	case http.StatusBadRequest:
		msg := "bad request"
		if s, ok := he.Message.(string); ok && s != "" {
			msg = s
		}
		return ErrorBody{Code: domain.CodeInvalid, Message: msg}
	}
	if he.Code >= 500 {
		return ErrorBody{Code: domain.CodeInternal, Message: "internal error"}
	}
	msg := http.StatusText(he.Code)
	if s, ok := he.Message.(string); ok && s != "" {
		msg = s
	}
	return ErrorBody{Code: "HTTP_" + strconv.Itoa(he.Code), Message: msg}
}
