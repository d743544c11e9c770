package frontend

import (
	"embed"
	"io/fs"
)

// panel is the Admin Panel: templates/ (one file per page, plus layout.html and the shared
// partials in parts.html) and static/ (CSS, the small script, the icon).
//
//go:embed panel/templates/*.html panel/static/*
var panel embed.FS

// Panel returns the Admin Panel's files, rooted at the panel/ folder.
func Panel() fs.FS {
	sub, err := fs.Sub(panel, "panel")
	if err != nil { // cannot happen: the folder is embedded above
		panic(err)
	}
	return sub
}
