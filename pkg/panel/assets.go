package panel

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

// asset is one static file, served at a URL holding a hash of its content, so it can be cached
// for a year: a changed file gets a new URL.
type asset struct {
	url         string // /assets/panel.3f9a1c2b7d01.css
	contentType string
	etag        string
	body        []byte
	gzipped     []byte // nil when compression does not pay
}

type assets struct {
	byName map[string]*asset // panel.css → asset
	byFile map[string]*asset // panel.3f9a1c2b7d01.css → asset
}

// assetURLs are the hashed URLs the layout links to.
type assetURLs struct {
	CSS, JS, Icon string
}

// loadAssets reads static/*, hashes and pre-compresses every file.
func loadAssets(files fs.FS) (*assets, error) {
	a := &assets{byName: map[string]*asset{}, byFile: map[string]*asset{}}
	entries, err := fs.ReadDir(files, "static")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		body, err := fs.ReadFile(files, "static/"+e.Name())
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		h := hex.EncodeToString(sum[:])[:12]
		ext := path.Ext(e.Name())
		file := strings.TrimSuffix(e.Name(), ext) + "." + h + ext
		ct := mime.TypeByExtension(ext)
		if ct == "" {
			ct = "application/octet-stream"
		}
		if (strings.HasPrefix(ct, "text/") || strings.Contains(ct, "javascript")) && !strings.Contains(ct, "charset") {
			ct += "; charset=utf-8"
		}
		as := &asset{url: "/assets/" + file, contentType: ct, etag: `"` + h + `"`, body: body}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		if buf.Len() < len(body)*9/10 {
			as.gzipped = buf.Bytes()
		}
		a.byName[e.Name()] = as
		a.byFile[file] = as
	}
	for _, need := range []string{"panel.css", "panel.js", "favicon.svg"} {
		if a.byName[need] == nil {
			return nil, fmt.Errorf("static/%s is missing", need)
		}
	}
	return a, nil
}

func (a *assets) urls() assetURLs {
	return assetURLs{CSS: a.byName["panel.css"].url, JS: a.byName["panel.js"].url, Icon: a.byName["favicon.svg"].url}
}

// asset serves a static file by its hashed name, cacheable for a year.
func (p *Panel) asset(c echo.Context, _ *request) error {
	a := p.assets.byFile[c.Param("file")]
	if a == nil {
		return c.NoContent(http.StatusNotFound)
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vary", "Accept-Encoding")
	if c.Request().Header.Get("If-None-Match") == a.etag {
		return c.NoContent(http.StatusNotModified)
	}
	if a.gzipped != nil && strings.Contains(c.Request().Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		return c.Blob(http.StatusOK, a.contentType, a.gzipped)
	}
	return c.Blob(http.StatusOK, a.contentType, a.body)
}
