package tax

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// vatLengths is an independent, stricter reading of the published VAT id formats: for each
// prefix, the country it stands for and the lengths the part after the prefix may have.
var vatLengths = map[string]struct {
	country string
	lengths []int
}{
	"AT": {"AT", []int{9}}, "BE": {"BE", []int{10}}, "BG": {"BG", []int{9, 10}}, "CY": {"CY", []int{9}},
	"CZ": {"CZ", []int{8, 9, 10}}, "DE": {"DE", []int{9}}, "DK": {"DK", []int{8}}, "EE": {"EE", []int{9}},
	"EL": {"GR", []int{9}}, "ES": {"ES", []int{9}}, "FI": {"FI", []int{8}}, "FR": {"FR", []int{11}},
	"HR": {"HR", []int{11}}, "HU": {"HU", []int{8}}, "IE": {"IE", []int{8, 9}}, "IT": {"IT", []int{11}},
	"LT": {"LT", []int{9, 12}}, "LU": {"LU", []int{8}}, "LV": {"LV", []int{11}}, "MT": {"MT", []int{8}},
	"NL": {"NL", []int{12}}, "PL": {"PL", []int{10}}, "PT": {"PT", []int{9}}, "RO": {"RO", []int{2, 3, 4, 5, 6, 7, 8, 9, 10}},
	"SE": {"SE", []int{12}}, "SI": {"SI", []int{8}}, "SK": {"SK", []int{10}}, "GB": {"GB", []int{5, 9, 12}},
	"CH": {"CH", []int{10, 13, 14}}, "NO": {"NO", []int{9, 12}},
}

var vatAlphabet = regexp.MustCompile(`^[A-Z]{2}[A-Z0-9+*]+$`)

// refVATID rejects everything a VAT id can never be; ValidateVATIDFormat must reject it too.
func refVATID(id string) (country string, ok bool) {
	if !vatAlphabet.MatchString(id) || strings.Count(id[2:], "+")+strings.Count(id[2:], "*") > 1 {
		return "", false
	}
	f, found := vatLengths[id[:2]]
	if !found {
		return "", false
	}
	digits := 0
	for _, c := range id[2:] {
		if c >= '0' && c <= '9' {
			digits++
		}
	}
	for _, n := range f.lengths {
		if len(id)-2 == n && digits >= 2 {
			return f.country, true
		}
	}
	return "", false
}

type recordingChecker struct{ got []string }

func (c *recordingChecker) Check(_ context.Context, id string) (VIESResult, error) {
	c.got = append(c.got, id)
	return VIESResult{Valid: true}, nil
}

// FuzzVATID: normalising is idempotent and leaves no separators; ValidateVATIDFormat never
// accepts what the stricter reference rejects and names the same country; VerifyVATID agrees
// with it and asks VIES only about well-formed EU ids, in normalised form.
func FuzzVATID(f *testing.F) {
	for _, s := range []string{"fr 40-303.265.045", "  DE 136 695 976 ", "CHE-123.456.789 MWST", "nl004495445b01", "EL\t094\u00a0259\n216",
		"ATU12345678", "BE0417497106", "CY10259033P", "ESX1234567L", "ES12345678Z", "FRA1303265045", "IE1+23456E", "IE1234567WA",
		"NL123456789B12", "RO12", "SE556188840401", "GBGD001", "GBHA500", "NO123456789MVA", "GR094259216", "US123456789", "XI123456789",
		"de136695976", "DE１３６６９５９７６", "ſe556188840401", "EL094259216\x00", ""} {
		f.Add(s)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, raw string) {
		id := NormalizeVATID(raw)
		if NormalizeVATID(id) != id {
			t.Fatalf("NormalizeVATID is not idempotent: %q -> %q -> %q", raw, id, NormalizeVATID(id))
		}
		if strings.ContainsFunc(id, func(r rune) bool { return unicode.IsSpace(r) || r == '.' || r == '-' || unicode.ToUpper(r) != r }) {
			t.Fatalf("NormalizeVATID(%q) = %q still has separators or letters it could upper-case", raw, id)
		}
		for _, s := range []string{raw, id} {
			country, ok := ValidateVATIDFormat(s)
			refCountry, refOK := refVATID(s)
			if ok && (!refOK || country != refCountry) {
				t.Fatalf("ValidateVATIDFormat(%q) = %q, true; the reference says %q, %v", s, country, refCountry, refOK)
			}
			if !ok && country != "" {
				t.Fatalf("ValidateVATIDFormat(%q) rejects but names %q", s, country)
			}
		}
		country, ok := ValidateVATIDFormat(id)
		var checker recordingChecker
		gotID, status, res, err := VerifyVATID(ctx, &checker, raw)
		if err != nil || gotID != id {
			t.Fatalf("VerifyVATID(%q) = %q, %v", raw, gotID, err)
		}
		euOK := ok && IsEU(country)
		switch {
		case id == "":
			ok = status == VATIDNone
		case !ok:
			ok = status == VATIDInvalid && res == nil
		case euOK:
			ok = status == VATIDVIESValid && res != nil && len(checker.got) == 1 && checker.got[0] == id
		default:
			ok = status == VATIDFormatValid && res == nil
		}
		if !ok || (!euOK && len(checker.got) > 0) {
			t.Fatalf("VerifyVATID(%q) = %q, %v, %v; VIES asked about %q", raw, gotID, status, res, checker.got)
		}
		if _, status, _, _ := VerifyVATID(ctx, nil, raw); id != "" && (status == VATIDFormatValid) != (country != "") {
			t.Fatalf("VerifyVATID(%q) without VIES = %v; format check says %q", raw, status, country)
		}
	})
}

