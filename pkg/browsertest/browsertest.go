// Package browsertest drives a headless Chromium from Go tests (through chromedp) to test pages
// the way a person uses them: navigate, type, press Tab, Space and Enter, read what the
// screen-reader live regions announce, and save screenshots at phone and desktop widths.
//
//	func TestBrowserCheckout(t *testing.T) {
//		b := browsertest.New(t) // skips locally without Chromium, fails under CI=true
//		b.Navigate(srv.URL + "/checkout/abc")
//		b.TabTo("#f-email", 20)
//		b.TypeFocused("buyer@example.com")
//		b.Press(browsertest.Enter)
//		b.WaitLive("Payment received")
//		b.Screenshot(t, "checkout-paid") // test-artifacts/checkout-paid-1280.png and -375.png
//	}
//
// Every helper fails the test (t.Fatal) when its action fails or its wait runs out; waits are
// bounded by Browser.Timeout and never measure how long something took. Each Browser is its own
// Chromium process with a fresh, empty profile directory, removed at the end of the test.
// Chromium is started with the flags this machine's closed network needs (no background
// networking, component updates, sync or QUIC).
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// DefaultTimeout bounds each action and each wait.
const DefaultTimeout = 20 * time.Second

// Screenshot widths: a desktop and a phone.
const (
	DesktopWidth = 1280
	PhoneWidth   = 375
)

// Browser is one headless Chromium with one tab. It is not safe for concurrent use: a test
// (or subtest) drives it from one goroutine.
type Browser struct {
	t       testing.TB
	ctx     context.Context
	Timeout time.Duration
	*tab
}

// tab is what copies made by WithT share.
type tab struct {
	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	width   int
	height  int
}

// WithT returns the same browser reporting failures to t: use it in subtests, since a
// failure must be reported through the running (sub)test's own t.
func (b *Browser) WithT(t testing.TB) *Browser {
	c := *b
	c.t = t
	return &c
}

// ChromiumPath finds the browser: $CHROMIUM_PATH, else chromium, chromium-browser,
// google-chrome or google-chrome-stable on $PATH. It reports false when none is there.
func ChromiumPath() (string, bool) {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
		return "", false
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// Required reports whether a missing browser fails the test instead of skipping it (CI=true).
func Required() bool { return os.Getenv("CI") == "true" }

// New starts Chromium for the test and stops it (and removes its profile) at cleanup. Without
// Chromium the test is skipped, or fails when CI=true: CI must never pass by skipping.
func New(t testing.TB) *Browser {
	t.Helper()
	path, ok := ChromiumPath()
	if !ok {
		if Required() {
			t.Fatal("browsertest: Chromium not found (install it with `apt-get install -y chromium` or set CHROMIUM_PATH); CI=true requires it")
		}
		t.Skip("browsertest: Chromium not found; skipping (CI=true makes this a failure)")
	}
	profile, err := os.MkdirTemp("", "browsertest-profile-")
	if err != nil {
		t.Fatalf("browsertest: profile directory: %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.WindowSize(DesktopWidth, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithLogf(func(string, ...any) {}))
	b := &Browser{t: t, ctx: ctx, Timeout: DefaultTimeout, tab: &tab{width: DesktopWidth, height: 900}}
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc() // waits for the browser process to exit
		_ = os.RemoveAll(profile)
	})
	// The first action starts the browser; it must run on the context without a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browsertest: start Chromium (%s): %v", path, err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	b.do(chromedp.EmulateViewport(int64(b.width), int64(b.height)))
	return b
}

// Context is the chromedp context of the tab, for actions the helpers do not cover. Bound
// your own calls with a timeout derived from it.
func (b *Browser) Context() context.Context { return b.ctx }

// Do runs raw chromedp actions with the browser's timeout, failing the test on error.
func (b *Browser) Do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.do(actions...)
}

func (b *Browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browsertest: %v", err)
	}
}

// Navigate loads url and waits for the load event.
func (b *Browser) Navigate(url string) {
	b.t.Helper()
	b.do(chromedp.Navigate(url))
}

// Reload reloads the page and waits for the load event.
func (b *Browser) Reload() {
	b.t.Helper()
	b.do(chromedp.Reload())
}

