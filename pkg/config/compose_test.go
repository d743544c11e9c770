package config_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/app"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/secrets"
)

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	root := repoRoot(t)
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithName("paygate"), cli.WithEnv([]string{}))
	require.NoError(t, err)
	p, err := opts.LoadProject(context.Background())
	require.NoError(t, err, "docker-compose.yml must validate against the Compose specification")
	return p
}

func TestComposeFileIsValid(t *testing.T) {
	t.Parallel()
	p := loadCompose(t)
	for _, name := range []string{"postgres", "valkey", "migrate", "admin-backend", "main-backend", "main-frontend", "proxy"} {
		_, err := p.GetService(name)
		require.NoError(t, err, "service %s", name)
	}
	proxy, _ := p.GetService("proxy")
	require.Len(t, proxy.Ports, 2, "the proxy publishes 80 and 443")
	mainFrontend, _ := p.GetService("main-frontend")
	for k := range mainFrontend.Environment {
		require.NotContains(t, k, "DATABASE", "the main frontend has no database credentials")
		require.NotContains(t, k, "MASTER_KEY")
	}
}

// Each service's environment in the Compose file must start that service: load it through the
// service's own configuration loader, with the secret files replaced by sample values.
func TestComposeEnvironmentsSatisfyTheServices(t *testing.T) {
	t.Parallel()
	p := loadCompose(t)
	sample := map[string]string{
		"MASTER_KEY":             secrets.GenerateKey(),
		"JWT_SIGNING_KEY":        strings.Repeat("k", 48),
		"DATABASE_URL":           "postgres://paygate:pw@postgres:5432/paygate?sslmode=disable",
		"RUNTIME_INTERNAL_TOKEN": strings.Repeat("t", 64),
		"SMTP_PASSWORD":          "smtp-password",
		"REDIS_URL":              "redis://:valkey-password@valkey:6379/0",
	}
	envOf := func(name string) map[string]string {
		svc, err := p.GetService(name)
		require.NoError(t, err)
		env := map[string]string{}
		for k, v := range svc.Environment {
			if v == nil {
				continue
			}
			if base, ok := strings.CutSuffix(k, "_FILE"); ok {
				require.Contains(t, sample, base, "%s: unexpected secret file %s", name, k)
				require.True(t, strings.HasPrefix(*v, "/run/secrets/"), "%s: %s must point at a Compose secret", name, k)
				env[base] = sample[base]
				continue
			}
			env[k] = *v
		}
		return env
	}
	ab, err := config.LoadAdminBackend(config.NewEnv(config.MapLookup(envOf("admin-backend"))))
	require.NoError(t, err)
	require.False(t, ab.IPNAllowPrivateTargets, "production never accepts private ipnUrls")
	require.True(t, ab.Mail.SMTP.Configured(), "the admin backend sends e-mail over SMTP")
	require.Equal(t, "smtp-password", ab.Mail.SMTP.Password, "from the smtp_password secret")
	_, err = config.LoadAdminBackend(config.NewEnv(config.MapLookup(envOf("migrate"))))
	require.NoError(t, err)
	mb, err := config.LoadMainBackend(config.NewEnv(config.MapLookup(envOf("main-backend"))))
	require.NoError(t, err)
	require.False(t, mb.IPNAllowPrivateTargets, "production never sends IPNs to private addresses")
	mf, err := config.LoadMainFrontend(config.NewEnv(config.MapLookup(envOf("main-frontend"))))
	require.NoError(t, err)
	require.Equal(t, config.DefaultDBPool(false), ab.DB, "the pool variables, passed empty, leave the defaults")
	require.Equal(t, config.DefaultDBPool(false), mb.DB)
	require.Equal(t, "http://main-backend:8081", mf.MainBackendInternalURL)
	require.NotEmpty(t, mf.InternalToken)
	require.Equal(t, mf.InternalToken, mb.InternalToken, "frontend and backend share the internal token")
	for name, r := range map[string]config.Redis{"admin-backend": ab.Redis, "main-backend": mb.Redis} {
		require.True(t, r.Configured(), "%s shares its rate limits through Valkey", name)
	}
	for name, o := range map[string]config.Ops{"admin-backend": ab.Ops, "main-backend": mb.Ops, "main-frontend": mf.Ops} {
		require.NotEmpty(t, o.InternalListen, "%s serves /metrics on its internal listener", name)
		svc, _ := p.GetService(name)
		require.Empty(t, svc.Ports, "%s publishes no port: only the proxy does", name)
	}
}

