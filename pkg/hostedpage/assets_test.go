package hostedpage_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/frontend"
	"paygate.dev/pkg/assets"
	"paygate.dev/pkg/hostedpage"
)

func TestAssets(t *testing.T) {
	t.Parallel()
	e, _ := fixture(t, checkout("assets001"))
	_, doc := get(t, e, "/checkout/assets001")
	urls := map[string]string{
		"app.css":     doc.Find(`link[rel=stylesheet][href^="/assets/"]`).AttrOr("href", ""),
		"app.js":      doc.Find("script[src]").AttrOr("src", ""),
		"favicon.svg": doc.Find(`link[rel=icon]`).AttrOr("href", ""),
	}
	hashed := regexp.MustCompile(`^/assets/([a-z]+)\.([0-9a-f]{12})\.(css|js|svg)$`)

	for name, u := range urls {
		t.Run("ServesAtAContentHashedURL/"+name, func(t *testing.T) {
			m := hashed.FindStringSubmatch(u)
			require.NotNil(t, m, "hashed URL for %s: %q", name, u)
			src, err := fs.ReadFile(frontend.Hosted(), "static/"+name)
			require.NoError(t, err)
			body := assets.Served(name, src)
			sum := sha256.Sum256(body)
			require.Equal(t, hex.EncodeToString(sum[:])[:12], m[2], "the hash is the content's")

			rec, _ := get(t, e, u)
			require.Equal(t, http.StatusOK, rec.Code)
			require.Equal(t, "public, max-age=31536000, immutable", rec.Header().Get("Cache-Control"))
			require.Equal(t, body, rec.Body.Bytes())
			ct := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}[path.Ext(name)]
			require.Equal(t, ct, rec.Header().Get("Content-Type"))
			etag := rec.Header().Get("ETag")
			require.NotEmpty(t, etag)

			rec, _ = get(t, e, u, "If-None-Match: "+etag)
			require.Equal(t, http.StatusNotModified, rec.Code)
		})
	}

	t.Run("CompressesForBrowsersThatAcceptGzip", func(t *testing.T) {
		rec, _ := get(t, e, urls["app.js"], "Accept-Encoding: br, gzip")
		require.Equal(t, "gzip", rec.Header().Get("Content-Encoding"))
		require.Equal(t, "Accept-Encoding", rec.Header().Get("Vary"))
		zr, err := gzip.NewReader(bytes.NewReader(rec.Body.Bytes()))
		require.NoError(t, err)
		plain, err := io.ReadAll(zr)
		require.NoError(t, err)
		src, _ := fs.ReadFile(frontend.Hosted(), "static/app.js")
		require.Equal(t, assets.Served("app.js", src), plain)

		rec, _ = get(t, e, urls["app.js"], "Accept-Encoding: gzip;q=0")
		require.Empty(t, rec.Header().Get("Content-Encoding"))
	})

	t.Run("UnknownHashIsNotFound", func(t *testing.T) {
		rec, _ := get(t, e, "/assets/app.000000000000.js")
		require.Equal(t, http.StatusNotFound, rec.Code)
	})

	t.Run("ThemeIsCachedForAYear", func(t *testing.T) {
		rec, _ := get(t, e, "/theme/v2/ffeb3b.css")
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, "text/css; charset=utf-8", rec.Header().Get("Content-Type"))
		require.Equal(t, "public, max-age=31536000, immutable", rec.Header().Get("Cache-Control"))
		require.Equal(t, hostedpage.ThemeFor("#ffeb3b").CSS(), rec.Body.String())
		for _, bad := range []string{"/theme/v2/FFEB3B.css", "/theme/v2/ffeb3.css", "/theme/v2/ffeb3b.js", "/theme/v2/red.css"} {
			rec, _ := get(t, e, bad)
			require.Equal(t, http.StatusNotFound, rec.Code, bad)
		}
	})

	t.Run("TemplatesAreParsedOnceAtStart", func(t *testing.T) {
		// A broken template stops New instead of failing a buyer's request.
		files := overlay(frontend.Hosted(), map[string]string{"templates/state.html": `{{define "content"}}{{.Nope`})
		_, err := hostedpage.New(hostedpage.Options{Runtime: newRuntimeClient(), BackendURL: "https://b.example.com", Files: files})
		require.Error(t, err)
	})

	t.Run("RequiresAnAbsoluteBackendURL", func(t *testing.T) {
		_, err := hostedpage.New(hostedpage.Options{Runtime: newRuntimeClient(), BackendURL: "/relative"})
		require.ErrorContains(t, err, "BackendURL")
	})
}
