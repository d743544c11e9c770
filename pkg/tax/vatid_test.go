package tax

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNormalizeVATID(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"fr 40-303.265.045":     "FR40303265045",
		"  DE 136 695 976 ":     "DE136695976",
		"CHE-123.456.789 MWST":  "CHE123456789MWST",
		"nl004495445b01":        "NL004495445B01",
		"EL\t094\u00a0259\n216": "EL094259216",
		"":                      "",
	} {
		require.Equal(t, want, NormalizeVATID(in), in)
	}
}

func TestValidateVATIDFormat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		country string
		valid   []string
		invalid []string
	}{
		{"AT", []string{"ATU12345678", "ATU57194903"}, []string{"ATU1234567", "AT123456789", "ATU123456789"}},
		{"BE", []string{"BE0123456789", "BE1234567890", "BE0417497106"}, []string{"BE2123456789", "BE012345678", "BE01234567890"}},
		{"BG", []string{"BG123456789", "BG1234567890", "BG175074752"}, []string{"BG12345678", "BG12345678901"}},
		{"CY", []string{"CY10259033P", "CY12345678X"}, []string{"CY102590331", "CY1025903P"}},
		{"CZ", []string{"CZ12345678", "CZ123456789", "CZ1234567890", "CZ25123891"}, []string{"CZ1234567", "CZ12345678901"}},
		{"DE", []string{"DE136695976", "DE811907980"}, []string{"DE13669597", "DE1366959760", "DEX36695976"}},
		{"DK", []string{"DK13585628", "DK88146328"}, []string{"DK1358562", "DK135856281"}},
		{"EE", []string{"EE100931558", "EE100594102"}, []string{"EE10093155", "EE1009315580"}},
		{"GR", []string{"EL094259216", "EL123456789"}, []string{"EL09425921", "GR094259216"}},
		{"ES", []string{"ESB12345678", "ESX1234567L", "ES12345678Z", "ESA58375298"}, []string{"ES123456789", "ESB1234567", "ES1234567"}},
		{"FI", []string{"FI20774740", "FI09853608"}, []string{"FI2077474", "FI207747401"}},
		{"FR", []string{"FR40303265045", "FRXX303265045", "FRA1303265045"}, []string{"FRIO303265045", "FR4030326504", "FR403032650451"}},
		{"HR", []string{"HR12345678901", "HR33392005961"}, []string{"HR1234567890", "HR123456789012"}},
		{"HU", []string{"HU12892312", "HU10597190"}, []string{"HU1289231", "HU128923121"}},
		{"IE", []string{"IE6388047V", "IE1234567WA", "IE8Z49289F", "IE3628739UA", "IE1+23456E"}, []string{"IE1234567", "IE12345678", "IE6388047Z"}},
		{"IT", []string{"IT00743110157", "IT12345678901"}, []string{"IT0074311015", "IT007431101570"}},
		{"LT", []string{"LT119511515", "LT100001919017"}, []string{"LT1234567890", "LT11951151"}},
		{"LU", []string{"LU15027442", "LU26375245"}, []string{"LU1502744", "LU150274420"}},
		{"LV", []string{"LV40003521600", "LV40103158367"}, []string{"LV4000352160", "LV400035216000"}},
		{"MT", []string{"MT11679112", "MT20200019"}, []string{"MT1167911", "MT116791120"}},
		{"NL", []string{"NL004495445B01", "NL123456789B12"}, []string{"NL004495445A01", "NL004495445", "NL004495445B1"}},
		{"PL", []string{"PL5260250274", "PL1234567890"}, []string{"PL526025027", "PL52602502740"}},
		{"PT", []string{"PT501964843", "PT123456789"}, []string{"PT50196484", "PT5019648430"}},
		{"RO", []string{"RO18547290", "RO12", "RO1234567890"}, []string{"RO1", "RO01234567", "RO12345678901"}},
		{"SE", []string{"SE556188840401", "SE123456789001"}, []string{"SE556188840402", "SE5561888404", "SE55618884040101"}},
		{"SI", []string{"SI50223054", "SI12345678"}, []string{"SI5022305", "SI502230540"}},
		{"SK", []string{"SK2020317068", "SK1234567890"}, []string{"SK202031706", "SK20203170680"}},
		{"GB", []string{"GB980780684", "GB123456789012", "GBGD001", "GBHA500"}, []string{"GB98078068", "GBGD500", "GBHA499", "GB1234567890"}},
		{"CH", []string{"CHE123456789", "CHE123456789MWST", "CHE123456789TVA", "CHE123456789IVA"}, []string{"CHE12345678", "CH123456789", "CHE123456789VAT"}},
		{"NO", []string{"NO123456789", "NO123456789MVA"}, []string{"NO12345678", "NO123456789VAT"}},
	} {
		t.Run(tc.country+" accepts its official format", func(t *testing.T) {
			t.Parallel()
			for _, id := range tc.valid {
				country, ok := ValidateVATIDFormat(id)
				require.True(t, ok, id)
				require.Equal(t, tc.country, country, id)
			}
		})
		t.Run(tc.country+" rejects near misses", func(t *testing.T) {
			t.Parallel()
			for _, id := range tc.invalid {
				country, ok := ValidateVATIDFormat(id)
				require.False(t, ok, id)
				require.Empty(t, country, id)
			}
		})
	}
	t.Run("unknown prefixes and fragments are rejected", func(t *testing.T) {
		t.Parallel()
		for _, id := range []string{"", "D", "DE", "US123456789", "XI123456789", "EU123456789", "de136695976"} {
			_, ok := ValidateVATIDFormat(id)
			require.False(t, ok, id)
		}
	})
	t.Run("normalised input validates", func(t *testing.T) {
		t.Parallel()
		country, ok := ValidateVATIDFormat(NormalizeVATID("che-123.456.789 mwst"))
		require.True(t, ok)
		require.Equal(t, "CH", country)
	})
	t.Run("every member state has a format", func(t *testing.T) {
		t.Parallel()
		seen := map[string]bool{}
		for _, f := range vatFormats {
			seen[f.country] = true
		}
		for _, c := range EUCountries() {
			require.True(t, seen[c], c)
		}
	})
}
