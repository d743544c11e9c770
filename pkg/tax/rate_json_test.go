package tax

import (
	"encoding/json"
	"strconv"
	"testing"
)

// TestRateJSONFastPathAgreesWithParseRate: the quick reading of plain JSON numbers gives exactly
// what ParseRate gives, and leaves everything it does not accept to ParseRate's errors.
func TestRateJSONFastPathAgreesWithParseRate(t *testing.T) {
	var inputs []string
	for n := 0; n <= 10100; n++ {
		whole, frac := strconv.Itoa(n/100), n%100
		inputs = append(inputs, whole+"."+strconv.Itoa(frac/10)+strconv.Itoa(frac%10), whole+"."+strconv.Itoa(frac/10))
		if frac == 0 {
			inputs = append(inputs, whole)
		}
	}
	inputs = append(inputs, "", ".", "1.", ".5", "-1", "-0", "1e2", "19.001", "0019", "1000", "100.01", "1a", " 19", "19 ", `"19"`, "null", "+5")
	for _, in := range inputs {
		var got Rate
		err := json.Unmarshal([]byte(in), &got)
		want, wantErr := ParseRate(in)
		if fast, ok := plainRate([]byte(in)); ok {
			if wantErr != nil || fast != want {
				t.Fatalf("%q: fast path %v, ParseRate %v, %v", in, fast, want, wantErr)
			}
		}
		if json.Valid([]byte(in)) && in != "null" && in[0] != '"' {
			if (err != nil) != (wantErr != nil) || (err == nil && got != want) {
				t.Fatalf("%q: UnmarshalJSON %v, %v; ParseRate %v, %v", in, got, err, want, wantErr)
			}
		}
		if wantErr == nil {
			if b, _ := json.Marshal(want); string(b) != want.String() {
				t.Fatalf("%q: MarshalJSON %s, String %s", in, b, want.String())
			}
		}
	}
	for _, r := range []Rate{0, 1, 10, 99, 100, 550, 1900, 2150, 10000, -1, -150, -1900} {
		if b, _ := json.Marshal(r); string(b) != r.String() {
			t.Fatalf("%d: MarshalJSON %s", r, b)
		}
	}
	if s := Rate(-150).String(); s != "-1.5" {
		t.Fatalf("-150: %s", s)
	}
}
