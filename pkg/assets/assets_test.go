package assets

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

func TestHashedURLsCachingAndCompression(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("body{color:red}\n", 200)
	files := fstest.MapFS{"static/app.css": {Data: []byte(big)}, "static/app.js": {Data: []byte("x")}}
	s, err := Load(files, "static", "/assets/", "app.css")
	require.NoError(t, err)
	u := s.URL("app.css")
	require.Regexp(t, `^/assets/app\.[0-9a-f]{12}\.css$`, u)
	hashed := strings.TrimPrefix(u, "/assets/")

	req := httptest.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	s.Serve(rec, req, hashed)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "public, max-age=31536000, immutable", rec.Header().Get("Cache-Control"))
	require.Equal(t, "gzip", rec.Header().Get("Content-Encoding"))
	zr, err := gzip.NewReader(rec.Body)
	require.NoError(t, err)
	plain, _ := io.ReadAll(zr)
	require.Equal(t, big, string(plain))

	req = httptest.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
	rec = httptest.NewRecorder()
	s.Serve(rec, req, hashed)
	require.Equal(t, http.StatusNotModified, rec.Code)

	rec = httptest.NewRecorder()
	s.Serve(rec, httptest.NewRequest(http.MethodGet, "/assets/app.css", nil), "app.css")
	require.Equal(t, http.StatusNotFound, rec.Code, "only hashed names are served")

	_, err = Load(files, "static", "/assets/", "missing.js")
	require.ErrorContains(t, err, "missing.js")
}
