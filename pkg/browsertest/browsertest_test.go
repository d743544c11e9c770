package browsertest_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/browsertest"
)

// page is a tiny accessible page exercising what the harness offers: two buttons, a field,
// a live region, a console error on demand and a link to another page.
const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Harness</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>
<button id="first">First</button>
<label for="name">Name</label><input id="name">
<select id="country"><option value="">Choose</option><option value="FR">France</option><option value="NL">Netherlands</option></select>
<button id="announce">Announce</button>
<a id="next" href="/next?from=harness">Next page</a>
<div id="live" role="status" aria-live="polite"></div>
<p id="out"></p>
<script>
document.getElementById('announce').addEventListener('click', function () {
  document.getElementById('live').textContent = 'Hello ' + document.getElementById('name').value;
});
document.getElementById('country').addEventListener('change', function (e) {
  document.getElementById('out').textContent = 'country ' + e.target.value;
});
if (location.hash === '#fail') console.error('deliberate failure');
</script></body></html>`

func server(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/next" {
			fmt.Fprint(w, `<!doctype html><title>Next</title><h1>Next</h1>`)
			return
		}
		fmt.Fprint(w, page)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestBrowserHarness(t *testing.T) {
	srv := server(t)
	b := browsertest.New(t)
	b.Navigate(srv.URL)

	t.Run("KeyboardMovesFocusAndTypes", func(t *testing.T) {
		b := b.WithT(t)
		b.Press(browsertest.Tab)
		require.Equal(t, "#first", b.Focused())
		b.TabTo("#name", 3)
		b.TypeFocused("Ada")
		require.Equal(t, "Ada", b.Value("#name"))
		b.Press(browsertest.ShiftTab)
		require.Equal(t, "#first", b.Focused())
	})

	t.Run("SpaceAndEnterActivateButtons", func(t *testing.T) {
		b := b.WithT(t)
		b.TabTo("#announce", 5)
		b.Press(browsertest.Space)
		require.Contains(t, b.WaitLive("Hello Ada"), "Hello Ada")
		b.Type("#name", "Grace")
		b.Focus("#announce")
		b.Press(browsertest.Enter)
		b.WaitLive("Hello Grace")
	})

	t.Run("SelectsByTypingAndByValue", func(t *testing.T) {
		b := b.WithT(t)
		b.Focus("#country")
		b.TypeFocused("Neth")
		require.Equal(t, "NL", b.Value("#country"))
		b.Select("#country", "FR")
		b.WaitText("#out", "country FR")
	})

	t.Run("TabToFailsWhenUnreachable", func(t *testing.T) {
		ft := &fakeT{TB: t}
		func() {
			defer func() { _ = recover() }()
			b2 := b.WithT(ft)
			b2.TabTo("#does-not-exist", 3)
		}()
		require.True(t, ft.failed, "TabTo reports an unreachable element")
	})

	t.Run("SavesScreenshotsAtPhoneAndDesktopWidths", func(t *testing.T) {
		b := b.WithT(t)
		dir := t.TempDir()
		t.Setenv("TEST_ARTIFACTS_DIR", dir)
		paths := b.Screenshot(t, "harness/page")
		require.Equal(t, []string{filepath.Join(dir, "harness_page-1280.png"), filepath.Join(dir, "harness_page-375.png")}, paths)
		for _, p := range paths {
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			require.True(t, bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")), "%s is a PNG", p)
		}
	})

	t.Run("FollowsNavigation", func(t *testing.T) {
		b := b.WithT(t)
		b.Focus("#next")
		b.Press(browsertest.Enter)
		require.Equal(t, srv.URL+"/next?from=harness", b.WaitURL("/next"))
		require.Equal(t, "Next", b.Text("h1"))
	})

	t.Run("CollectsConsoleErrors", func(t *testing.T) {
		b := b.WithT(t)
		b.Navigate(srv.URL + "/#fail")
		b.WaitFor(`true`, "the page")
		require.Eventually(t, func() bool {
			for _, e := range b.Errors() {
				if bytes.Contains([]byte(e), []byte("deliberate failure")) {
					return true
				}
			}
			return false
		}, browsertest.DefaultTimeout, 20*time.Millisecond, "the console error is collected")
	})
}

func TestChromiumPath(t *testing.T) {
	t.Setenv("CHROMIUM_PATH", filepath.Join(t.TempDir(), "no-such-browser"))
	_, ok := browsertest.ChromiumPath()
	require.False(t, ok, "an explicit path that does not exist is not replaced by a guess")
}

func TestMissingChromiumFailsUnderCI(t *testing.T) {
	t.Setenv("CHROMIUM_PATH", filepath.Join(t.TempDir(), "no-such-browser"))
	for _, tc := range []struct {
		ci              string
		failed, skipped bool
	}{{"true", true, false}, {"", false, true}} {
		t.Setenv("CI", tc.ci)
		ft := &fakeT{TB: t}
		func() {
			defer func() { _ = recover() }() // fakeT stops the goroutine's work by panicking
			browsertest.New(ft)
		}()
		require.Equal(t, tc.failed, ft.failed, "CI=%q", tc.ci)
		require.Equal(t, tc.skipped, ft.skipped, "CI=%q", tc.ci)
	}
}

// fakeT records Fatal and Skip instead of ending the test.
type fakeT struct {
	testing.TB
	failed, skipped bool
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatal(args ...any) {
	f.failed = true
	panic("fatal")
}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = true
	panic("fatal")
}
func (f *fakeT) Skip(args ...any) {
	f.skipped = true
	panic("skip")
}
