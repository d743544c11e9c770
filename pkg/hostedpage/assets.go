package hostedpage

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"path"
	"strings"
)

// asset is one static file, served at a URL that contains a hash of its content so that it can
// be cached for a year: a changed file gets a new URL.
type asset struct {
	name        string // app.js
	url         string // /assets/app.3f9a1c2b7d.js
	contentType string
	etag        string
	body        []byte
	gzipped     []byte // nil when compression does not pay
}

// assets holds the static files by hashed name.
type assets struct {
	byName map[string]*asset // app.js → asset
	byFile map[string]*asset // app.3f9a1c2b7d.js → asset
}

// AssetURLs are the hashed URLs the layout links to. StripeFlow is the card flow, which the
// page's script loads only when the buyer pays with a Stripe provider; GoCardlessFlow is the
// bank-payment flow, loaded only when the buyer pays with GoCardless or comes back from it.
type AssetURLs struct {
	CSS, JS, Icon, StripeFlow, GoCardlessFlow string
}

// loadAssets reads static/*, hashes and pre-compresses every file. It fails when a file the
// layout needs is missing.
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
		if strings.HasPrefix(ct, "text/") && !strings.Contains(ct, "charset") {
			ct += "; charset=utf-8"
		}
		as := &asset{name: e.Name(), url: "/assets/" + file, contentType: ct, etag: `"` + h + `"`, body: body}
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
	for _, need := range []string{"app.css", "app.js", "favicon.svg", "pay-stripe.js", "pay-gocardless.js"} {
		if a.byName[need] == nil {
			return nil, fmt.Errorf("static/%s is missing", need)
		}
	}
	return a, nil
}

func (a *assets) urls() AssetURLs {
	return AssetURLs{CSS: a.byName["app.css"].url, JS: a.byName["app.js"].url, Icon: a.byName["favicon.svg"].url,
		StripeFlow: a.byName["pay-stripe.js"].url, GoCardlessFlow: a.byName["pay-gocardless.js"].url}
}
