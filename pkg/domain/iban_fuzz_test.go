package domain

import (
	"fmt"
	"strings"
	"testing"
)

// refIBAN is a stricter, independent reading of ISO 13616: ASCII only, a two-letter country, two
// check digits from 02 to 98 (ISO 7064 MOD 97-10 never produces 00, 01 or 99), 11 to 30
// alphanumerics, and the whole rearranged number ≡ 1 (mod 97), computed digit by digit.
func refIBAN(s string) bool {
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter, digit := c >= 'A' && c <= 'Z', c >= '0' && c <= '9'
		switch {
		case i < 2 && !letter, i >= 2 && i < 4 && !digit, !letter && !digit:
			return false
		}
	}
	if check := s[2:4]; check < "02" || check > "98" {
		return false
	}
	return mod97(s[4:]+s[:4]) == 1
}

func mod97(s string) int {
	r := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			r = (r*100 + int(c-'A'+10)) % 97
		} else {
			r = (r*10 + int(c-'0')) % 97
		}
	}
	return r
}

// withCheckDigits returns country + check digits + bban with the check digits computed.
func withCheckDigits(country, bban string) string {
	return fmt.Sprintf("%s%02d%s", country, 98-mod97(bban+country+"00"), bban)
}

// FuzzIBAN: ValidIBAN never accepts what the stricter reference rejects (nor the reverse);
// normalising is idempotent and grouping for people is undone by normalising; an IBAN built
// with correct check digits is accepted, and any single changed digit, or letter to another
// letter, is refused.
func FuzzIBAN(f *testing.F) {
	for _, s := range []string{"DE89370400440532013000", "DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "gb82 west 1234 5698 7654 32",
		"DE00 0000", "NL91ABNA0417164300", "FR1420041010050500013M02606", "CH9300762011623852957", "DE8937040044053201300", "DE99370400440532013000",
		"XX00000000000000000", "DE89370400440532013000\x00", "DE89-3704-0044-0532-0130-00", "ſE89370400440532013000"} {
		f.Add(s, uint8(0), uint8(1))
	}
	f.Fuzz(func(t *testing.T, raw string, pos, delta uint8) {
		n := NormalizeIBAN(raw)
		if NormalizeIBAN(n) != n {
			t.Fatalf("NormalizeIBAN is not idempotent: %q -> %q -> %q", raw, n, NormalizeIBAN(n))
		}
		got := ValidIBAN(n)
		if got != refIBAN(n) {
			t.Fatalf("ValidIBAN(%q) = %v, the reference says %v", n, got, !got)
		}
		if ValidIBAN(raw) && raw != n {
			t.Fatalf("ValidIBAN accepts %q, which is not normalised (%q)", raw, n)
		}
		if got {
			g := GroupIBAN(n)
			if NormalizeIBAN(g) != n || strings.Contains(g, "  ") || len(strings.Fields(g)) != (len(n)+3)/4 {
				t.Fatalf("GroupIBAN(%q) = %q", n, g)
			}
		}

		// Build a valid IBAN from the fuzzed text: letters for the country, alphanumerics for the BBAN.
		var country, bban []byte
		for _, c := range []byte(n) {
			switch {
			case len(country) < 2 && c >= 'A' && c <= 'Z':
				country = append(country, c)
			case len(country) == 2 && len(bban) < 30 && (c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'):
				bban = append(bban, c)
			}
		}
		if len(country) < 2 || len(bban) < 11 {
			return
		}
		iban := withCheckDigits(string(country), string(bban))
		if !ValidIBAN(iban) || !refIBAN(iban) {
			t.Fatalf("%q has correct check digits but ValidIBAN says %v", iban, ValidIBAN(iban))
		}
		i := 4 + int(pos)%(len(iban)-4)
		b := []byte(iban)
		if c := b[i]; c >= '0' && c <= '9' {
			b[i] = '0' + (c-'0'+1+delta%9)%10
		} else {
			b[i] = 'A' + (c-'A'+1+delta%25)%26
		}
		if ValidIBAN(string(b)) {
			t.Fatalf("%q (one character changed from %q) is accepted", b, iban)
		}
	})
}