// SetViewport sets the page's viewport in CSS pixels.
func (b *Browser) SetViewport(width, height int) {
	b.t.Helper()
	b.width, b.height = width, height
	b.do(chromedp.EmulateViewport(int64(width), int64(height)))
}

// Eval evaluates a JavaScript expression and decodes its JSON value into out (nil: ignore it).
// A returned promise is awaited.
func (b *Browser) Eval(js string, out any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.Timeout)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("browsertest: eval %q: %v", short(js), err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			b.t.Fatalf("browsertest: eval %q: decode %s: %v", short(js), raw, err)
		}
	}
}

// evalString is Eval for a string result.
func (b *Browser) evalString(js string) string {
	b.t.Helper()
	var s string
	b.Eval(js, &s)
	return s
}

// q quotes a Go string as a JavaScript string literal.
func q(s string) string {
	j, _ := json.Marshal(s)
	return string(j)
}

// WaitFor polls a JavaScript predicate until it is truthy, failing with what after Timeout.
// The page may navigate meanwhile (a redirect): evaluation errors are retried until then.
func (b *Browser) WaitFor(predicate, what string) {
	b.t.Helper()
	deadline := time.Now().Add(b.Timeout)
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+predicate+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		if err != nil {
			lastErr = err
		}
		if time.Now().After(deadline) || b.ctx.Err() != nil {
			msg := fmt.Sprintf("browsertest: waiting for %s: gave up after %s", what, b.Timeout)
			if lastErr != nil {
				msg += fmt.Sprintf(" (last error: %v)", lastErr)
			}
			b.t.Fatalf("%s\npage text: %s", msg, short(b.pageText()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *Browser) pageText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	return s
}

// visibleJS is a predicate for "the element exists and is rendered".
func visibleJS(sel string) string {
	return fmt.Sprintf(`(function(){var e=document.querySelector(%s);return !!(e&&e.getClientRects().length&&getComputedStyle(e).visibility!=="hidden")})()`, q(sel))
}

// WaitVisible waits until an element matching the CSS selector is rendered.
func (b *Browser) WaitVisible(sel string) {
	b.t.Helper()
	b.WaitFor(visibleJS(sel), sel+" to be visible")
}

// WaitHidden waits until no element matching sel is rendered (absent or hidden).
func (b *Browser) WaitHidden(sel string) {
	b.t.Helper()
	b.WaitFor("!"+visibleJS(sel), sel+" to be hidden")
}

// Visible reports whether an element matching sel is rendered now.
func (b *Browser) Visible(sel string) bool {
	b.t.Helper()
	var v bool
	b.Eval(visibleJS(sel), &v)
	return v
}

// Exists reports whether an element matches sel.
func (b *Browser) Exists(sel string) bool {
	b.t.Helper()
	var v bool
	b.Eval(fmt.Sprintf(`!!document.querySelector(%s)`, q(sel)), &v)
	return v
}

// Text returns the rendered text of the first element matching sel (innerText, trimmed), or
// fails when there is none.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	var v *string
	b.Eval(fmt.Sprintf(`(function(){var e=document.querySelector(%s);return e?e.innerText.trim():null})()`, q(sel)), &v)
	if v == nil {
		b.t.Fatalf("browsertest: no element matches %s", sel)
	}
	return *v
}

// WaitText waits until the text of the element matching sel contains substr, and returns it.
func (b *Browser) WaitText(sel, substr string) string {
	b.t.Helper()
	b.WaitFor(fmt.Sprintf(`(function(){var e=document.querySelector(%s);return !!e&&e.textContent.indexOf(%s)>=0})()`, q(sel), q(substr)),
		fmt.Sprintf("%s to contain %q", sel, substr))
	return b.Text(sel)
}

// Attr returns an attribute of the first element matching sel ("" when absent).
func (b *Browser) Attr(sel, name string) string {
	b.t.Helper()
	return b.evalString(fmt.Sprintf(`(function(){var e=document.querySelector(%s);return e&&e.getAttribute(%s)||""})()`, q(sel), q(name)))
}

// Value returns the current value of a form control.
func (b *Browser) Value(sel string) string {
	b.t.Helper()
	return b.evalString(fmt.Sprintf(`(function(){var e=document.querySelector(%s);return e?e.value:""})()`, q(sel)))
}

// Click clicks the element like a mouse does (for tests that are not about the keyboard).
func (b *Browser) Click(sel string) {
	b.t.Helper()
	b.WaitVisible(sel)
	b.do(chromedp.Click(chromedp.CSS(sel)))
}

// Focus moves keyboard focus to the element without a mouse.
func (b *Browser) Focus(sel string) {
	b.t.Helper()
	b.do(chromedp.Focus(chromedp.CSS(sel)))
}

// Type focuses the field, replaces its content and types text key by key (input events fire
// as they do for a person).
func (b *Browser) Type(sel, text string) {
	b.t.Helper()
	b.Focus(sel)
	b.Eval(fmt.Sprintf(`(function(){var e=document.querySelector(%s);if(e.select)e.select()})()`, q(sel)), nil)
	b.do(chromedp.KeyEvent(text))
}

// TypeFocused types text into whatever has focus, key by key.
func (b *Browser) TypeFocused(text string) {
	b.t.Helper()
	b.do(chromedp.KeyEvent(text))
}

// Select chooses an option of a <select> by value and fires input and change, as choosing with
// the mouse does. For the keyboard, focus the select and TypeFocused the option's first letters.
func (b *Browser) Select(sel, value string) {
	b.t.Helper()
	var ok bool
	b.Eval(fmt.Sprintf(`(function(){var e=document.querySelector(%s);if(!e)return false;e.value=%s;
		if(e.value!==%s)return false;e.dispatchEvent(new Event("input",{bubbles:true}));e.dispatchEvent(new Event("change",{bubbles:true}));return true})()`,
		q(sel), q(value), q(value)), &ok)
	if !ok {
		b.t.Fatalf("browsertest: cannot select %q in %s", value, sel)
	}
}

// Key is a key press.
type Key struct {
	keys  string
	shift bool
	name  string
}

// Keys for keyboard-only tests.
var (
	Tab        = Key{keys: kb.Tab, name: "Tab"}
	ShiftTab   = Key{keys: kb.Tab, shift: true, name: "Shift+Tab"}
	Enter      = Key{keys: kb.Enter, name: "Enter"}
	Space      = Key{keys: " ", name: "Space"}
	Escape     = Key{keys: kb.Escape, name: "Escape"}
	ArrowDown  = Key{keys: kb.ArrowDown, name: "ArrowDown"}
	ArrowUp    = Key{keys: kb.ArrowUp, name: "ArrowUp"}
	ArrowLeft  = Key{keys: kb.ArrowLeft, name: "ArrowLeft"}
	ArrowRight = Key{keys: kb.ArrowRight, name: "ArrowRight"}
)

func (k Key) String() string { return k.name }

// Press presses keys one after another on the focused element.
func (b *Browser) Press(keys ...Key) {
	b.t.Helper()
	for _, k := range keys {
		var opts []chromedp.KeyOption
		if k.shift {
			opts = append(opts, chromedp.KeyModifiers(chromedp.ModifierShift))
		}
		b.do(chromedp.KeyEvent(k.keys, opts...))
	}
}

// Focused describes the focused element: "#id" when it has one, else its tag and name, e.g.
// "input[name=providerId]", or "body" when nothing has focus.
func (b *Browser) Focused() string {
	b.t.Helper()
	return b.evalString(`(function(){var e=document.activeElement;if(!e)return "";if(e.id)return "#"+e.id;
		var s=e.tagName.toLowerCase();if(e.name)s+="[name="+e.name+"]";return s})()`)
}

// FocusedMatches reports whether the focused element matches the CSS selector.
func (b *Browser) FocusedMatches(sel string) bool {
	b.t.Helper()
	var v bool
	b.Eval(fmt.Sprintf(`(function(){var e=document.activeElement;return !!e&&e.matches(%s)})()`, q(sel)), &v)
	return v
}

// TabTo presses Tab until the focused element matches sel, at most max times, and fails the
// test when focus never gets there (a keyboard trap or an unreachable control).
func (b *Browser) TabTo(sel string, max int) {
	b.t.Helper()
	var path []string
	for i := 0; i < max; i++ {
		if b.FocusedMatches(sel) {
			return
		}
		b.Press(Tab)
		path = append(path, b.Focused())
	}
	if !b.FocusedMatches(sel) {
		b.t.Fatalf("browsertest: %s not reached with %d Tab presses; focus went %s", sel, max, strings.Join(path, " → "))
	}
}

// liveJS collects the text of every live region: aria-live, role=status, role=alert.
const liveJS = `Array.prototype.map.call(document.querySelectorAll('[aria-live],[role=status],[role=alert]'),
	function(e){return e.textContent.trim()}).filter(Boolean).join("\n")`

// LiveText returns what the page's live regions hold now (what a screen reader announces).
func (b *Browser) LiveText() string {
	b.t.Helper()
	return b.evalString(liveJS)
}

// WaitLive waits until a live region announces text containing substr, and returns all live text.
func (b *Browser) WaitLive(substr string) string {
	b.t.Helper()
	b.WaitFor(fmt.Sprintf(`(%s).indexOf(%s)>=0`, liveJS, q(substr)), fmt.Sprintf("a live region to announce %q", substr))
	return b.LiveText()
}

// URL returns the tab's current URL.
func (b *Browser) URL() string {
	b.t.Helper()
	return b.evalString(`location.href`)
}

// WaitURL waits until the tab's URL contains substr (a redirect happened), and returns it.
func (b *Browser) WaitURL(substr string) string {
	b.t.Helper()
	b.WaitFor(fmt.Sprintf(`location.href.indexOf(%s)>=0`, q(substr)), fmt.Sprintf("the URL to contain %q", substr))
	return b.URL()
}

// AllowClipboard lets pages read and write the clipboard without asking (copy buttons can
// then be checked with Clipboard).
func (b *Browser) AllowClipboard() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.Timeout)
	defer cancel()
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		_, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true},
			Setting:    browser.PermissionSettingGranted,
		})
		if err != nil {
			b.t.Fatalf("browsertest: allow %s: %v", name, err)
		}
	}
}

