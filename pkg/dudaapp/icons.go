package dudaapp

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// icons are the small pictures Duda shows beside our gateway and payment methods.
var icons = map[string]string{
	"gateway": `<path d="M12 3l7 3v5c0 4.4-3 8.4-7 9.8C8 19.4 5 15.4 5 11V6z" fill="none" stroke="#fff" stroke-width="1.8" stroke-linejoin="round"/>` +
		`<path d="M9 12l2 2 4-4" fill="none" stroke="#fff" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"/>`,
	"wire_transfer": `<path d="M4 9l8-5 8 5M5 10v7M9.5 10v7M14.5 10v7M19 10v7M3.5 19.5h17" fill="none" stroke="#fff" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"/>`,
	"stripe": `<rect x="3.5" y="6" width="17" height="12" rx="2" fill="none" stroke="#fff" stroke-width="1.8"/>` +
		`<path d="M3.5 10h17M7 14.5h4" stroke="#fff" stroke-width="1.8" stroke-linecap="round"/>`,
	"gocardless": `<path d="M6 7h12v10H6z" fill="none" stroke="#fff" stroke-width="1.8" stroke-linejoin="round"/>` +
		`<path d="M9 11h6M9 14h3" stroke="#fff" stroke-width="1.8" stroke-linecap="round"/><path d="M16 4l2 3-2 0" fill="none" stroke="#fff" stroke-width="1.5"/>`,
}

// icon serves one of the icons as SVG.
func (a *App) icon(c echo.Context) error {
	body, ok := icons[strings.TrimSuffix(c.Param("name"), ".svg")]
	if !ok || !strings.HasSuffix(c.Param("name"), ".svg") {
		return c.NoContent(http.StatusNotFound)
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	h.Set("X-Content-Type-Options", "nosniff")
	return c.Blob(http.StatusOK, "image/svg+xml",
		[]byte(`<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48" viewBox="0 0 24 24"><rect width="24" height="24" rx="5" fill="#1f4fd1"/>`+body+`</svg>`))
}
