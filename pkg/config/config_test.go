package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/config"
	"paygate.dev/pkg/secrets"
)

func env(m map[string]string) *config.Env { return config.NewEnv(config.MapLookup(m)) }

func production() map[string]string {
	return map[string]string{
		"APP_ENV": "production", "MASTER_KEY": secrets.GenerateKey(), "JWT_SIGNING_KEY": strings.Repeat("j", 40),
		"ADMIN_BACKEND_DOMAIN": "api.example.com", "MAIN_BACKEND_DOMAIN": "webhook.example.com", "MAIN_FRONTEND_DOMAIN": "secure.example.com",
		"SMTP_URL": "smtp://paygate:smtp-secret-pw@smtp.example.com:587", "MAIL_FROM": "Paygate <no-reply@example.com>",
	}
}

func TestProductionRequiresEverySecretAndDomain(t *testing.T) {
	t.Parallel()
	_, err := config.LoadAdminBackend(env(map[string]string{}))
	require.Error(t, err)
	for _, v := range []string{"ADMIN_BACKEND_DOMAIN", "MAIN_BACKEND_DOMAIN", "MAIN_FRONTEND_DOMAIN", "MASTER_KEY", "JWT_SIGNING_KEY", "SMTP_URL"} {
		require.Contains(t, err.Error(), v+":", "the message names %s", v)
	}
	c, err := config.LoadAdminBackend(env(production()))
	require.NoError(t, err)
	require.Equal(t, "https://secure.example.com/checkout/abc", c.Hosts.PaymentURL("abc"))
	require.Equal(t, "0.0.0.0:8080", c.ListenAddr)
	require.False(t, c.SeedDemo, "no demo outside development")
}