// Clipboard returns the clipboard's text (after AllowClipboard).
func (b *Browser) Clipboard() string {
	b.t.Helper()
	return b.evalString(`navigator.clipboard.readText()`)
}

// Console returns every console message, uncaught exception and browser log entry so far.
func (b *Browser) Console() []chromedp.ConsoleMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), b.console...)
}

// Errors returns the console errors, exceptions and warnings so far: script failures,
// Content-Security-Policy violations, failed loads.
func (b *Browser) Errors() []string {
	var out []string
	for _, m := range b.Console() {
		if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleWarning {
			out = append(out, m.String())
		}
	}
	return out
}

// ArtifactsDir is where screenshots go: $TEST_ARTIFACTS_DIR, else test-artifacts/ at the root
// of the Go workspace (the folder holding go.work), else in the working directory.
func ArtifactsDir() string {
	if d := os.Getenv("TEST_ARTIFACTS_DIR"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		return "test-artifacts"
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return filepath.Join(d, "test-artifacts")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(dir, "test-artifacts")
		}
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Screenshot saves full-page PNGs of the current page at each width (default 1280 and 375),
// as ArtifactsDir()/name-<width>.png, and returns their paths. The viewport is restored after.
func (b *Browser) Screenshot(t testing.TB, name string, widths ...int) []string {
	t.Helper()
	if len(widths) == 0 {
		widths = []int{DesktopWidth, PhoneWidth}
	}
	dir := ArtifactsDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("browsertest: artifacts directory: %v", err)
	}
	w0, h0 := b.width, b.height
	defer b.SetViewport(w0, h0)
	var paths []string
	for _, w := range widths {
		b.SetViewport(w, 800)
		var height float64
		b.Eval(`Math.ceil(Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0))`, &height)
		if height < 200 {
			height = 200
		}
		b.SetViewport(w, int(min(height, 16000)))
		ctx, cancel := context.WithTimeout(b.ctx, b.Timeout)
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		cancel()
		if err != nil {
			t.Fatalf("browsertest: screenshot: %v", err)
		}
		p := filepath.Join(dir, fmt.Sprintf("%s-%d.png", unsafeName.ReplaceAllString(name, "_"), w))
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatalf("browsertest: %v", err)
		}
		paths = append(paths, p)
	}
	return paths
}

func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
