package tax

import (
	"regexp"
	"strings"
	"unicode"
)

// NormalizeVATID upper-cases a VAT id and removes spaces, dots and dashes, so that
// "fr 40-303.265.045" becomes "FR40303265045". It does not validate.
func NormalizeVATID(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.IsSpace(r) || r == '.' || r == '-' {
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// vatFormat is the format of the part of a VAT id after its two-letter prefix.
type vatFormat struct {
	country string // ISO 3166 alpha-2 of the prefix (EL is Greece, GR)
	re      *regexp.Regexp
	extra   func(rest string) bool // a further check a regexp cannot say simply, or nil
}

// vatFormats follow the formats the European Commission publishes for VIES, plus the UK,
// Switzerland and Norway. They check shape only, not check digits.
var vatFormats = map[string]vatFormat{
	"AT": {"AT", regexp.MustCompile(`^U\d{8}$`), nil},
	"BE": {"BE", regexp.MustCompile(`^[01]\d{9}$`), nil},
	"BG": {"BG", regexp.MustCompile(`^\d{9,10}$`), nil},
	"CY": {"CY", regexp.MustCompile(`^\d{8}[A-Z]$`), nil},
	"CZ": {"CZ", regexp.MustCompile(`^\d{8,10}$`), nil},
	"DE": {"DE", regexp.MustCompile(`^\d{9}$`), nil},
	"DK": {"DK", regexp.MustCompile(`^\d{8}$`), nil},
	"EE": {"EE", regexp.MustCompile(`^\d{9}$`), nil},
	"EL": {"GR", regexp.MustCompile(`^\d{9}$`), nil},
	"ES": {"ES", regexp.MustCompile(`^[A-Z0-9]\d{7}[A-Z0-9]$`), func(rest string) bool {
		// the first and the last character may not both be digits
		return !isDigit(rest[0]) || !isDigit(rest[len(rest)-1])
	}},
	"FI": {"FI", regexp.MustCompile(`^\d{8}$`), nil},
	"FR": {"FR", regexp.MustCompile(`^[0-9A-HJ-NP-Z]{2}\d{9}$`), nil}, // the key never uses I or O
	"HR": {"HR", regexp.MustCompile(`^\d{11}$`), nil},
	"HU": {"HU", regexp.MustCompile(`^\d{8}$`), nil},
	// 7 digits + check letter (+ A-I/W since 2013), or the old form digit, letter/+/*, 5 digits, letter
	"IE": {"IE", regexp.MustCompile(`^(\d{7}[A-W][A-IW]?|\d[A-Z+*]\d{5}[A-W])$`), nil},
	"IT": {"IT", regexp.MustCompile(`^\d{11}$`), nil},
	"LT": {"LT", regexp.MustCompile(`^(\d{9}|\d{12})$`), nil},
	"LU": {"LU", regexp.MustCompile(`^\d{8}$`), nil},
	"LV": {"LV", regexp.MustCompile(`^\d{11}$`), nil},
	"MT": {"MT", regexp.MustCompile(`^\d{8}$`), nil},
	"NL": {"NL", regexp.MustCompile(`^\d{9}B\d{2}$`), nil},
	"PL": {"PL", regexp.MustCompile(`^\d{10}$`), nil},
	"PT": {"PT", regexp.MustCompile(`^\d{9}$`), nil},
	"RO": {"RO", regexp.MustCompile(`^[1-9]\d{1,9}$`), nil},
	"SE": {"SE", regexp.MustCompile(`^\d{10}01$`), nil}, // 12 digits, always ending in 01
	"SI": {"SI", regexp.MustCompile(`^\d{8}$`), nil},
	"SK": {"SK", regexp.MustCompile(`^\d{10}$`), nil},
	// 9 or 12 digits, government departments GD000-GD499, health authorities HA500-HA999
	"GB": {"GB", regexp.MustCompile(`^(\d{9}|\d{12}|GD[0-4]\d{2}|HA[5-9]\d{2})$`), nil},
	"CH": {"CH", regexp.MustCompile(`^E\d{9}(MWST|TVA|IVA)?$`), nil}, // CHE + UID, optional VAT suffix
	"NO": {"NO", regexp.MustCompile(`^\d{9}(MVA)?$`), nil},
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// ValidateVATIDFormat checks the shape of a VAT id (normalise it first with NormalizeVATID)
// against the official format of its prefix's country: the 27 EU member states (Greece as "EL"),
// GB, CH and NO. It returns the ISO 3166 alpha-2 country of the id ("GR" for an "EL" id) and
// true, or "" and false when the prefix is unknown or the rest does not match. Check digits
// are not verified, and the ISO prefix "GR" is rejected because Greek VAT ids use "EL".
func ValidateVATIDFormat(id string) (country string, ok bool) {
	if len(id) < 3 {
		return "", false
	}
	f, found := vatFormats[id[:2]]
	rest := id[2:]
	if !found || !f.re.MatchString(rest) || (f.extra != nil && !f.extra(rest)) {
		return "", false
	}
	return f.country, true
}

// viesPrefixCountry returns the member state of an EU VAT id's prefix, without checking the rest.
func viesPrefixCountry(id string) (string, bool) {
	if len(id) < 3 {
		return "", false
	}
	f, ok := vatFormats[id[:2]]
	if !ok || !IsEU(f.country) {
		return "", false
	}
	return f.country, true
}