// Valkey holds the rate-limit counts every backend replica shares: reachable only on the
// Compose network, with a password, nothing written to disk, healthy before the backends
// start.
func TestComposeValkey(t *testing.T) {
	t.Parallel()
	p := loadCompose(t)
	v, err := p.GetService("valkey")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(v.Image, "valkey/valkey:8"), v.Image)
	require.Empty(t, v.Ports, "not published")
	require.Empty(t, v.Volumes, "no persistence: limits need none")
	cmd := strings.Join(v.Command, " ")
	for _, want := range []string{"--save ''", "--appendonly no", "--requirepass", "/run/secrets/valkey_password"} {
		require.Contains(t, cmd, want)
	}
	require.NotNil(t, v.HealthCheck)
	require.Contains(t, strings.Join(v.HealthCheck.Test, " "), "valkey-cli ping")
	for _, name := range []string{"admin-backend", "main-backend"} {
		svc, _ := p.GetService(name)
		dep, ok := svc.DependsOn["valkey"]
		require.True(t, ok, "%s starts after Valkey", name)
		require.Equal(t, types.ServiceConditionHealthy, dep.Condition)
		require.Equal(t, "/run/secrets/redis_url", *svc.Environment["REDIS_URL_FILE"])
	}
	mf, _ := p.GetService("main-frontend")
	require.NotContains(t, mf.Environment, "REDIS_URL_FILE", "the frontend has no limits of its own to share")
}

// Each service checks itself with its own binary's `healthcheck` command (the distroless images
// have no shell or curl), at the path the Dockerfile installs it; dependants wait for it to be
// healthy; and Docker waits SHUTDOWN_TIMEOUT + 5s after SIGTERM before it kills a service.
func TestComposeHealthchecksAndShutdown(t *testing.T) {
	t.Parallel()
	p := loadCompose(t)
	dockerfile, err := os.ReadFile(filepath.Join(repoRoot(t), "services", "Dockerfile"))
	require.NoError(t, err)
	entry := regexp.MustCompile(`(?m)^ENTRYPOINT \["([^"]+)"\]`).FindSubmatch(dockerfile)
	require.NotNil(t, entry, "the Dockerfile has an exec-form ENTRYPOINT")
	binary := string(entry[1])

	for _, name := range []string{"admin-backend", "main-backend", "main-frontend"} {
		svc, err := p.GetService(name)
		require.NoError(t, err)
		hc := svc.HealthCheck
		require.NotNil(t, hc, "%s has a healthcheck", name)
		require.Equal(t, types.HealthCheckTest{"CMD", binary, "healthcheck"}, hc.Test, "%s: exec form, no shell in the image", name)
		require.NotNil(t, hc.Timeout)
		require.Greater(t, time.Duration(*hc.Timeout), app.HealthcheckTimeout, "%s: Compose's timeout outlasts the command's own", name)

		require.NotNil(t, svc.Environment["SHUTDOWN_TIMEOUT"], "%s sets SHUTDOWN_TIMEOUT", name)
		shutdown, err := time.ParseDuration(*svc.Environment["SHUTDOWN_TIMEOUT"])
		require.NoError(t, err)
		require.NotNil(t, svc.StopGracePeriod, "%s sets stop_grace_period", name)
		require.Equal(t, shutdown+5*time.Second, time.Duration(*svc.StopGracePeriod), "%s: stop_grace_period = SHUTDOWN_TIMEOUT + 5s", name)
	}
	healthy := func(service, dependency string) {
		svc, _ := p.GetService(service)
		require.Contains(t, svc.DependsOn, dependency, service)
		require.Equal(t, types.ServiceConditionHealthy, svc.DependsOn[dependency].Condition, "%s waits for %s to be healthy", service, dependency)
	}
	healthy("main-frontend", "main-backend")
	for _, s := range []string{"admin-backend", "main-backend", "main-frontend"} {
		healthy("proxy", s)
	}
	for _, s := range []string{"admin-backend", "main-backend"} {
		healthy(s, "postgres")
		svc, _ := p.GetService(s)
		require.Equal(t, types.ServiceConditionCompletedSuccessfully, svc.DependsOn["migrate"].Condition)
	}
}
