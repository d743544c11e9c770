package logtest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/logging/logtest"
	"paygate.dev/pkg/tenancy"
)

// Every credential the platform makes, made by the platform's own code, is caught in a log
// line, whether it is a value, inside a message, JSON-escaped, or in a request-scoped attribute.
func TestScanFindsEveryKindOfCredential(t *testing.T) {
	t.Parallel()
	jwt, _, err := auth.NewSessions([]byte(strings.Repeat("k", 40)), time.Minute).Issue("usr_1", "org_1", nil)
	require.NoError(t, err)
	resetToken := domain.RandomString(40)
	for name, secret := range map[string]string{
		"APIKeyTest":       auth.FormatToken(domain.ModeTest, domain.NewID(domain.PrefixAPIKey), auth.NewSecret()),
		"APIKeyLive":       auth.FormatToken(domain.ModeLive, domain.NewID(domain.PrefixAPIKey), auth.NewSecret()),
		"ResetLink":        "https://api.example.com/reset-password?token=" + resetToken,
		"BareToken":        "token=" + resetToken,
		"SessionJWT":       jwt,
		"IPNSigningSecret": tenancy.NewWebhookSecret(),
		"StripeSecretKey":  "sk_test_" + domain.RandomString(24),
		"StripeRestricted": "rk_live_" + domain.RandomString(24),
	} {
		t.Run(name, func(t *testing.T) {
			c := logtest.New()
			log := c.Logger("svc")
			log.Info("plain", "value", secret)
			log.Info("inside a message: " + secret)
			log.Info("escaped", "v", "<"+secret+"&>")
			log.InfoContext(logging.With(context.Background(), "attr", secret), "context")
			leaks := c.Leaks()
			require.Len(t, leaks, 4, "every line is caught")
		})
	}
}

func TestScanLetsOrdinaryLinesThroughAndHonoursForbid(t *testing.T) {
	t.Parallel()
	c := logtest.New()
	log := c.Logger("svc")
	keyID := domain.NewID(domain.PrefixAPIKey)
	log.Info("request", "route", "/reset-password", "status", 200, "actor", "key sk_test_"+keyID, "user", domain.NewID(domain.PrefixUser))
	log.Info("e-mail sent", "to", "jane@example.com", "subject", "Reset your password")
	require.Empty(t, c.Leaks(), "routes, ids and key ids are not secrets")

	password := "correct horse " + domain.RandomString(8)
	log.Warn("sign-in failed", "detail", "tried "+password)
	require.Len(t, c.Leaks(), 0, "unknown to the scanner until registered")
	c.Forbid(password, "short")
	leaks := c.Leaks()
	require.Len(t, leaks, 1)
	require.Contains(t, leaks[0].Reason, "registered secret")
	require.NotContains(t, leaks[0].Reason, password, "the reason does not repeat the secret")
}
