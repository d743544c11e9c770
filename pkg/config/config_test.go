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