var rateRef = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?$`)

// refParseRate reads a percentage exactly through rationals: hundredths of a percent, or false
// when the text is not a number, is negative, above 100 or finer than 0.01.
func refParseRate(s string) (Rate, bool) {
	s = strings.TrimSpace(s)
	if len(s) > MaxRateText {
		return 0, false
	}
	if !rateRef.MatchString(s) {
		return 0, false
	}
	mant, exp := s, "0"
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, exp = s[:i], s[i+1:]
	}
	sign := ""
	if mant[0] == '+' || mant[0] == '-' {
		sign, mant = mant[:1], mant[1:]
	}
	ip, fp, _ := strings.Cut(mant, ".")
	r, ok := new(big.Rat).SetString(sign + "0" + ip + "." + fp + "0")
	if !ok {
		return 0, false
	}
	e, _ := new(big.Int).SetString(strings.TrimPrefix(exp, "+"), 10)
	p := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), new(big.Int).Abs(e), nil))
	if e.Sign() < 0 {
		p.Inv(p)
	}
	r.Mul(r, p).Mul(r, big.NewRat(100, 1))
	if !r.IsInt() || r.Sign() < 0 || r.Cmp(big.NewRat(int64(MaxRate), 1)) > 0 {
		return 0, false
	}
	return Rate(r.Num().Int64()), true
}

// FuzzParseRate (it replaces the round-trip-only target of rate_test.go and keeps its checks):
// ParseRate agrees with an exact rational reference (never accepts what it
// rejects, never misparses); an accepted rate is valid and round-trips through String and JSON;
// UnmarshalJSON accepts exactly the numbers and numeric strings ParseRate accepts.
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"19", "5.5", "0", "2.1", "25.5", "0.01", "100", "19.0", "19.000", " 7.7 ", ".5", "1.9e1", "550e-2", "-0", "+19", "007",
		"", " ", "abc", "5.555", "0.001", "-1", "-0.01", "100.01", "101", "19%", "1/3", "0x10", "1e999", "1e-999", "NaN", "Inf", "1,5", "1.2.3", ".",
		"5.", "e5", "1e2", "100.00", "1e-3", "1e1000", "100000e-3", "0.0000000000000000000001e22", "１９"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseRate(s)
		want, ok := refParseRate(s)
		if (err == nil) != ok || (ok && got != want) {
			t.Fatalf("ParseRate(%q) = %d, %v; the reference says %d, %v", s, got, err, want, ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidInput) {
			t.Fatalf("ParseRate(%q) error %v does not wrap ErrInvalidInput", s, err)
		}
		if err == nil {
			if !got.Valid() {
				t.Fatalf("ParseRate(%q) = %d is not a valid rate", s, got)
			}
			if back, err := ParseRate(got.String()); err != nil || back != got {
				t.Fatalf("ParseRate(%q.String() = %q) = %d, %v", s, got.String(), back, err)
			}
			b, _ := json.Marshal(got)
			var back Rate
			if err := json.Unmarshal(b, &back); err != nil || back != got {
				t.Fatalf("JSON round trip of %d via %s = %d, %v", got, b, back, err)
			}
		}
		// As JSON: a number literal or a string holding the text.
		quoted, _ := json.Marshal(s)
		for _, lit := range [][]byte{[]byte(s), quoted} {
			var r Rate = -1
			err := json.Unmarshal(lit, &r)
			v := strings.TrimSpace(string(lit))
			if !json.Valid(lit) || v == "null" {
				continue
			}
			text := v // a JSON number is read as its text, a JSON string as its contents
			switch {
			case v[0] == '"':
				_ = json.Unmarshal(lit, &text)
			case v[0] == '-' || v[0] >= '0' && v[0] <= '9':
			default:
				if err == nil {
					t.Fatalf("Rate accepted the JSON %s", lit)
				}
				continue
			}
			want, ok := refParseRate(text)
			if (err == nil) != ok || (ok && r != want) {
				t.Fatalf("json.Unmarshal(%s) = %d, %v; the reference for %q says %d, %v", lit, r, err, text, want, ok)
			}
		}
	})
}