func TestBadValuesAreNamed(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ key, value, want string }{
		"ShortMasterKey":     {"MASTER_KEY", "c2hvcnQ=", "MASTER_KEY:"},
		"DomainWithScheme":   {"MAIN_FRONTEND_DOMAIN", "https://secure.example.com", "MAIN_FRONTEND_DOMAIN:"},
		"PortOutOfRange":     {"ADMIN_BACKEND_PORT", "70000", "ADMIN_BACKEND_PORT:"},
		"UnknownEnvironment": {"APP_ENV", "staging", "APP_ENV:"},
		"HTTPOutsideDev":     {"PUBLIC_SCHEME", "http", "PUBLIC_SCHEME:"},
		"BadDatabaseURL":     {"DATABASE_URL", "mysql://x", "DATABASE_URL:"},
		"ShortJWTKey":        {"JWT_SIGNING_KEY", "short", "JWT_SIGNING_KEY:"},
		"BadBool":            {"SEED_DEMO", "maybe", "SEED_DEMO:"},
	} {
		t.Run(name, func(t *testing.T) {
			m := production()
			m[tc.key] = tc.value
			_, err := config.LoadAdminBackend(env(m))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestSecretsFromFilesAndNeverBoth(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := secrets.GenerateKey()
	path := filepath.Join(dir, "master_key")
	require.NoError(t, os.WriteFile(path, []byte(key+"\n"), 0o600))
	m := production()
	delete(m, "MASTER_KEY")
	m["MASTER_KEY_FILE"] = path
	c, err := config.LoadAdminBackend(env(m))
	require.NoError(t, err)
	want, _ := secrets.ParseKey(key)
	require.Equal(t, want, c.MasterKey)

	m["MASTER_KEY"] = key
	_, err = config.LoadAdminBackend(env(m))
	require.ErrorContains(t, err, "either MASTER_KEY or MASTER_KEY_FILE")

	delete(m, "MASTER_KEY")
	m["MASTER_KEY_FILE"] = filepath.Join(dir, "missing")
	_, err = config.LoadAdminBackend(env(m))
	require.ErrorContains(t, err, "MASTER_KEY_FILE:")
}

func TestLogAttrsHoldNoSecret(t *testing.T) {
	t.Parallel()
	m := production()
	m["DATABASE_URL"] = "postgres://u:supersecretpw@db:5432/x"
	c, err := config.LoadAdminBackend(env(m))
	require.NoError(t, err)
	out := fmt.Sprint(c.LogAttrs()...)
	require.Contains(t, out, "api.example.com")
	require.NotContains(t, out, "supersecretpw")
	require.NotContains(t, out, m["MASTER_KEY"])
	require.NotContains(t, out, m["JWT_SIGNING_KEY"])
	require.Contains(t, out, "smtp.example.com:587")
	require.NotContains(t, out, "smtp-secret-pw")
	require.NotContains(t, fmt.Sprintf("%v %+v", c, c), "smtp-secret-pw", "printing the whole configuration hides the SMTP password")
}

func TestDevelopmentDefaultsOnlyInDevelopment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c, err := config.LoadAdminBackend(env(map[string]string{"APP_ENV": "development", "DATA_DIR": dir}))
	require.NoError(t, err)
	require.Equal(t, "http://localhost:8082/checkout/x", c.Hosts.PaymentURL("x"))
	require.Equal(t, "127.0.0.1:8080", c.ListenAddr)
	require.True(t, c.SeedDemo)
	require.Len(t, c.MasterKey, 32)
	again, err := config.LoadMainBackend(env(map[string]string{"APP_ENV": "development", "DATA_DIR": dir}))
	require.NoError(t, err)
	require.Equal(t, c.MasterKey, again.MasterKey, "every service reads the same generated development key")
	info, err := os.Stat(filepath.Join(dir, "dev-master.key"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
}

// Both backends read IPN_ALLOW_PRIVATE_TARGETS: the admin backend refuses private ipnUrls at
// checkout creation under the same setting the main backend's notifier obeys. Off by default.
func TestBothBackendsReadIPNAllowPrivateTargets(t *testing.T) {
	t.Parallel()
	a, err := config.LoadAdminBackend(env(production()))
	require.NoError(t, err)
	m, err := config.LoadMainBackend(env(production()))
	require.NoError(t, err)
	require.False(t, a.IPNAllowPrivateTargets)
	require.False(t, m.IPNAllowPrivateTargets)

	on := production()
	on["IPN_ALLOW_PRIVATE_TARGETS"] = "true"
	a, err = config.LoadAdminBackend(env(on))
	require.NoError(t, err)
	m, err = config.LoadMainBackend(env(on))
	require.NoError(t, err)
	require.True(t, a.IPNAllowPrivateTargets)
	require.True(t, m.IPNAllowPrivateTargets)
	require.Contains(t, fmt.Sprintln(a.LogAttrs()...), "ipn_allow_private_targets true")

	on["IPN_ALLOW_PRIVATE_TARGETS"] = "perhaps"
	_, err = config.LoadAdminBackend(env(on))
	require.ErrorContains(t, err, "IPN_ALLOW_PRIVATE_TARGETS:")
}

func TestOpsVariables(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "metrics_token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(strings.Repeat("m", 32)+"\n"), 0o600))
	m := production()
	m["INTERNAL_LISTEN"], m["METRICS_TOKEN_FILE"] = "127.0.0.1:9090", tokenFile
	c, err := config.LoadAdminBackend(env(m))
	require.NoError(t, err)
	require.Equal(t, config.Ops{InternalListen: "127.0.0.1:9090", MetricsToken: strings.Repeat("m", 32)}, c.Ops)
	require.NotContains(t, fmt.Sprint(c.LogAttrs()...), strings.Repeat("m", 32), "the token never reaches the log")

	fm := production()
	fm["RUNTIME_INTERNAL_TOKEN"], fm["INTERNAL_LISTEN"], fm["METRICS_TOKEN"] = strings.Repeat("t", 32), ":9090", strings.Repeat("f", 24)
	f, err := config.LoadMainFrontend(env(fm))
	require.NoError(t, err)
	require.Equal(t, config.Ops{InternalListen: ":9090", MetricsToken: strings.Repeat("f", 24)}, f.Ops)

	m = production()
	m["INTERNAL_LISTEN"], m["METRICS_TOKEN"] = "nine-thousand", "short"
	_, err = config.LoadMainBackend(env(m))
	require.ErrorContains(t, err, "INTERNAL_LISTEN:")
	require.ErrorContains(t, err, "METRICS_TOKEN:")
}

// REDIS_URL (or REDIS_URL_FILE) shares rate limits through Redis or Valkey in both backends;
// the start-up line names the server and never its password, and a malformed URL is refused
// without being quoted.
func TestRedisURL(t *testing.T) {
	t.Parallel()
	a, err := config.LoadAdminBackend(env(production()))
	require.NoError(t, err)
	require.False(t, a.Redis.Configured())
	require.Contains(t, fmt.Sprintln(a.LogAttrs()...), "rate_limits in process")

	m := production()
	m["REDIS_URL"] = "redis://:redis-secret-pw@valkey:6379/2"
	a, err = config.LoadAdminBackend(env(m))
	require.NoError(t, err)
	mb, err := config.LoadMainBackend(env(m))
	require.NoError(t, err)
	require.Equal(t, m["REDIS_URL"], a.Redis.URL)
	require.Equal(t, a.Redis, mb.Redis, "both backends read it")
	for _, out := range []string{fmt.Sprintln(a.LogAttrs()...), fmt.Sprintln(mb.LogAttrs()...), fmt.Sprintf("%v %+v", a, mb)} {
		require.Contains(t, out, "redis://valkey:6379/2")
		require.NotContains(t, out, "redis-secret-pw")
	}

	path := filepath.Join(t.TempDir(), "redis_url")
	require.NoError(t, os.WriteFile(path, []byte("rediss://paygate:redis-secret-pw@cache.internal:6380\n"), 0o600))
	delete(m, "REDIS_URL")
	m["REDIS_URL_FILE"] = path
	a, err = config.LoadAdminBackend(env(m))
	require.NoError(t, err)
	require.Equal(t, "rediss://cache.internal:6380/0", a.Redis.Describe())

	for _, bad := range []string{"http://valkey:6379", "redis://:redis-secret-pw@valkey:6379/notadb", "redis://:redis-secret-pw@va lkey"} {
		m := production()
		m["REDIS_URL"] = bad
		_, err := config.LoadMainBackend(env(m))
		require.ErrorContains(t, err, "REDIS_URL:", bad)
		require.NotContains(t, err.Error(), "redis-secret-pw")
	}
}
