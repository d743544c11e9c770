package gcapi_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"paygate.dev/pkg/gcapi"
)

// FuzzGoCardlessWebhook: a body signed with the endpoint secret always passes the signature
// check (and decodes exactly when it is a batch); changing any one byte of the body, any bit of
// the MAC or the secret never passes; an arbitrary Webhook-Signature passes only when it is
// the body's MAC (hex is case-insensitive, so the text may differ in case only); an empty secret
// is a configuration error, never a bad signature and never a batch; a decoded batch re-encodes
// to itself.
func FuzzGoCardlessWebhook(f *testing.F) {
	f.Add([]byte(sampleBatch), hookSecret, uint16(0), uint8(1), "")
	f.Add([]byte(`{"events":[],"meta":{"webhook_id":"WB1"}}`), "s", uint16(5), uint8(0x80), "not-hex-at-all")
	f.Add([]byte(`{"events":[{"id":"EV1","created_at":"2025-03-14T12:00:00+01:00","resource_type":"payments","action":"confirmed"}]}`), "k", uint16(9), uint8(0xff), " F7BC83F430538424B13298E6AA6FB143EF4D59A14946175997479DBC2D1A3CD8 ")
	f.Add([]byte("The quick brown fox jumps over the lazy dog"), "key", uint16(1), uint8(2), "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
	f.Add([]byte(`{"events":null}`), "", uint16(0), uint8(0), "00")
	f.Fuzz(func(t *testing.T, body []byte, secret string, pos uint16, flip uint8, header string) {
		if flip == 0 {
			flip = 1
		}
		if secret == "" {
			batch, err := gcapi.ParseWebhook(body, header, secret)
			if err == nil || errors.Is(err, gcapi.ErrInvalidSignature) || batch != nil {
				t.Fatalf("empty secret: %v, %v", batch, err)
			}
			return
		}
		h := hmac.New(sha256.New, []byte(secret))
		h.Write(body)
		mac := h.Sum(nil)
		sig := gcapi.SignWebhook(body, secret)
		if sig != hex.EncodeToString(mac) {
			t.Fatalf("SignWebhook = %q, want the lower-case hex HMAC %x", sig, mac)
		}
		var want gcapi.WebhookBatch
		isBatch := json.Unmarshal(body, &want) == nil
		batch, err := gcapi.ParseWebhook(body, sig, secret)
		if isBatch != (err == nil) || errors.Is(err, gcapi.ErrInvalidSignature) {
			t.Fatalf("genuine signature: batch=%v err=%v, body is a batch: %v", batch != nil, err, isBatch)
		}
		if err == nil {
			b1, _ := json.Marshal(batch)
			var again gcapi.WebhookBatch
			if err := json.Unmarshal(b1, &again); err != nil {
				t.Fatalf("re-encoded batch %s does not decode: %v", b1, err)
			}
			if b2, _ := json.Marshal(again); !bytes.Equal(b1, b2) {
				t.Fatalf("batch does not round-trip:\n%s\n%s", b1, b2)
			}
		}
		invalid := func(what string, body []byte, sig, secret string) {
			t.Helper()
			if b, err := gcapi.ParseWebhook(body, sig, secret); !errors.Is(err, gcapi.ErrInvalidSignature) || b != nil {
				t.Fatalf("%s: got %v, %v; want ErrInvalidSignature", what, b, err)
			}
		}
		if len(body) > 0 {
			b := bytes.Clone(body)
			b[int(pos)%len(b)] ^= flip
			invalid("one body byte changed", b, sig, secret)
		}
		m := bytes.Clone(mac)
		m[int(pos)%len(m)] ^= flip
		invalid("one MAC byte changed", body, hex.EncodeToString(m), secret)
		s := []byte(secret)
		s[int(pos)%len(s)] ^= flip
		invalid("another secret", body, sig, string(s))
		invalid("truncated signature", body, sig[:len(sig)-2], secret)

		// An arbitrary header passes only when it is this MAC, in either case, padded by spaces.
		_, err = gcapi.ParseWebhook(body, header, secret)
		if passed := !errors.Is(err, gcapi.ErrInvalidSignature); passed != strings.EqualFold(strings.TrimSpace(header), sig) {
			t.Fatalf("header %q: err %v; the MAC is %s", header, err, sig)
		}
	})
}
