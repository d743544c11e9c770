package hostedpage

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
)

// DefaultBrandColor is used when a site has no primary colour or an invalid one. White text
// on it has a contrast of 6.7:1.
const DefaultBrandColor = "#1d4ed8"

// Contrast thresholds of WCAG 2.1 AA.
const (
	minTextContrast = 4.5 // normal text (1.4.3)
	dark            = "#111111"
	white           = "#ffffff"
	// darkSurface is the lighter of the dark scheme's backgrounds in app.css (--soft; --bg is
	// darker): links and outlines in the dark scheme reach 4.5:1 on it, so on both.
	darkSurface = "#1b212b"
)

// Theme is the colours the page derives from a site's primary colour, each "#rrggbb".
type Theme struct {
	Brand   string // the header and button background
	OnBrand string // text on Brand: white, or dark when white would be below 4.5:1
	Link    string // links, focus outlines and selected radios on the white page: at least 4.5:1
	// LinkDark is Link for the dark scheme (prefers-color-scheme: dark): the brand lightened
	// until it reaches 4.5:1 on the dark backgrounds.
	LinkDark string
}

// ThemeFor derives an accessible theme from a site's primary colour ("#RRGGBB" or "#RGB",
// case-insensitive). An empty or invalid colour gives the default theme. Themes are kept once
// derived (every page view asks for its site's; the answer never changes for a colour).
func ThemeFor(primary string) Theme {
	themes.mu.RLock()
	t, ok := themes.m[primary]
	themes.mu.RUnlock()
	if ok {
		return t
	}
	t = deriveTheme(primary)
	themes.mu.Lock()
	if themes.m == nil || len(themes.m) >= maxThemes {
		themes.m = map[string]Theme{}
	}
	themes.m[primary] = t
	themes.mu.Unlock()
	return t
}

// maxThemes bounds the cache of derived themes; past it the cache starts again.
const maxThemes = 4096

var themes struct {
	mu sync.RWMutex
	m  map[string]Theme
}

// deriveTheme computes ThemeFor's answer.
func deriveTheme(primary string) Theme {
	brand, ok := normalizeHex(primary)
	if !ok {
		brand = DefaultBrandColor
	}
	t := Theme{Brand: brand, OnBrand: white}
	if ContrastRatio(white, brand) < minTextContrast {
		t.OnBrand = dark
		if ContrastRatio(dark, brand) < minTextContrast {
			t.OnBrand = "#000000" // black reaches 4.5:1 on anything white does not
		}
	}
	t.Link = readableOnWhite(brand)
	t.LinkDark = readableOnDark(brand)
	return t
}

// CSS renders the theme as custom properties for app.css, with the dark scheme's link colour.
// The brand bar and the pay button keep the brand colour in both schemes (their text is chosen
// against it).
func (t Theme) CSS() string {
	return fmt.Sprintf(":root{--brand:%s;--on-brand:%s;--link:%s;--focus:%s}\n"+
		"@media (prefers-color-scheme: dark){:root{--link:%s;--focus:%s}}\n", t.Brand, t.OnBrand, t.Link, t.Link, t.LinkDark, t.LinkDark)
}

// readableOnDark mixes c with white in small steps until text in it reaches 4.5:1 on the dark
// scheme's backgrounds, keeping its hue as long as it can.
func readableOnDark(c string) string {
	r, g, b, _ := parseHex(c)
	for i := 0; i <= 20; i++ {
		f := float64(i) * 0.05
		h := toHex(float64(r)+(255-float64(r))*f, float64(g)+(255-float64(g))*f, float64(b)+(255-float64(b))*f)
		if ContrastRatio(h, darkSurface) >= minTextContrast {
			return h
		}
	}
	return white
}

// readableOnWhite darkens c in small steps until text in it reaches 4.5:1 on white, keeping
// its hue so that links still look like the brand.
func readableOnWhite(c string) string {
	r, g, b, _ := parseHex(c)
	for i := 0; i <= 20; i++ {
		f := 1 - float64(i)*0.05
		h := toHex(float64(r)*f, float64(g)*f, float64(b)*f)
		if ContrastRatio(h, white) >= minTextContrast {
			return h
		}
	}
	return "#000000"
}

// ContrastRatio is the WCAG 2.1 contrast ratio of two "#rrggbb" colours, from 1 to 21.
func ContrastRatio(a, b string) float64 {
	la, lb := relativeLuminance(a), relativeLuminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// relativeLuminance follows WCAG 2.1's definition (sRGB channels linearised).
func relativeLuminance(c string) float64 {
	r, g, b, _ := parseHex(c)
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

// normalizeHex accepts "#rgb" or "#rrggbb" in any case and returns "#rrggbb" in lower case.
func normalizeHex(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if !strings.HasPrefix(s, "#") {
		return "", false
	}
	h := s[1:]
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) != 6 {
		return "", false
	}
	if _, err := strconv.ParseUint(h, 16, 32); err != nil {
		return "", false
	}
	return "#" + h, true
}

func parseHex(c string) (r, g, b uint8, ok bool) {
	h, ok := normalizeHex(c)
	if !ok {
		return 0, 0, 0, false
	}
	v, _ := strconv.ParseUint(h[1:], 16, 32)
	return uint8(v >> 16), uint8(v >> 8), uint8(v), true
}

func toHex(r, g, b float64) string {
	return fmt.Sprintf("#%02x%02x%02x", uint8(math.Round(r)), uint8(math.Round(g)), uint8(math.Round(b)))
}
