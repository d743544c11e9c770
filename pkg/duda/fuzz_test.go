package duda

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"paygate.dev/pkg/money"
)

var fuzzNow = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// FuzzDudaSignature: a lifecycle call signed with the app secret always verifies (and so does
// its compact form re-indented); changing any one byte of the body, any bit of the MAC, the
// timestamp or the secret never verifies; a re-encoded signature verifies only when it decodes
// to the very same MAC; arbitrary headers never verify; a genuine but stale call is
// ErrStaleTimestamp, a forged stale call ErrBadSignature.
func FuzzDudaSignature(f *testing.F) {
	f.Add([]byte(`{"site_name":"a1b2c3d4","free":false}`), []byte("0123456789abcdef0123456789abcdef"), int64(0), uint16(3), uint8(1), "", "")
	f.Add([]byte(`{'key1':'world','key2':'world'}`), []byte("mysecretsecret"), int64(-60000), uint16(0), uint8(0x80), "+DCfT1wIMUiaZnlZB4u59/d5wkXKA89lv67Ov66vnyc=", "1570350275357")
	f.Add([]byte("{\n  \"site_name\": \"a1b2c3d4\",\n  \"free\": false\n}"), []byte("k"), int64(299999), uint16(7), uint8(0xff), "not base64!", "yesterday")
	f.Add([]byte(""), []byte("\x00"), int64(-299999), uint16(65535), uint8(2), "AAAA", " 1765022400 ")
	f.Fuzz(func(t *testing.T, body, key []byte, skewMS int64, pos uint16, flip uint8, forgedSig, forgedTS string) {
		if len(key) == 0 {
			return
		}
		if flip == 0 {
			flip = 1
		}
		secret := base64.StdEncoding.EncodeToString(key)
		tol := DefaultSignatureTolerance
		skew := time.Duration(skewMS%tol.Milliseconds()) * time.Millisecond
		at := fuzzNow.Add(skew)
		ts := strconv.FormatInt(at.UnixMilli(), 10)
		sig := Sign(secret, ts, body)
		verify := func(ts, sig string, body []byte) error { return VerifySignature(secret, ts, sig, body, fuzzNow, tol) }
		if err := verify(ts, sig, body); err != nil {
			t.Fatalf("a genuine signature does not verify: %v", err)
		}
		if err := verify(strconv.FormatInt(at.Unix(), 10), Sign(secret, strconv.FormatInt(at.Unix(), 10), body), body); err != nil {
			t.Fatalf("a genuine signature with a seconds timestamp does not verify: %v", err)
		}
		var compact bytes.Buffer
		if json.Compact(&compact, body) == nil {
			if err := verify(ts, Sign(secret, ts, compact.Bytes()), body); err != nil {
				t.Fatalf("the compact form's signature does not verify the re-indented body: %v", err)
			}
		}
		bad := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, ErrBadSignature) {
				t.Fatalf("%s: got %v, want ErrBadSignature", what, err)
			}
		}
		if len(body) > 0 {
			b := bytes.Clone(body)
			b[int(pos)%len(b)] ^= flip
			bad("one body byte changed", verify(ts, sig, b))
		}
		mac, _ := base64.StdEncoding.DecodeString(sig)
		m := bytes.Clone(mac)
		m[int(pos)%len(m)] ^= flip
		bad("one MAC byte changed", verify(ts, base64.StdEncoding.EncodeToString(m), body))
		bad("another timestamp", verify(strconv.FormatInt(at.UnixMilli()+1+int64(flip), 10), sig, body))
		k := bytes.Clone(key)
		k[int(pos)%len(k)] ^= flip
		bad("another secret", VerifySignature(base64.StdEncoding.EncodeToString(k), ts, sig, body, fuzzNow, tol))

		// One character of the signature text changed: base64 has spare bits and four alphabets,
		// so the text is malleable, but only a text that decodes to the same MAC may verify.
		s := []byte(sig)
		s[int(pos)%len(s)] ^= flip
		if err := verify(ts, string(s), body); err == nil {
			if got, derr := decodeB64(strings.TrimSpace(string(s))); derr != nil || !bytes.Equal(got, mac) {
				t.Fatalf("signature %q (from %q) verifies but decodes to another MAC", s, sig)
			}
		} else {
			bad("signature text changed", err)
		}

		// Arbitrary headers verify only when they are the MAC of their own timestamp and the body
		// (or its compact form); anything else is ErrBadSignature, whatever the clock says.
		got, derr := decodeB64(strings.TrimSpace(forgedSig))
		fts := strings.TrimSpace(forgedTS)
		genuine := derr == nil && fts != "" && (bytes.Equal(got, mac2(key, fts, body)) || compact.Len() > 0 && bytes.Equal(got, mac2(key, fts, compact.Bytes())))
		if err := verify(forgedTS, forgedSig, body); !genuine {
			bad("forged headers", err)
		} else if err != nil && !errors.Is(err, ErrStaleTimestamp) && !errors.Is(err, ErrBadSignature) {
			t.Fatalf("genuine headers %q, %q: %v", forgedTS, forgedSig, err)
		}

		// Genuine but outside the tolerance (either way): stale, and only then.
		old := fuzzNow.Add(-tol - time.Millisecond - time.Duration(flip)*time.Second)
		if int(pos)%2 == 1 {
			old = fuzzNow.Add(tol + time.Millisecond + time.Duration(flip)*time.Second)
		}
		ots := strconv.FormatInt(old.UnixMilli(), 10)
		if err := verify(ots, Sign(secret, ots, body), body); !errors.Is(err, ErrStaleTimestamp) {
			t.Fatalf("a genuine signature from %s: got %v, want ErrStaleTimestamp", old, err)
		}
		bad("a forged stale call", verify(ots, sig, body))
	})
}

