package mollieapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// APIError is an error answer from Mollie (application/hal+json), or from something in front
// of it (then Title says the body was not Mollie's).
type APIError struct {
	StatusCode int
	Title      string
	Detail     string
	// Field names the request field at fault (validation errors), if any.
	Field string
	// DocumentationURL is _links.documentation.href.
	DocumentationURL string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%d %s", e.StatusCode, e.Title)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Field != "" {
		s += " (field " + e.Field + ")"
	}
	return s
}

// ValidationError is the client's own refusal of an input, before anything is sent.
type ValidationError struct {
	Field, Message string
}

func (e *ValidationError) Error() string {
	return "mollie: invalid request: " + e.Field + " " + e.Message
}

func parseAPIError(status int, body []byte) *APIError {
	var env struct {
		Status int    `json:"status"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Field  string `json:"field"`
		Links  struct {
			Documentation struct {
				Href string `json:"href"`
			} `json:"documentation"`
		} `json:"_links"`
	}
	if err := json.Unmarshal(body, &env); err != nil || (env.Title == "" && env.Detail == "") {
		return &APIError{StatusCode: status, Title: http.StatusText(status), Detail: "response without a Mollie error body"}
	}
	return &APIError{StatusCode: status, Title: env.Title, Detail: env.Detail, Field: env.Field, DocumentationURL: env.Links.Documentation.Href}
}

func statusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return 0
}

// IsNotFound reports whether Mollie said the object does not exist (404, or 410 for a
// removed one).
func IsNotFound(err error) bool {
	s := statusOf(err)
	return s == http.StatusNotFound || s == http.StatusGone
}

// IsUnauthorized reports whether Mollie refused the API key.
func IsUnauthorized(err error) bool {
	s := statusOf(err)
	return s == http.StatusUnauthorized || s == http.StatusForbidden
}

// IsUnprocessable reports whether Mollie refused the request as such (4xx other than 429):
// retrying it cannot help.
func IsUnprocessable(err error) bool {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return true
	}
	s := statusOf(err)
	return s >= 400 && s < 500 && s != http.StatusTooManyRequests
}
