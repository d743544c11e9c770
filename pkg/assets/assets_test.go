package assets

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
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

func TestScriptsAreServedWithoutCommentLinesAndIndentation(t *testing.T) {
	t.Parallel()
	src := "(function () {\n  // what it does\n  var a = 'x // not a comment';\n\t\t// another\n  return a; // kept: code before it\n})();\n"
	s, err := Load(fstest.MapFS{"static/app.js": {Data: []byte(src)}}, "static", "/assets/", "app.js")
	require.NoError(t, err)
	f := s.byName["app.js"]
	require.Equal(t, "(function () {\nvar a = 'x // not a comment';\nreturn a; // kept: code before it\n})();\n", string(f.Body))
}

// slimJS is safe only for scripts without template literals or strings continued over lines.
func TestOurScriptsCanBeSlimmed(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"../../frontend/hosted/static", "../../frontend/panel/static"} {
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".js") {
				continue
			}
			b, err := os.ReadFile(dir + "/" + e.Name())
			require.NoError(t, err)
			require.NotContains(t, string(b), "`", "%s: a template literal may span lines", e.Name())
			require.NotRegexp(t, `\\\r?\n`, string(b), "%s: a string continued over lines", e.Name())
		}
	}
}
