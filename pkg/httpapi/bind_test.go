package httpapi

import (
	"errors"
	"testing"

	"paygate.dev/pkg/domain"
)

// Found by FuzzCheckoutCreate: a body with a stray closing bracket after the object
// (`{...}]`) was accepted, because the decoder's More reports false before "]" and "}". Only
// whitespace may follow the one JSON value.
func TestDecodeJSONRefusesAnythingAfterTheValue(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{`{"a":1}]`, `{"a":1}}`, `{"a":1} ]`, `{"a":1}{}`, `{"a":1} 2`, `{"a":1},`, `{"a":1}x`} {
		var v map[string]any
		err := DecodeJSON([]byte(raw), &v)
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != domain.CodeMalformedJSON {
			t.Fatalf("%s: got %v, want MALFORMED_JSON", raw, err)
		}
	}
	for _, raw := range []string{`{"a":1}`, " {\"a\":1} \r\n\t", `{"a":"]"}`} {
		var v map[string]any
		if err := DecodeJSON([]byte(raw), &v); err != nil || v["a"] == nil {
			t.Fatalf("%q: %v", raw, err)
		}
	}
}
