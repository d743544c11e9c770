package tax

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLookupRateIsEffectiveDated(t *testing.T) {
	t.Parallel()
	utc := func(y int, m time.Month, d, h, min, s int) time.Time {
		return time.Date(y, m, d, h, min, s, 0, time.UTC)
	}
	for _, tc := range []struct {
		name    string
		country string
		class   RateClass
		at      time.Time
		want    Rate
		ok      bool
	}{
		{"Finland is 24% on the last second before September 2024 in Helsinki", "FI", ClassStandard, utc(2024, 8, 31, 20, 59, 59), 2400, true},
		{"Finland is 25.5% from midnight Helsinki time", "FI", ClassStandard, utc(2024, 8, 31, 21, 0, 0), 2550, true},
		{"Finland's 14% band is 13.5% from 2026", "FI", ClassReduced, utc(2026, 1, 15, 0, 0, 0), 1350, true},
		{"Estonia is 22% on 30 June 2025", "EE", ClassStandard, utc(2025, 6, 30, 12, 0, 0), 2200, true},
		{"Estonia is 24% from 1 July 2025 in Tallinn", "EE", ClassStandard, utc(2025, 6, 30, 21, 0, 0), 2400, true},
		{"Estonia was 20% in 2023", "EE", ClassStandard, utc(2023, 6, 1, 0, 0, 0), 2000, true},
		{"Slovakia is 20% in 2024", "SK", ClassStandard, utc(2024, 12, 31, 22, 59, 59), 2000, true},
		{"Slovakia is 23% from 2025", "SK", ClassStandard, utc(2024, 12, 31, 23, 0, 0), 2300, true},
		{"Romania is 19% in July 2025", "RO", ClassStandard, utc(2025, 7, 31, 20, 59, 59), 1900, true},
		{"Romania is 21% from August 2025", "RO", ClassStandard, utc(2025, 7, 31, 21, 0, 0), 2100, true},
		{"Romania's 5% band is gone from August 2025", "RO", ClassReduced2, utc(2025, 8, 2, 0, 0, 0), 0, false},
		{"Romania's 5% band existed before", "RO", ClassReduced2, utc(2025, 7, 1, 0, 0, 0), 500, true},
		{"Luxembourg cut to 16% for 2023", "LU", ClassStandard, utc(2023, 7, 1, 0, 0, 0), 1600, true},
		{"Luxembourg is back at 17% in 2024", "LU", ClassStandard, utc(2024, 7, 1, 0, 0, 0), 1700, true},
		{"Ireland was 21% in February 2021", "IE", ClassStandard, utc(2021, 2, 15, 0, 0, 0), 2100, true},
		{"Ireland is 23% from March 2021", "IE", ClassStandard, utc(2021, 3, 1, 0, 0, 0), 2300, true},
		{"France has a super-reduced rate", "FR", ClassSuperReduced, utc(2025, 1, 1, 0, 0, 0), 210, true},
		{"Denmark has no reduced rate", "DK", ClassReduced, utc(2025, 1, 1, 0, 0, 0), 0, false},
		{"Greece is GR", "GR", ClassStandard, utc(2025, 1, 1, 0, 0, 0), 2400, true},
		{"lower case is fine", "de", ClassStandard, utc(2025, 1, 1, 0, 0, 0), 1900, true},
		{"the UK is not in the table", "GB", ClassStandard, utc(2025, 1, 1, 0, 0, 0), 0, false},
		{"dates before coverage have no rate", "DE", ClassStandard, utc(2020, 12, 31, 22, 59, 59), 0, false},
		{"reduced bands start in 2024", "DE", ClassReduced, utc(2023, 12, 1, 0, 0, 0), 0, false},
		{"unknown class", "DE", "parking", utc(2025, 1, 1, 0, 0, 0), 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := LookupRate(tc.country, tc.class, tc.at)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestStandardRatesOfAllMemberStates(t *testing.T) {
	t.Parallel()
	// as published for 2026 (see rates.csv for the history)
	want := map[string]Rate{
		"AT": 2000, "BE": 2100, "BG": 2000, "CY": 1900, "CZ": 2100, "DE": 1900, "DK": 2500, "EE": 2400, "ES": 2100,
		"FI": 2550, "FR": 2000, "GR": 2400, "HR": 2500, "HU": 2700, "IE": 2300, "IT": 2200, "LT": 2100, "LU": 1700,
		"LV": 2100, "MT": 1800, "NL": 2100, "PL": 2300, "PT": 2300, "RO": 2100, "SE": 2500, "SI": 2200, "SK": 2300,
	}
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range EUCountries() {
		got, ok := LookupRate(c, ClassStandard, at)
		require.True(t, ok, c)
		require.Equal(t, want[c], got, c)
	}
	require.Len(t, want, 27)
}

func TestRateTableIsConsistent(t *testing.T) {
	t.Parallel()
	t.Run("every member state has a standard rate throughout the coverage", func(t *testing.T) {
		t.Parallel()
		for _, c := range EUCountries() {
			for d := time.Date(2021, 1, 2, 0, 0, 0, 0, time.UTC); d.Year() < 2028; d = d.AddDate(0, 0, 7) {
				r, ok := LookupRate(c, ClassStandard, d)
				require.True(t, ok, "%s at %s", c, d)
				require.True(t, r >= 1500 && r <= 2700, "%s at %s: %s%% is not a plausible standard rate", c, d, r)
				for _, class := range []RateClass{ClassReduced, ClassReduced2, ClassSuperReduced} {
					if red, ok := LookupRate(c, class, d); ok {
						require.Less(t, red, r, "%s %s at %s", c, class, d)
					}
				}
			}
		}
	})
	t.Run("reduced bands are ordered", func(t *testing.T) {
		t.Parallel()
		at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		for _, c := range EUCountries() {
			r1, ok1 := LookupRate(c, ClassReduced, at)
			r2, ok2 := LookupRate(c, ClassReduced2, at)
			if ok2 {
				require.True(t, ok1, c)
				require.Greater(t, r1, r2, c)
			}
			if sr, ok := LookupRate(c, ClassSuperReduced, at); ok {
				require.Less(t, sr, Rate(500), c)
			}
		}
	})
	t.Run("every row starts at local midnight", func(t *testing.T) {
		t.Parallel()
		for _, hist := range rateTable {
			for _, e := range hist {
				require.Equal(t, "00:00:00", e.From.Format("15:04:05"), "%s %s", e.Country, e.Class)
			}
		}
	})
	t.Run("malformed data is refused", func(t *testing.T) {
		t.Parallel()
		const header = "country,class,from,rate,note\n"
		for name, data := range map[string]string{
			"bad header":      "a,b,c,d,e\n",
			"unknown country": header + "US,standard,2021-01-01T00:00:00Z,10,\n",
			"unknown class":   header + "DE,parking,2021-01-01T00:00:00Z,10,\n",
			"bad date":        header + "DE,standard,2021-01-01,19,\n",
			"bad rate":        header + "DE,standard,2021-01-01T00:00:00Z,19.001,\n",
			"out of order":    header + "DE,standard,2022-01-01T00:00:00Z,19,\nDE,standard,2021-01-01T00:00:00Z,19,\n",
			"too few fields":  header + "DE,standard,2021-01-01T00:00:00Z,19\n",
		} {
			_, err := loadRates(data)
			require.Error(t, err, name)
		}
	})
}

func TestEUMembership(t *testing.T) {
	t.Parallel()
	eu := EUCountries()
	require.Len(t, eu, 27)
	require.True(t, slices.IsSorted(eu))
	for _, c := range eu {
		require.True(t, IsEU(c), c)
		require.True(t, IsEU(strings.ToLower(c)), c)
		require.True(t, knownCountries[c], c)
	}
	for _, c := range []string{"GB", "CH", "NO", "US", "EL", "XI", "", "EU"} {
		require.False(t, IsEU(c), c)
	}
	eu[0] = "XX"
	require.Equal(t, "AT", EUCountries()[0], "EUCountries returns a copy")
	require.Len(t, knownCountries, 250, "249 ISO codes plus XK")
}
