package stripe

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	stripego "github.com/stripe/stripe-go/v76"

	"paygate.dev/pkg/providers"
)

// stripeMAC is an independent HMAC-SHA256 of "t.body", as Stripe signs.
func stripeMAC(secret string, t int64, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(h, "%d.", t)
	h.Write(body)
	return h.Sum(nil)
}

// headerIsGenuine is a reference reading of a Stripe-Signature header: comma-separated k=v
// pairs, the last t= is the timestamp, and some v1= value is the hex MAC of t.body.
func headerIsGenuine(header, secret string, body []byte) bool {
	var ts int64
	var sigs []string
	for _, pair := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || strings.Contains(v, "=") {
			return false
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return false
			}
			ts = n
		case "v1":
			sigs = append(sigs, strings.ToLower(v))
		}
	}
	want := hex.EncodeToString(stripeMAC(secret, ts, body))
	for _, s := range sigs {
		if s == want {
			return time.Since(time.Unix(ts, 0)) <= SignatureTolerance
		}
	}
	return false
}

// FuzzStripeWebhook: a body signed with the webhook secret within the tolerance always verifies
// when it is a Stripe event (and yields its id and type, with the body untouched), and is
// refused when it is not; changing any one byte of the body, any bit of the MAC, the timestamp
// or the secret never verifies, nor does a genuine signature older than the tolerance; one
// changed byte of the header verifies only when it changes the case of the hex; an arbitrary
// header verifies only when it carries the MAC of its own timestamp and the body.
//
// An empty secret is not fuzzed: stripe-go would check an HMAC keyed with nothing, and
// domain.ValidateCredentials never lets a Stripe provider have one (required, whsec_ prefix).
func FuzzStripeWebhook(f *testing.F) {
	ev := func(id, typ string) []byte {
		b, _ := json.Marshal(map[string]any{"id": id, "object": "event", "type": typ, "api_version": stripego.APIVersion,
			"created": 1700000000, "livemode": false, "data": map[string]any{"object": map[string]any{"id": "pi_1", "object": "payment_intent", "amount": 2499}}})
		return b
	}
	f.Add(ev("evt_succ_1", "payment_intent.succeeded"), "whsec_test", uint16(0), uint8(1), uint16(0), "t=1700000000,v1=00")
	f.Add(ev("evt_other", "customer.created"), "whsec_x", uint16(17), uint8(0x80), uint16(299), "t=1,v1=zz,v0=abc")
	f.Add([]byte(`{"id":"evt_1","type":"charge.refunded","api_version":"2019-01-01"}`), "s", uint16(3), uint8(0xff), uint16(150), "")
	f.Add([]byte(`not json`), "whsec_test", uint16(1), uint8(2), uint16(10), "t=9999999999,v1=abcdef")
	f.Add([]byte(`{"id":1}`), "k", uint16(2), uint8(3), uint16(20), ",,,=")
	f.Fuzz(func(t *testing.T, body []byte, secret string, pos uint16, flip uint8, age uint16, header string) {
		if secret == "" { // an empty secret never verifies, even with its own HMAC
			ts := time.Now().Unix()
			if _, err := verifyEvent(body, fmt.Sprintf("t=%d,v1=%x", ts, stripeMAC("", ts, body)), ""); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("an HMAC with an empty secret verifies (%v)", err)
			}
			return
		}
		if flip == 0 {
			flip = 1
		}
		ts := time.Now().Unix() - int64(age%30)
		mac := stripeMAC(secret, ts, body)
		good := fmt.Sprintf("t=%d,v1=%s", ts, hex.EncodeToString(mac))
		var want stripego.Event
		_ = json.Unmarshal(body, &want)
		_, perr := parseEvent(body)
		isEvent := perr == nil
		got, err := verifyEvent(body, good, secret)
		if isEvent != (err == nil) {
			t.Fatalf("genuine signature: %v; body is a well-formed Stripe event: %v", err, isEvent)
		}
		if err == nil && (got.ExternalID != want.ID || got.Type != string(want.Type) || !bytes.Equal(got.Payload, body)) {
			t.Fatalf("verified event %+v, want id %q type %q and the body as sent", got, want.ID, want.Type)
		}
		if err != nil && (!errors.Is(err, providers.ErrMalformed) || errors.Is(err, ErrBadSignature)) {
			t.Fatalf("a genuinely signed body is refused as %v, not as malformed", err)
		}
		refused := func(what string, body []byte, header, secret string) {
			t.Helper()
			if _, err := verifyEvent(body, header, secret); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("%s: %q verifies (%v)", what, header, err)
			}
		}
		if len(body) > 0 {
			b := bytes.Clone(body)
			b[int(pos)%len(b)] ^= flip
			refused("one body byte changed", b, good, secret)
		}
		m := bytes.Clone(mac)
		m[int(pos)%len(m)] ^= flip
		refused("one MAC byte changed", body, fmt.Sprintf("t=%d,v1=%x", ts, m), secret)
		refused("another timestamp", body, fmt.Sprintf("t=%d,v1=%x", ts-1-int64(flip), mac), secret)
		s := []byte(secret)
		s[int(pos)%len(s)] ^= flip
		refused("another secret", body, good, string(s))
		old := ts - int64(SignatureTolerance/time.Second) - 1 - int64(flip)
		refused("a genuine but stale signature", body, fmt.Sprintf("t=%d,v1=%x", old, stripeMAC(secret, old, body)), secret)

		if isEvent {
			h := []byte(good)
			h[int(pos)%len(h)] ^= flip
			if _, err := verifyEvent(body, string(h), secret); err == nil && strings.ToLower(string(h)) != good {
				t.Fatalf("header %q (one byte changed from %q) verifies", h, good)
			}
			if _, err := verifyEvent(body, header, secret); (err == nil) != headerIsGenuine(header, secret, body) {
				t.Fatalf("header %q: %v; the reference says genuine=%v", header, err, !(err == nil))
			}
		}
	})
}
