package gcapi

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"
)

// GoCardless's metadata limits.
const (
	MaxMetadataKeys     = 3
	MaxMetadataKeyLen   = 50
	MaxMetadataValueLen = 500
)

// validator collects field problems so the caller sees all of them at once, with the same
// field/request_pointer shape GoCardless uses in its own 422 answers.
type validator struct {
	root string // "/billing_requests"
	errs []FieldError
}

func (v *validator) add(pointer, field, format string, args ...any) {
	v.errs = append(v.errs, FieldError{
		Field:          field,
		Message:        fmt.Sprintf(format, args...),
		RequestPointer: v.root + pointer,
	})
}

func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	return &ValidationError{Errors: v.errs}
}

func (v *validator) amount(pointer, field string, amount int64) {
	if amount <= 0 {
		v.add(pointer, field, "must be greater than 0 (minor units), got %d", amount)
	}
}

func (v *validator) currency(pointer, field, currency string) {
	if !isCurrencyCode(currency) {
		v.add(pointer, field, "must be a three-letter ISO 4217 code, got %q", currency)
	}
}

func (v *validator) metadata(pointer string, md map[string]string) {
	if len(md) > MaxMetadataKeys {
		v.add(pointer, "metadata", "has %d keys, at most %d are allowed", len(md), MaxMetadataKeys)
	}
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys) // stable error order
	for _, k := range keys {
		switch n := utf8.RuneCountInString(k); {
		case n == 0:
			v.add(pointer, "metadata", "keys must not be empty")
		case n > MaxMetadataKeyLen:
			v.add(pointer, "metadata", "key %q is %d characters, at most %d are allowed", k, n, MaxMetadataKeyLen)
		}
		if n := utf8.RuneCountInString(md[k]); n > MaxMetadataValueLen {
			v.add(pointer, "metadata", "value of %q is %d characters, at most %d are allowed", k, n, MaxMetadataValueLen)
		}
	}
}

func (v *validator) optionalURL(pointer, field, raw string) {
	if raw == "" {
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add(pointer, field, "must be an absolute http(s) URL, got %q", raw)
	}
}

func (v *validator) required(pointer, field, value string) {
	if strings.TrimSpace(value) == "" {
		v.add(pointer, field, "is required")
	}
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') {
			return false
		}
	}
	return true
}
