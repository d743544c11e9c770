package hostedpage_test

import (
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/PuerkitoBio/goquery"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/hostedpage"
	"paygate.dev/pkg/hostedpage/hostedpagetest"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/money"
	"paygate.dev/pkg/runtimeapi"
	"paygate.dev/pkg/tax"
)

// newPages builds the main frontend's routes around the hosted page, talking to rt.
func newPages(t testing.TB, rt *hostedpagetest.Runtime, mods ...func(*hostedpage.Options)) (*echo.Echo, *hostedpage.Server) {
	t.Helper()
	o := hostedpage.Options{
		Runtime:     rt.Client(),
		BackendURL:  rt.URL(),
		StripeJSURL: "https://js.stripe.com/v3",
		HTTPS:       true,
		Log:         slog.New(slog.DiscardHandler),
	}
	for _, m := range mods {
		m(&o)
	}
	s, err := hostedpage.New(o)
	require.NoError(t, err)
	e := httpapi.New(httpapi.Options{Log: slog.New(slog.DiscardHandler)})
	s.Register(e)
	return e, s
}

// fixture starts a fake runtime API serving the given checkouts and the pages in front of it.
func fixture(t testing.TB, checkouts ...runtimeapi.Checkout) (*echo.Echo, *hostedpagetest.Runtime) {
	t.Helper()
	rt := hostedpagetest.NewRuntime(t)
	for _, c := range checkouts {
		rt.AddCheckout(c, "https://shop.example.com/thanks?txn={transactionId}")
	}
	e, _ := newPages(t, rt)
	return e, rt
}

// get requests path (headers as "Name: value") and parses the answer as HTML.
func get(t testing.TB, h http.Handler, path string, headers ...string) (*httptest.ResponseRecorder, *goquery.Document) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for _, hv := range headers {
		k, v, _ := strings.Cut(hv, ":")
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(rec.Body.String()))
	require.NoError(t, err)
	return rec, doc
}

// currencyCodes lists every currency the platform knows.
func currencyCodes() []money.Currency {
	var out []money.Currency
	for _, c := range money.Codes() {
		out = append(out, money.MustLookup(c))
	}
	return out
}

func rateOf(hundredths int64) tax.Rate { return tax.Rate(hundredths) }

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// overlay copies files and replaces or adds the given ones (path → content).
func overlay(files fs.FS, changes map[string]string) fstest.MapFS {
	out := fstest.MapFS{}
	_ = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		out[p] = &fstest.MapFile{Data: b}
		return err
	})
	for p, c := range changes {
		if c == "" {
			delete(out, p)
			continue
		}
		out[p] = &fstest.MapFile{Data: []byte(c)}
	}
	return out
}

// newRuntimeClient is a client for tests that never reach the runtime API.
func newRuntimeClient() *runtimeapi.Client { return &runtimeapi.Client{BaseURL: "http://127.0.0.1:1"} }

// serve runs one request through h.
func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var asciiSpace = regexp.MustCompile(`[ \t\r\n]+`)

// text is the trimmed text of the selection with runs of ASCII white space made one space
// (no-break spaces, which the number formats use, are kept).
func text(s *goquery.Selection) string {
	return strings.TrimSpace(asciiSpace.ReplaceAllString(s.Text(), " "))
}

// checkout returns the sample checkout changed by mods.
func checkout(code string, mods ...func(*runtimeapi.Checkout)) runtimeapi.Checkout {
	c := hostedpagetest.SampleCheckout(code)
	for _, m := range mods {
		m(&c)
	}
	return c
}

// langKeep is what the language picker (a GET form) sends besides lang: its hidden inputs as a
// query string.
func langKeep(doc *goquery.Document) string {
	q := url.Values{}
	doc.Find(`form.langs input[type=hidden]`).Each(func(_ int, s *goquery.Selection) {
		q.Add(s.AttrOr("name", ""), s.AttrOr("value", ""))
	})
	return q.Encode()
}
