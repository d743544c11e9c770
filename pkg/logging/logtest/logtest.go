// Package logtest captures what a test's services log — the same JSON lines production writes,
// at DEBUG so nothing is filtered out — and checks that no line carries a credential:
//
//   - an API key (sk_test_key_<id>.<secret>, sk_live_...);
//   - a password-reset or invitation link or its token (…/reset-password?token=…, token=…);
//   - a JWT (eyJ….eyJ…), such as a dashboard session;
//   - a signing secret (whsec_…: sites' IPN secrets, Stripe webhook secrets);
//   - a provider secret key (Stripe sk_test_…/sk_live_…/rk_…);
//   - any exact value the test registers with Forbid (passwords, tokens read from e-mails).
//
// apptest captures every service it starts this way and fails the test at its end on a leak.
package logtest

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"

	"paygate.dev/pkg/logging"
)

// Capture collects log lines. It is safe for concurrent use.
type Capture struct {
	mu        sync.Mutex
	lines     []string
	partial   []byte
	forbidden []string
}

// New returns an empty capture.
func New() *Capture { return &Capture{} }

// Logger is a production-format JSON logger (logging.New) at DEBUG writing into the capture.
func (c *Capture) Logger(service string) *slog.Logger {
	return logging.New(service, slog.LevelDebug, c)
}

// Write takes log output; each complete line is one entry.
func (c *Capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.partial = append(c.partial, p...)
	for {
		i := strings.IndexByte(string(c.partial), '\n')
		if i < 0 {
			break
		}
		c.lines = append(c.lines, string(c.partial[:i]))
		c.partial = c.partial[i+1:]
	}
	return len(p), nil
}

// Lines returns the lines captured so far.
func (c *Capture) Lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append([]string(nil), c.lines...)
	if len(c.partial) > 0 {
		out = append(out, string(c.partial))
	}
	return out
}

// Forbid registers exact values that must never be logged (values shorter than 8 characters
// are ignored: they would match by chance).
func (c *Capture) Forbid(values ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range values {
		if len(v) >= 8 {
			c.forbidden = append(c.forbidden, v)
		}
	}
}

// Leak is a captured line that carries a credential.
type Leak struct {
	Line, Reason string
}

// Leaks scans every captured line.
func (c *Capture) Leaks() []Leak {
	c.mu.Lock()
	forbidden := append([]string(nil), c.forbidden...)
	c.mu.Unlock()
	var out []Leak
	for _, l := range c.Lines() {
		if r := Scan(l, forbidden...); r != "" {
			out = append(out, Leak{Line: l, Reason: r})
		}
	}
	return out
}

// Check fails t for every leaking line.
func (c *Capture) Check(t testing.TB) {
	t.Helper()
	for _, l := range c.Leaks() {
		t.Errorf("a log line carries %s:\n%s", l.Reason, l.Line)
	}
}

// patterns are the shapes of the platform's credentials.
var patterns = []struct {
	what string
	re   *regexp.Regexp
}{
	{"an API key", regexp.MustCompile(`sk_(?:test|live)_key_[0-9A-Za-z]{26}\.[0-9A-Za-z]{8,}`)},
	{"a password-reset or invitation link", regexp.MustCompile(`reset-password\?token=[^\s"&]`)},
	{"a one-time token", regexp.MustCompile(`token=[0-9A-Za-z]{20,}`)},
	{"a JWT", regexp.MustCompile(`eyJ[0-9A-Za-z_-]{2,}\.eyJ[0-9A-Za-z_-]{2,}`)},
	{"a signing secret (whsec_)", regexp.MustCompile(`whsec_[0-9A-Za-z]{8,}`)},
	{"a provider secret key", regexp.MustCompile(`\b(?:sk|rk)_(?:test|live)_[0-9A-Za-z]{8,}`)},
}

// Scan returns why line carries a credential, or "" when it does not. JSON lines are also
// checked after decoding, so that escaping (\u0026, \/) hides nothing.
func Scan(line string, forbidden ...string) string {
	texts := []string{line}
	var v any
	if json.Unmarshal([]byte(line), &v) == nil {
		texts = append(texts, flatten(v)...)
	}
	for _, s := range texts {
		for _, p := range patterns {
			if p.re.MatchString(s) {
				return p.what
			}
		}
		for _, f := range forbidden {
			if strings.Contains(s, f) {
				return fmt.Sprintf("a registered secret (%s…)", f[:4])
			}
		}
	}
	return ""
}

func flatten(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case map[string]any:
		var out []string
		for k, e := range x {
			out = append(out, k)
			out = append(out, flatten(e)...)
		}
		return out
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return nil
}
