package hostedpage

import (
	"io/fs"

	"paygate.dev/pkg/assets"
)

// AssetURLs are the hashed URLs the layout links to. StripeFlow and GoCardlessFlow are the
// provider flows, which the page's script loads only when the buyer pays with them.
type AssetURLs struct {
	CSS, JS, Icon, StripeFlow, GoCardlessFlow string
}

// loadAssets reads static/*, hashed and pre-compressed. It fails when a file the layout needs
// is missing.
func loadAssets(files fs.FS) (*assets.Set, error) {
	return assets.Load(files, "static", "/assets/", "app.css", "app.js", "favicon.svg", "pay-stripe.js", "pay-gocardless.js")
}

func urlsOf(a *assets.Set) AssetURLs {
	return AssetURLs{CSS: a.URL("app.css"), JS: a.URL("app.js"), Icon: a.URL("favicon.svg"),
		StripeFlow: a.URL("pay-stripe.js"), GoCardlessFlow: a.URL("pay-gocardless.js")}
}
