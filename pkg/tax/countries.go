package tax

import (
	"fmt"
	"strings"
)

// iso3166 lists the officially assigned ISO 3166-1 alpha-2 codes, plus XK (Kosovo), which
// card networks and checkouts use although ISO has not assigned it.
const iso3166 = "" +
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ " +
	"BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ " +
	"DE DJ DK DM DO DZ " +
	"EC EE EG EH ER ES ET " +
	"FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY " +
	"HK HM HN HR HT HU " +
	"ID IE IL IM IN IO IQ IR IS IT " +
	"JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ " +
	"LA LB LC LI LK LR LS LT LU LV LY " +
	"MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
	"NA NC NE NF NG NI NL NO NP NR NU NZ " +
	"OM " +
	"PA PE PF PG PH PK PL PM PN PR PS PT PW PY " +
	"QA " +
	"RE RO RS RU RW " +
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ " +
	"TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ " +
	"UA UG UM US UY UZ " +
	"VA VC VE VG VI VN VU " +
	"WF WS " +
	"XK " +
	"YE YT " +
	"ZA ZM ZW"

var knownCountries = func() map[string]bool {
	m := make(map[string]bool, 260)
	for _, c := range strings.Fields(iso3166) {
		m[c] = true
	}
	return m
}()

// commonMistakes maps codes people use instead of the ISO code to a hint for the error message.
var commonMistakes = map[string]string{
	"EL": "GR", // the EU's VAT prefix for Greece, not its ISO code
	"UK": "GB",
}

// normalizeCountry upper-cases and trims a country code and checks that it is an assigned
// ISO 3166-1 alpha-2 code. The empty string is returned unchanged (no country chosen yet).
func normalizeCountry(field, s string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if c == "" {
		return "", nil
	}
	if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
		return "", fmt.Errorf("%w: %s %q is not a two-letter country code", ErrInvalidInput, field, s)
	}
	if hint, ok := commonMistakes[c]; ok {
		return "", fmt.Errorf("%w: %s %q is not an ISO 3166 code (use %q)", ErrInvalidInput, field, s, hint)
	}
	if !knownCountries[c] {
		return "", fmt.Errorf("%w: %s %q is not an assigned ISO 3166 country code", ErrInvalidInput, field, s)
	}
	return c, nil
}
