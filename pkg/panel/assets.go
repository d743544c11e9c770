package panel

import (
	"io/fs"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/assets"
)

// assetURLs are the hashed URLs the layout links to.
type assetURLs struct {
	CSS, JS, Icon string
}

// loadAssets reads static/*, hashed and pre-compressed.
func loadAssets(files fs.FS) (*assets.Set, error) {
	return assets.Load(files, "static", "/assets/", "panel.css", "panel.js", "favicon.svg")
}

func urlsOf(a *assets.Set) assetURLs {
	return assetURLs{CSS: a.URL("panel.css"), JS: a.URL("panel.js"), Icon: a.URL("favicon.svg")}
}

// asset serves a static file by its hashed name, cacheable for a year.
func (p *Panel) asset(c echo.Context, _ *request) error {
	p.assets.Serve(c.Response(), c.Request(), c.Param("file"))
	return nil
}
