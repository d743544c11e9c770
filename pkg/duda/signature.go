package duda

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Headers Duda signs its app lifecycle calls with.
const (
	HeaderSignature          = "x-duda-signature"
	HeaderSignatureTimestamp = "x-duda-signature-timestamp"
)

// DefaultSignatureTolerance is how far a signature timestamp may be from our clock, either way.
const DefaultSignatureTolerance = 5 * time.Minute

// maxLifecycleBody bounds what VerifyRequest reads; lifecycle payloads are a few hundred bytes.
const maxLifecycleBody = 1 << 20

// Errors from VerifySignature. Answer both with a 4xx and do nothing else.
var (
	// ErrBadSignature: the signature is missing, malformed, or not ours for this timestamp and body.
	ErrBadSignature = errors.New("duda: bad signature")
	// ErrStaleTimestamp: the signature is genuine but its timestamp is outside the tolerance (a replay, or a
	// badly skewed clock).
	ErrStaleTimestamp = errors.New("duda: signature timestamp outside tolerance")
)

// Sign returns Duda's signature of a lifecycle call:
// base64(HMAC-SHA256(key = base64decode(appSecret), message = timestamp + "." + body)). It is for tests and fakes;
// it returns "" when appSecret is not base64, which no signature verifies against.
func Sign(appSecret, timestamp string, body []byte) string {
	key, err := decodeSecret(appSecret)
	if err != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(mac(key, timestamp, body))
}

// VerifySignature checks a lifecycle call: signature and timestamp are the x-duda-signature and
// x-duda-signature-timestamp headers, body is the raw request body as received. The comparison is constant-time.
//
// Duda's documented example sends the timestamp in Unix milliseconds (1570350275357); seconds are accepted too.
// It fails with ErrBadSignature when a header is missing, the timestamp is not a number, or the signature does not
// match (checked first, so a forgery never learns about the clock), and with ErrStaleTimestamp when the timestamp
// is more than tolerance (DefaultSignatureTolerance if 0 or less) away from now, in the past or the future. A
// malformed appSecret is a configuration error, reported as such.
func VerifySignature(appSecret, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := decodeSecret(appSecret)
	if err != nil {
		return err
	}
	timestamp, signature = strings.TrimSpace(timestamp), strings.TrimSpace(signature)
	if timestamp == "" || signature == "" {
		return fmt.Errorf("%w: missing %s or %s header", ErrBadSignature, HeaderSignature, HeaderSignatureTimestamp)
	}
	given, err := decodeB64(signature)
	if err != nil {
		return fmt.Errorf("%w: signature is not base64", ErrBadSignature)
	}
	ok := hmac.Equal(given, mac(key, timestamp, body))
	if !ok {
		// Duda's own examples re-serialise the parsed body before checking; accept the compact form too in case
		// a proxy re-indented it. It still needs the secret.
		var compact bytes.Buffer
		if json.Compact(&compact, body) == nil && !bytes.Equal(compact.Bytes(), body) {
			ok = hmac.Equal(given, mac(key, timestamp, compact.Bytes()))
		}
	}
	if !ok {
		return ErrBadSignature
	}
	at, err := ParseSignatureTimestamp(timestamp)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	if tolerance <= 0 {
		tolerance = DefaultSignatureTolerance
	}
	if d := now.Sub(at); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %s, now %s", ErrStaleTimestamp, at.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

// VerifyRequest reads the body of a lifecycle request (up to 1 MB), verifies it with VerifySignature and returns
// it; r.Body is replaced so later handlers can read it again. Errors are those of VerifySignature, or a read error.
func VerifyRequest(r *http.Request, appSecret string, now time.Time, tolerance time.Duration) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxLifecycleBody+1))
	if err != nil {
		return nil, fmt.Errorf("duda: read lifecycle body: %w", err)
	}
	if len(body) > maxLifecycleBody {
		return nil, fmt.Errorf("duda: lifecycle body larger than %d bytes", maxLifecycleBody)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := VerifySignature(appSecret, r.Header.Get(HeaderSignatureTimestamp), r.Header.Get(HeaderSignature), body, now, tolerance); err != nil {
		return nil, err
	}
	return body, nil
}

// ParseSignatureTimestamp reads an x-duda-signature-timestamp value: Unix milliseconds (what Duda's example
// shows) or Unix seconds, told apart by size.
func ParseSignatureTimestamp(ts string) (time.Time, error) {
	ts = strings.TrimSpace(ts)
	for _, r := range ts {
		if r < '0' || r > '9' {
			return time.Time{}, fmt.Errorf("timestamp %.30q is not a whole number", ts)
		}
	}
	return parseEpoch(ts)
}

func mac(key []byte, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(timestamp))
	h.Write([]byte("."))
	h.Write(body)
	return h.Sum(nil)
}

func decodeSecret(appSecret string) ([]byte, error) {
	key, err := decodeB64(strings.TrimSpace(appSecret))
	if err != nil || len(key) == 0 {
		return nil, errors.New("duda: app secret is not base64 (configuration error)")
	}
	return key, nil
}

// decodeB64 accepts standard or URL-safe base64, padded or not.
func decodeB64(s string) ([]byte, error) {
	var firstErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}