// mac2 is an independent HMAC-SHA256 of timestamp "." body.
func mac2(key []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(ts + "."))
	h.Write(body)
	return h.Sum(nil)
}

// refExponentForm is the exponent spelling JSON allows, with the exponent written in at most 3
// digits (as money.ParseScaled reads it).
var refExponentForm = regexp.MustCompile(`^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]{1,3}$`)

// refRat reads a decimal literal exactly, for comparison: plain or exponent form, at most 64
// characters, nothing else.
func refRat(s string) (*big.Rat, bool) {
	if len(s) > 64 || !refExponentForm.MatchString(s) && !plainLiteral(s) {
		return nil, false
	}
	return new(big.Rat).SetString(s)
}

func plainLiteral(s string) bool {
	s = strings.TrimLeft(s, "+-")
	if len(s) == 0 || strings.Count(s, ".") > 1 || s == "." {
		return false
	}
	for _, c := range s {
		if c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

var fuzzCurrencies = []string{"EUR", "JPY", "KWD", "UYW", "USD", "CLP", "eur", "XXX", ""}

// FuzzDudaDecimal: Decimal and Quantity never misparse: an accepted amount is exactly the
// literal's value in minor units (a rational reference), plain and exponent spellings of one
// value agree, the JSON form round-trips (literal and quoting kept), and minor units written
// with DecimalFromMinor read back unchanged.
func FuzzDudaDecimal(f *testing.F) {
	for _, tok := range []string{`"30.75"`, `30.75`, `30`, `"30.7"`, `"30.7500"`, `"-5.25"`, `0`, `1000`, `"1.234"`, `1e1`, `1.5E1`, `1e-2`, `"2.5e2"`,
		`" 12.50 "`, `"30.755"`, `1e-3`, `"abc"`, `true`, `{}`, `[]`, `null`, `""`, `"1/2"`, `"0x10"`, `"1e999999999"`, `"Infinity"`, `"1.2.3"`,
		`"92233720368547758.07"`, `-92233720368547758.08`, `"-9223372036854775808e-2"`, `2.0`, `"2.00"`, `2.5`, `"+.5e1"`} {
		for i := range fuzzCurrencies[:4] {
			f.Add(tok, uint8(i), int64(3075))
		}
	}
	f.Add(`1`, uint8(0), int64(-9223372036854775808))
	f.Fuzz(func(t *testing.T, tok string, cur uint8, minor int64) {
		code := fuzzCurrencies[int(cur)%len(fuzzCurrencies)]
		c, known := money.Lookup(code)
		var d Decimal
		if err := json.Unmarshal([]byte(tok), &d); err != nil {
			return
		}
		v, err := d.Minor(code)
		r, refOK := refRat(d.String())
		switch {
		case !d.IsSet():
			if !errors.Is(err, ErrMissingAmount) || !d.IsZero() {
				t.Fatalf("absent amount %s: Minor = %v, IsZero = %v", tok, err, d.IsZero())
			}
			return
		case err != nil:
			if !errors.Is(err, ErrInvalidAmount) {
				t.Fatalf("Minor(%q, %s) error %v is not ErrInvalidAmount", d, code, err)
			}
			if known && refOK {
				scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(c.Exponent)), nil)))
				if scaled.IsInt() && scaled.Num().IsInt64() {
					t.Fatalf("Minor(%q, %s) refused %s, an exact amount: %v", d, code, scaled.Num(), err)
				}
			}
		default:
			if !known || !refOK {
				t.Fatalf("Minor(%q, %s) = %d for an unknown currency or not a decimal (ref ok=%v)", d, code, v, refOK)
			}
			want := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(c.Exponent)), nil)))
			if !want.IsInt() || want.Num().Cmp(big.NewInt(v)) != 0 {
				t.Fatalf("Minor(%q, %s) = %d, exactly %s", d, code, v, want.RatString())
			}
			if d.IsZero() != (v == 0) {
				t.Fatalf("Minor(%q) = %d but IsZero = %v", d, v, d.IsZero())
			}
			// The same value written in exponent form reads the same.
			if e, err := NewDecimal(d.String() + "e0").Minor(code); !strings.ContainsAny(d.String(), "eE") && (err != nil || e != v) {
				t.Fatalf("%q = %d but %qe0 = %d, %v", d, v, d, e, err)
			}
			back, err := DecimalFromMinor(v, code)
			if bv, berr := back.Minor(code); err != nil || berr != nil || bv != v {
				t.Fatalf("DecimalFromMinor(%d, %s) = %q reads back as %d, %v", v, code, back, bv, berr)
			}
		}
		b, err := json.Marshal(d)
		var again Decimal
		if err != nil || json.Unmarshal(b, &again) != nil || again != d {
			t.Fatalf("Decimal %q (quoted %v) marshals to %s and reads back as %q (quoted %v)", d.raw, d.quoted, b, again.raw, again.quoted)
		}

		var q Quantity
		if json.Unmarshal([]byte(tok), &q) == nil && q.IsSet() {
			n, err := q.Int64()
			r, ok := refRat(q.String())
			if err == nil && (!ok || !r.IsInt() || r.Num().Cmp(big.NewInt(n)) != 0) {
				t.Fatalf("Quantity %q = %d, exactly %v", q, n, r)
			}
			if err != nil && ok && r.IsInt() && r.Num().IsInt64() {
				t.Fatalf("Quantity %q refused a whole number: %v", q, err)
			}
		}

		if known {
			dm, err := DecimalFromMinor(minor, code)
			if back, berr := dm.Minor(code); err != nil || berr != nil || back != minor {
				t.Fatalf("DecimalFromMinor(%d, %s) = %q reads back as %d, %v", minor, code, dm, back, berr)
			}
		}
	})
}

