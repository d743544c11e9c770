package config_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// blocks returns the bodies of the top-level blocks whose header matches head (brace matched).
func blocks(t *testing.T, text string, head *regexp.Regexp) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, loc := range head.FindAllStringSubmatchIndex(text, -1) {
		name := text[loc[2]:loc[3]]
		depth, start := 0, loc[1]
		for i := start - 1; i < len(text); i++ {
			switch text[i] {
			case '{':
				depth++
			case '}':
				depth--
			}
			if depth == 0 {
				out[name] = text[start:i]
				break
			}
		}
	}
	return out
}

func readConfig(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "configs", name))
	require.NoError(t, err)
	// Comments say nothing to the proxy.
	return regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(string(b), "")
}

// The example reverse-proxy configurations never pass /metrics or /ready to a service: every
// host answers them 404 before proxying.
func TestProxyConfigsBlockOpsEndpoints(t *testing.T) {
	t.Parallel()
	t.Run("Caddyfile", func(t *testing.T) {
		text := readConfig(t, "Caddyfile")
		snippets := blocks(t, text, regexp.MustCompile(`(?m)^\(([a-z_]+)\)\s*\{`))
		closed := ""
		for name, body := range snippets {
			m := regexp.MustCompile(`@(\w+)\s+path\s+([^\n]+)`).FindStringSubmatch(body)
			if m == nil {
				continue
			}
			paths := strings.Fields(m[2])
			if slicesContain(paths, "/metrics", "/metrics/*", "/ready", "/ready/*") &&
				regexp.MustCompile(`handle\s+@`+m[1]+`\s*\{\s*respond\s+404\s*\}`).MatchString(body) {
				closed = name
			}
		}
		require.NotEmpty(t, closed, "a snippet answers /metrics and /ready with 404")
		sites := blocks(t, text, regexp.MustCompile(`(?m)^(\{\$[A-Z_]+\})\s*\{`))
		require.Len(t, sites, 3)
		for name, body := range sites {
			require.Contains(t, body, "import "+closed, "%s imports the 404 for /metrics and /ready", name)
			require.Regexp(t, `handle\s*\{\s*reverse_proxy`, body, "%s proxies only in the handle that excludes them", name)
			require.NotRegexp(t, `(?m)^\s*reverse_proxy`, regexp.MustCompile(`handle\s*\{[^}]*\}`).ReplaceAllString(body, ""),
				"%s has no reverse_proxy outside a handle block", name)
		}
	})
	t.Run("nginx", func(t *testing.T) {
		text := readConfig(t, "nginx.conf.example")
		servers := regexp.MustCompile(`(?m)^server\s*\{`).FindAllStringIndex(text, -1)
		require.Len(t, servers, 3)
		for i, loc := range servers {
			end := len(text)
			if i+1 < len(servers) {
				end = servers[i+1][0]
			}
			body := text[loc[1]:end]
			for _, p := range []string{"/metrics", "/ready"} {
				require.Regexp(t, `location\s+=\s+`+p+`\s*\{\s*return\s+404;\s*\}`, body, "server %d: %s", i, p)
				require.Regexp(t, `location\s+\^~\s+`+p+`/\s*\{\s*return\s+404;\s*\}`, body, "server %d: %s/...", i, p)
			}
		}
	})
}

func slicesContain(have []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}
