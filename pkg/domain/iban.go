package domain

import (
	"math/big"
	"regexp"
	"strings"
	"unicode"
)

var (
	ibanRE = regexp.MustCompile(`^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$`)
	bicRE  = regexp.MustCompile(`^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$`)
)

// NormalizeIBAN strips spaces and upper-cases an IBAN. Spaces are dropped rune by rune, so
// that the bytes around a dropped space never join into a new character (invalid UTF-8 becomes
// U+FFFD, which no IBAN contains).
func NormalizeIBAN(s string) string {
	return strings.ToUpper(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s))
}

// ValidIBAN checks an IBAN's shape and its ISO 13616 mod-97 check digits. The check digits
// lie from 02 to 98: 00, 01 and 99 pass the mod-97 test for some numbers (as aliases of 97, 98
// and 02) but are never issued.
func ValidIBAN(iban string) bool {
	if !ibanRE.MatchString(iban) {
		return false
	}
	if check := iban[2:4]; check < "02" || check > "98" {
		return false
	}
	rearranged := iban[4:] + iban[:4]
	var digits strings.Builder
	for _, r := range rearranged {
		if r >= 'A' && r <= 'Z' {
			digits.WriteString(big.NewInt(int64(r - 'A' + 10)).String())
		} else {
			digits.WriteRune(r)
		}
	}
	n, ok := new(big.Int).SetString(digits.String(), 10)
	return ok && new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
}

// GroupIBAN writes an IBAN in groups of four for people to read and type.
func GroupIBAN(iban string) string {
	var b strings.Builder
	for i, r := range iban {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}