// FuzzDudaRequests: the bodies Duda sends us (install, uninstall, payment methods, the payment
// session and refund intent we fetch, refund notifications) either fail to decode or decode to
// values that re-encode to themselves; every amount they yield is exact; a session line's
// default total is UnitPrice × Quantity − Discount; an api_endpoint is accepted only when the
// client would send the app credentials to an allowed origin.
func FuzzDudaRequests(f *testing.F) {
	for _, s := range []string{
		`{"auth":{"type":"bearer","authorization_code":"XXX-XXXXX-XXXXX","refresh_token":"YYY-YYYYY-YYYYY","expiration_date":1554254560438},"api_endpoint":"https://api.duda.co","site_name":"a1b2c3d4","installer_account_uuid":"acc","account_owner_uuid":"own","user_lang":"en","app_plan_uuid":"plan","recurrency":"MONTHLY","free":false,"configuration_data":{"color":"red"}}`,
		`{"site_name":"a1b2c3d4","free":"true"}`,
		`{"mode":"TEST","site_name":"a1b2c3d4","invoice":{"purchase_id":"c1","purchase_type":"CART","currency":"EUR","total":"30.75","items":[{"name":"Mug","amount":"10.25","quantity":3,"type":"PHYSICAL","total":30.75}]}}`,
		`{"id":"ps_1","mode":"LIVE","cancel_url":"https://shop.example.com/cart","site_name":"a1b2c3d4","invoice":{"purchase_id":"c1","currency":"EUR","total":27.5,"items":[{"type":"PHYSICAL","name":"Mug","unit_price":"10.00","quantity":3,"discount_amount":"2.50","total":"27.50"},{"type":"SHIPPING","unit_price":"4.90"}]}}`,
		`{"id":"ri_1","original_transaction_id":"txn_1","currency":"EUR","total":"5.00","items":[{"quantity":"1","amount":5}]}`,
		`{"refund_intent_id":"ri_1","amount":{"value":"5.00","currency":"EUR"},"transaction_id":"txn_1"}`,
		`{"data":{"refund":{"id":"ri_2","refund_amount":12.5}}} `, `{}]`, `[]`, `null`, `{"auth":{"expiration_date":"2026-12-06T12:00:00.123456Z"}}`,
		`{"api_endpoint":"https://api.duda.co#@evil.example"}`, `{"api_endpoint":"https://API-SANDBOX.duda.co/"}`, `{"api_endpoint":"https://api.duda.co:443"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		roundTrip(t, body, &InstallPayload{})
		roundTrip(t, body, &UninstallPayload{})
		roundTrip(t, body, &PaymentMethodsRequest{})
		roundTrip(t, body, &RefundIntent{})
		var ps PaymentSession
		if roundTrip(t, body, &ps) {
			if ps.Mode.IsTest() != strings.EqualFold(strings.TrimSpace(string(ps.Mode)), "TEST") {
				t.Fatalf("Mode(%q).IsTest() = %v", ps.Mode, ps.Mode.IsTest())
			}
			for _, it := range ps.Invoice.Items {
				checkSessionItem(t, it, ps.Invoice.Currency)
			}
		}
		var ip InstallPayload
		if json.Unmarshal(body, &ip) == nil {
			checkEndpoint(t, ip.APIEndpoint)
			checkEndpoint(t, string(body))
		}
		n, err := ParseRefundNotification(body)
		if (err == nil) != json.Valid(body) {
			t.Fatalf("ParseRefundNotification(%q): err %v, but json.Valid = %v", body, err, json.Valid(body))
		}
		if err == nil && n.Amount.IsSet() {
			if v, err := n.Amount.Minor("EUR"); err == nil {
				if r, ok := refRat(n.Amount.String()); !ok || new(big.Rat).Mul(r, big.NewRat(100, 1)).Cmp(big.NewRat(v, 1)) != 0 {
					t.Fatalf("refund notification amount %q read as %d", n.Amount, v)
				}
			}
		}
	})
}

// roundTrip decodes body into v; when it decodes, encoding v and decoding that again must give v.
func roundTrip[T any](t *testing.T, body []byte, v *T) bool {
	t.Helper()
	if json.Unmarshal(body, v) != nil {
		return false
	}
	normaliseTimes(reflect.ValueOf(v).Elem())
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%T decoded from %q does not encode: %v", v, body, err)
	}
	var again T
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatalf("%T: %s (from %q) does not decode: %v", v, b, body, err)
	}
	if !reflect.DeepEqual(*v, again) {
		t.Fatalf("%T does not round-trip:\n%+v\n%+v\nvia %s", v, *v, again, b)
	}
	return true
}

// minMilli is the first instant MarshalJSON's milliseconds read back as milliseconds: UnmarshalJSON
// reads a number below 10^12 as seconds (documented), so earlier instants, which Duda never sends
// as expiry dates, do not round-trip and are left out here.
var minMilli = time.UnixMilli(1e12)

// normaliseTimes truncates UnixTime values to what their JSON form keeps (milliseconds) and
// zeroes the ones before minMilli or beyond the year 9999 ones.
func normaliseTimes(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			normaliseTimes(v.Elem())
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			normaliseTimes(v.Index(i))
		}
	case reflect.Struct:
		if u, ok := v.Addr().Interface().(*UnixTime); ok {
			if !u.IsZero() {
				ms := u.UnixMilli()
				if u.Before(minMilli) || ms >= 1e15 || ms <= -1e15 {
					*u = UnixTime{}
				} else {
					*u = UnixTime{time.UnixMilli(ms).UTC()}
				}
			}
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				normaliseTimes(v.Field(i))
			}
		}
	}
}

func checkSessionItem(t *testing.T, it SessionItem, currency string) {
	t.Helper()
	a, err := it.Amounts(currency)
	if err != nil {
		return
	}
	c, _ := money.Lookup(currency)
	exact := func(d Decimal, got int64, what string) {
		if !d.IsSet() {
			return
		}
		r, ok := refRat(d.String())
		scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(c.Exponent)), nil))
		if !ok || new(big.Rat).Mul(r, scale).Cmp(new(big.Rat).SetInt64(got)) != 0 {
			t.Fatalf("%s %q in %s read as %d", what, d, currency, got)
		}
	}
	exact(it.UnitPrice, a.UnitPrice, "unit_price")
	exact(it.DiscountAmount, a.Discount, "discount_amount")
	exact(it.Total, a.Total, "total")
	if !it.Quantity.IsSet() && a.Quantity != 1 {
		t.Fatalf("a missing quantity counts as %d", a.Quantity)
	}
	if !it.Total.IsSet() && !a.Consistent() {
		t.Fatalf("a missing total became %d, not UnitPrice × Quantity − Discount (%+v)", a.Total, a)
	}
	e, err := a.Expected()
	ref := new(big.Int).Sub(new(big.Int).Mul(big.NewInt(a.UnitPrice), big.NewInt(a.Quantity)), big.NewInt(a.Discount))
	if (err == nil) != ref.IsInt64() || (err == nil && e != ref.Int64()) {
		t.Fatalf("Expected(%+v) = %d, %v; exactly %s", a, e, err, ref)
	}
}

// checkEndpoint: an accepted api_endpoint sends the client's calls to one of the default origins.
func checkEndpoint(t *testing.T, endpoint string) {
	t.Helper()
	if CheckAPIEndpoint(endpoint) != nil {
		return
	}
	c := NewClient(endpoint, AppCredentials{}, nil)
	u, err := url.Parse(c.base + "/api/sites/multiscreen/a1b2c3d4")
	if err != nil {
		t.Fatalf("accepted api_endpoint %q makes an unparsable URL: %v", endpoint, err)
	}
	origin := strings.ToLower(u.Scheme + "://" + u.Host)
	if u.User != nil || (origin != DefaultAPIOrigins[0] && origin != DefaultAPIOrigins[1]) {
		t.Fatalf("accepted api_endpoint %q sends calls to %s", endpoint, u.Redacted())
	}
}
