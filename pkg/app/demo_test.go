package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/app"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/logging/logtest"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// demoBackend is a development admin backend on an empty, migrated database whose banner goes
// to out and whose DATA_DIR is dataDir.
func demoBackend(t *testing.T, out *bytes.Buffer, dataDir string) (*app.AdminBackend, *logtest.Capture) {
	t.Helper()
	s := storetest.Fresh(t, store.SQLite)
	_, err := s.Migrate(context.Background(), -1)
	require.NoError(t, err)
	cfg := adminConfig(config.AppDevelopment)
	cfg.DataDir = dataDir
	logs := logtest.New()
	t.Cleanup(func() { logs.Check(t) })
	a, err := app.AdminBackendOn(cfg, logs.Logger("admin-backend"), s)
	require.NoError(t, err)
	a.DemoOut = out
	return a, logs
}

var bannerSecret = regexp.MustCompile(`(?m)^  (?:Password|IPN signing secret|API key \(test\)): +(\S+)$`)

// demoLine returns the structured "demo ready" line.
func demoLine(t *testing.T, logs *logtest.Capture) map[string]any {
	t.Helper()
	for _, l := range logs.Lines() {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m))
		if m["msg"] == "demo ready" {
			return m
		}
	}
	t.Fatalf("no demo ready line in %q", logs.Lines())
	return nil
}

// Off a terminal (`make run | tee`, docker logs) the demo is announced by a structured line
// that carries no secret; the secrets go to a file only its owner reads, which the line names.
func TestDemoOffATerminalIsAStructuredLineWithoutSecrets(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	dir := filepath.Join(t.TempDir(), "var")
	a, logs := demoBackend(t, &out, dir)
	require.NoError(t, a.SeedDemo(context.Background()))
	require.Empty(t, out.String(), "no box")

	path := filepath.Join(dir, app.DemoSecretsFile)
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	secrets := bannerSecret.FindAllStringSubmatch(string(raw), -1)
	require.Len(t, secrets, 3, "password, IPN secret and API key: %s", raw)
	for _, s := range secrets {
		logs.Forbid(s[1]) // checked at the end of the test, with every credential pattern
	}
	require.Contains(t, string(raw), "curl")

	line := demoLine(t, logs)
	require.Equal(t, "INFO", line["level"])
	require.Equal(t, "admin-backend", line["service"])
	require.Equal(t, "admin@example.com", line["admin_email"])
	require.Equal(t, a.Config.Hosts.AdminURL()+"/login", line["login_url"])
	require.Equal(t, path, line["secrets_file"])
	for _, k := range []string{"org_id", "site_id", "provider_id"} {
		require.NotEmpty(t, line[k], k)
	}
	require.Empty(t, logs.Leaks())

	// A later start says the demo exists and shows nothing again.
	require.NoError(t, a.SeedDemo(context.Background()))
	require.Empty(t, out.String())
	again, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, raw, again)
}

// On a terminal the demo stays the human-readable box, and no file is written.
func TestDemoOnATerminalIsTheBanner(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	dir := t.TempDir()
	a, logs := demoBackend(t, &out, dir)
	app.PretendTerminal(a)
	require.NoError(t, a.SeedDemo(context.Background()))
	require.Contains(t, out.String(), "Demo created. These secrets are shown ONCE")
	require.Len(t, bannerSecret.FindAllStringSubmatch(out.String(), -1), 3)
	require.NoFileExists(t, filepath.Join(dir, app.DemoSecretsFile))
	for _, l := range logs.Lines() {
		require.NotContains(t, l, "demo ready")
	}
}

// When the file cannot be written, the banner is printed once, as before, so the demo stays
// usable; the structured line still says the demo is ready, without secrets.
func TestDemoSecretsFileUnwritableFallsBackToTheBanner(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	notADir := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(notADir, nil, 0o600))
	a, logs := demoBackend(t, &out, notADir)
	require.NoError(t, a.SeedDemo(context.Background()))
	require.Len(t, bannerSecret.FindAllStringSubmatch(out.String(), -1), 3)
	line := demoLine(t, logs)
	require.NotContains(t, line, "secrets_file")
	for _, s := range bannerSecret.FindAllStringSubmatch(out.String(), -1) {
		logs.Forbid(s[1])
	}
}

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	null, err := os.Open(os.DevNull)
	require.NoError(t, err)
	defer null.Close()
	require.False(t, app.IsTerminal(w), "a pipe (make run | tee)")
	require.False(t, app.IsTerminal(null), "a character device that is not a terminal")
	require.False(t, app.IsTerminal(&bytes.Buffer{}))
}
