package panel

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"rsc.io/qr"
)

func TestFormatMoney(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		amount   int64
		currency string
		want     string
	}{
		{0, "EUR", "0.00 EUR"},
		{5, "EUR", "0.05 EUR"},
		{123456789, "EUR", "1,234,567.89 EUR"},
		{-2550, "EUR", "−25.50 EUR"},
		{1000, "JPY", "1,000 JPY"},
		{1234567, "KWD", "1,234.567 KWD"},
		{42, "XYZ", "42 XYZ"},
	} {
		require.Equal(t, tc.want, formatMoney(tc.amount, tc.currency))
	}
	require.Equal(t, "1234.56", formatDecimal(123456, "EUR"))
}

func TestFormatVAT(t *testing.T) {
	t.Parallel()
	v := func(n int64) *int64 { return &n }
	require.Equal(t, "—", formatVAT(nil))
	require.Equal(t, "19 %", formatVAT(v(1900)))
	require.Equal(t, "7.5 %", formatVAT(v(750)))
	require.Equal(t, "0.25 %", formatVAT(v(25)))
}

func TestLocalPath(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"/checkouts?status=open": "/checkouts?status=open", "": "/", "https://evil.example": "/",
		"//evil.example": "/", "/\\evil.example": "/", "javascript:alert(1)": "/", "/ok\r\nSet-Cookie: x": "/"} {
		require.Equal(t, want, localPath(in), in)
	}
}

// TestQRCode draws the payment link and checks the drawing against the code's own grid.
func TestQRCode(t *testing.T) {
	t.Parallel()
	text := "https://secure.example.com/checkout/aB3xK9mw2P"
	svg := string(qrSVG(text))
	require.True(t, strings.HasPrefix(svg, `<svg class="qr"`))
	require.Contains(t, svg, `role="img"`)
	require.NotContains(t, svg, "style", "no inline style under the CSP")
	code, err := qr.Encode(text, qr.M)
	require.NoError(t, err)
	dark := 0
	for y := 0; y < code.Size; y++ {
		for x := 0; x < code.Size; x++ {
			if code.Black(x, y) {
				dark++
			}
		}
	}
	// Every dark module is in exactly one horizontal run "M x yhNv1h-Nz".
	drawn := 0
	d := svg[strings.Index(svg, ` d="`)+4:]
	d = d[:strings.Index(d, `"`)]
	for _, run := range strings.Split(strings.TrimSuffix(d, "z"), "z") {
		var x, y, n, m int
		_, err := fmt.Sscanf(run, "M%d %dh%dv1h-%d", &x, &y, &n, &m)
		require.NoError(t, err, run)
		require.Equal(t, n, m)
		drawn += n
	}
	require.Equal(t, dark, drawn)
}
