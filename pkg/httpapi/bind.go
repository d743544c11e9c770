package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
)

// ReadJSON reads a JSON request body into dst: 415 for another content type, 413 above the body
// limit, 400 MALFORMED_JSON with the position or field for a body that does not decode.
// An empty body decodes as {} so optional-body POSTs work. It returns the raw body.
func ReadJSON(c echo.Context, dst any) ([]byte, error) {
	req := c.Request()
	raw, err := io.ReadAll(req.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &domain.Error{Kind: domain.KindTooLarge, Code: domain.CodeTooLarge, Message: fmt.Sprintf("request body is larger than %d bytes", mbe.Limit)}
		}
		return nil, &domain.Error{Kind: domain.KindInvalid, Code: domain.CodeMalformedJSON, Message: "could not read the request body"}
	}
	if len(strings.TrimSpace(string(raw))) == 0 {
		raw = []byte("{}")
	} else if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, &domain.Error{Kind: domain.KindUnsupportedMedia, Code: domain.CodeUnsupportedMedia, Message: "Content-Type must be application/json"}
		}
	} else {
		return nil, &domain.Error{Kind: domain.KindUnsupportedMedia, Code: domain.CodeUnsupportedMedia, Message: "Content-Type must be application/json"}
	}
	if err := DecodeJSON(raw, dst); err != nil {
		return nil, err
	}
	return raw, nil
}

// DecodeJSON decodes one JSON value into dst with helpful errors. Strings may not hold the NUL
// character (\u0000): no text column of either database can store it.
func DecodeJSON(raw []byte, dst any) error {
	if hasNULEscape(raw) {
		return &domain.Error{Kind: domain.KindInvalid, Code: domain.CodeValidation, Message: `text must not contain the NUL character (\u0000)`}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	// Only JSON whitespace may follow the value. (dec.More alone let a stray "]" or "}" through.)
	if len(bytes.TrimLeft(raw[dec.InputOffset():], " \t\r\n")) > 0 {
		return &domain.Error{Kind: domain.KindInvalid, Code: domain.CodeMalformedJSON, Message: "the body must hold a single JSON value"}
	}
	return nil
}

// hasNULEscape reports whether a JSON text holds the escape \u0000 in a string (an odd number
// of backslashes before the "u"; an even number is an escaped backslash followed by text).
func hasNULEscape(raw []byte) bool {
	for i := 0; ; {
		j := bytes.Index(raw[i:], []byte("u0000"))
		if j < 0 {
			return false
		}
		j += i
		n := 0
		for k := j - 1; k >= 0 && raw[k] == '\\'; k-- {
			n++
		}
		if n%2 == 1 {
			return true
		}
		i = j + 1
	}
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var de *domain.Error
	switch {
	case errors.As(err, &de):
		return de
	case errors.As(err, &syn):
		return &domain.Error{Kind: domain.KindInvalid, Code: domain.CodeMalformedJSON, Message: fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, syn.Error())}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return &domain.Error{Kind: domain.KindInvalid, Code: domain.CodeMalformedJSON, Message: fmt.Sprintf("the body must be a JSON %s", describeType(typ.Type.Kind().String()))}
		}
		return &domain.Error{Kind: domain.KindInvalid, Code: domain.CodeValidation, Field: field,
			Message: fmt.Sprintf("%s must be %s, not a JSON %s", field, describeType(typ.Type.String()), typ.Value)}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &domain.Error{Kind: domain.KindInvalid, Code: domain.CodeMalformedJSON, Message: "malformed JSON: the body ends too early"}
	}
	return &domain.Error{Kind: domain.KindInvalid, Code: domain.CodeMalformedJSON, Message: "malformed JSON: " + err.Error()}
}

func describeType(t string) string {
	switch {
	case strings.Contains(t, "int"):
		return "an integer"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map"), t == "struct", strings.Contains(t, "."):
		return "an object"
	}
	return "a " + t
}
