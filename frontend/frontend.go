// Package frontend holds the HTML templates, CSS, small vanilla JavaScript and locale files of
// the hosted checkout pages and the Admin Panel, embedded into the binaries.
package frontend

import (
	"embed"
	"io/fs"
)

// hosted is the buyer-facing checkout page: templates/, static/ (CSS, JS, icon), locales/
// (one JSON file of messages per language) and locales/countries/ (country names per language,
// generated from CLDR, sorted for that language).
//
//go:embed hosted/templates/*.html hosted/static/* hosted/locales/*.json hosted/locales/countries/*.json hosted/locales/formats/*.json
var hosted embed.FS

// Hosted returns the hosted checkout page's files, rooted at the hosted/ folder.
func Hosted() fs.FS {
	sub, err := fs.Sub(hosted, "hosted")
	if err != nil { // cannot happen: the folder is embedded above
		panic(err)
	}
	return sub
}
