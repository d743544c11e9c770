package hostedpage_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/hostedpage"
	"paygate.dev/pkg/runtimeapi"
)

func TestTheme(t *testing.T) {
	t.Parallel()

	t.Run("ContrastRatioFollowsWCAG", func(t *testing.T) {
		require.InDelta(t, 21.0, hostedpage.ContrastRatio("#000000", "#ffffff"), 0.001)
		require.InDelta(t, 1.0, hostedpage.ContrastRatio("#abcdef", "#abcdef"), 0.001)
		require.InDelta(t, 4.48, hostedpage.ContrastRatio("#777777", "#ffffff"), 0.01)
		require.InDelta(t, 4.54, hostedpage.ContrastRatio("#767676", "#ffffff"), 0.01)
	})

	for _, tc := range []struct {
		name, primary, brand, onBrand string
		linkIsBrand                   bool
	}{
		{"DarkBrandKeepsWhiteText", "#0b5cad", "#0b5cad", "#ffffff", true},
		{"LightBrandGetsDarkText", "#ffeb3b", "#ffeb3b", "#111111", false},
		{"WhiteBrandGetsDarkText", "#FFF", "#ffffff", "#111111", false},
		{"MidGreyGetsBlackText", "#777777", "#777777", "#000000", false},
		{"EmptyFallsBackToDefault", "", hostedpage.DefaultBrandColor, "#ffffff", true},
		{"NamedColourFallsBackToDefault", "red", hostedpage.DefaultBrandColor, "#ffffff", true},
		{"InjectionFallsBackToDefault", "#fff;}body{display:none", hostedpage.DefaultBrandColor, "#ffffff", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			th := hostedpage.ThemeFor(tc.primary)
			require.Equal(t, tc.brand, th.Brand)
			require.Equal(t, tc.onBrand, th.OnBrand)
			require.GreaterOrEqual(t, hostedpage.ContrastRatio(th.OnBrand, th.Brand), 4.5, "text on the brand colour")
			require.GreaterOrEqual(t, hostedpage.ContrastRatio(th.Link, "#ffffff"), 4.5, "links and focus on white")
			require.Equal(t, tc.linkIsBrand, th.Link == th.Brand)
			for _, bg := range []string{"#12161d", "#1b212b"} { // app.css's dark --bg and --soft
				require.GreaterOrEqual(t, hostedpage.ContrastRatio(th.LinkDark, bg), 4.5, "links and focus in the dark scheme on %s", bg)
			}
			require.Contains(t, th.CSS(), "@media (prefers-color-scheme: dark){:root{--link:"+th.LinkDark+";--focus:"+th.LinkDark+"}}")
		})
	}

	t.Run("PageLinksTheDerivedTheme", func(t *testing.T) {
		e, _ := fixture(t, checkout("yellow001", func(c *runtimeapi.Checkout) { c.Site.PrimaryColor = "#FFEB3B" }),
			checkout("nocolor01", func(c *runtimeapi.Checkout) { c.Site.PrimaryColor = "" }))
		_, doc := get(t, e, "/checkout/yellow001")
		href := doc.Find(`link[href^="/theme/"]`).AttrOr("href", "")
		require.Equal(t, "/theme/v2/ffeb3b.css", href)
		rec, _ := get(t, e, href)
		require.Contains(t, rec.Body.String(), "--on-brand:#111111")
		_, doc = get(t, e, "/checkout/nocolor01")
		require.Equal(t, "/theme/v2/1d4ed8.css", doc.Find(`link[href^="/theme/"]`).AttrOr("href", ""))
	})
}
