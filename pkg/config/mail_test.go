package config_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/config"
)

func TestMailFromSMTPURL(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		url  string
		want config.SMTP
	}{
		"STARTTLS":               {"smtp://paygate:p%40ss@smtp.example.com:587", config.SMTP{Host: "smtp.example.com", Port: 587, Username: "paygate", Password: "p@ss", TLS: config.SMTPStartTLS, Timeout: 15 * time.Second}},
		"ImplicitTLSDefaultPort": {"smtps://u:pw@mail.example.com", config.SMTP{Host: "mail.example.com", Port: 465, Username: "u", Password: "pw", TLS: config.SMTPImplicitTLS, Timeout: 15 * time.Second}},
		"NoAuth":                 {"smtp://relay.example.com", config.SMTP{Host: "relay.example.com", Port: 587, TLS: config.SMTPStartTLS, Timeout: 15 * time.Second}},
	} {
		t.Run(name, func(t *testing.T) {
			m := production()
			m["SMTP_URL"] = tc.url
			c, err := config.LoadAdminBackend(env(m))
			require.NoError(t, err)
			require.Equal(t, tc.want, c.Mail.SMTP)
			require.Equal(t, "Paygate <no-reply@example.com>", c.Mail.From)
		})
	}
}

func TestMailFromHostVariablesAndPasswordFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "smtp_password")
	require.NoError(t, os.WriteFile(pwFile, []byte("from-a-file\n"), 0o600))
	m := production()
	delete(m, "SMTP_URL")
	m["SMTP_HOST"], m["SMTP_USERNAME"], m["SMTP_PASSWORD_FILE"], m["SMTP_TLS"] = "smtp.example.com", "paygate", pwFile, "tls"
	c, err := config.LoadAdminBackend(env(m))
	require.NoError(t, err)
	require.Equal(t, config.SMTP{Host: "smtp.example.com", Port: 465, Username: "paygate", Password: "from-a-file", TLS: config.SMTPImplicitTLS, Timeout: 15 * time.Second}, c.Mail.SMTP)

	// SMTP_URL_FILE works like every other secret file.
	urlFile := filepath.Join(dir, "smtp_url")
	require.NoError(t, os.WriteFile(urlFile, []byte("smtp://u:url-pw@smtp.example.com:2525\n"), 0o600))
	m = production()
	delete(m, "SMTP_URL")
	m["SMTP_URL_FILE"] = urlFile
	c, err = config.LoadAdminBackend(env(m))
	require.NoError(t, err)
	require.Equal(t, "url-pw", c.Mail.SMTP.Password)
	require.Equal(t, 2525, c.Mail.SMTP.Port)
}

func TestMailProductionRefusesToStartWithoutIt(t *testing.T) {
	t.Parallel()
	m := production()
	delete(m, "SMTP_URL")
	delete(m, "MAIL_FROM")
	_, err := config.LoadAdminBackend(env(m))
	require.ErrorContains(t, err, "SMTP_URL: is required in production")
	for _, v := range []string{"SMTP_HOST", "SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_TLS", "MAIL_FROM", "MAIL_DISABLED=true"} {
		require.Contains(t, err.Error(), v, "the message names %s", v)
	}

	// The explicit opt-out starts without mail.
	m["MAIL_DISABLED"] = "true"
	c, err := config.LoadAdminBackend(env(m))
	require.NoError(t, err)
	require.True(t, c.Mail.Disabled)
	require.False(t, c.Mail.SMTP.Configured())

	// The main backend sends no mail and needs none.
	_, err = config.LoadMainBackend(env(map[string]string{"APP_ENV": "production", "MASTER_KEY": m["MASTER_KEY"],
		"ADMIN_BACKEND_DOMAIN": "api.example.com", "MAIN_BACKEND_DOMAIN": "webhook.example.com", "MAIN_FRONTEND_DOMAIN": "secure.example.com"}))
	require.NoError(t, err)

	// Development without SMTP starts (with the development log mailer).
	c, err = config.LoadAdminBackend(env(map[string]string{"APP_ENV": "development", "DATA_DIR": t.TempDir()}))
	require.NoError(t, err)
	require.False(t, c.Mail.SMTP.Configured())
	require.Contains(t, c.Mail.Mode(c.AppEnv), "development log mailer")
}

func TestMailBadValuesAreNamed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("hello"), 0o600))
	for name, tc := range map[string]struct {
		set      map[string]string
		unset    []string
		want     string
		notInErr string
	}{
		"NoFrom":               {unset: []string{"MAIL_FROM"}, want: "MAIL_FROM: is required"},
		"BadFrom":              {set: map[string]string{"MAIL_FROM": "not an address"}, want: "MAIL_FROM:"},
		"BadScheme":            {set: map[string]string{"SMTP_URL": "http://u:hidden-pw@smtp.example.com"}, want: "SMTP_URL:", notInErr: "hidden-pw"},
		"URLAndHost":           {set: map[string]string{"SMTP_HOST": "smtp.example.com"}, want: "SMTP_URL: set either SMTP_URL or SMTP_HOST"},
		"BadTLS":               {set: map[string]string{"SMTP_TLS": "maybe"}, want: "SMTP_TLS:"},
		"PlainTextToRemote":    {set: map[string]string{"SMTP_TLS": "none"}, want: "SMTP_TLS: none is allowed only"},
		"SMTPSWithSTARTTLS":    {set: map[string]string{"SMTP_URL": "smtps://smtp.example.com", "SMTP_TLS": "starttls"}, want: "SMTP_TLS:"},
		"DisabledAndSMTP":      {set: map[string]string{"MAIL_DISABLED": "true"}, want: "MAIL_DISABLED:"},
		"PasswordTwice":        {set: map[string]string{"SMTP_PASSWORD": "other"}, want: "SMTP_PASSWORD: set the password either"},
		"PasswordWithoutHost":  {unset: []string{"SMTP_URL"}, set: map[string]string{"SMTP_PASSWORD": "pw", "MAIL_DISABLED": "true"}, want: "SMTP_PASSWORD: is set but no SMTP server"},
		"MissingCAFile":        {set: map[string]string{"SMTP_CA_FILE": filepath.Join(dir, "missing.pem")}, want: "SMTP_CA_FILE: cannot read"},
		"CAFileWithoutPEM":     {set: map[string]string{"SMTP_CA_FILE": notPEM}, want: "SMTP_CA_FILE:"},
		"TimeoutOutOfRange":    {set: map[string]string{"SMTP_TIMEOUT": "1ms"}, want: "SMTP_TIMEOUT:"},
		"PortBesidesTheURL":    {set: map[string]string{"SMTP_PORT": "25"}, want: "SMTP_PORT: give the port in SMTP_URL"},
		"HostWithPort":         {unset: []string{"SMTP_URL"}, set: map[string]string{"SMTP_HOST": "smtp.example.com:25"}, want: "SMTP_HOST:"},
		"PasswordWithoutUser":  {unset: []string{"SMTP_URL"}, set: map[string]string{"SMTP_HOST": "smtp.example.com", "SMTP_PASSWORD": "pw"}, want: "SMTP_USERNAME: is required with SMTP_PASSWORD"},
		"ProductionNeedsEmail": {unset: []string{"SMTP_URL", "MAIL_FROM"}, want: "SMTP_URL: is required in production"},
	} {
		t.Run(name, func(t *testing.T) {
			m := production()
			for _, k := range tc.unset {
				delete(m, k)
			}
			for k, v := range tc.set {
				m[k] = v
			}
			_, err := config.LoadAdminBackend(env(m))
			require.ErrorContains(t, err, tc.want)
			if tc.notInErr != "" {
				require.NotContains(t, err.Error(), tc.notInErr, "the message never echoes the password")
			}
		})
	}
}

func TestMailPlainTextOnlyToLoopbackOrInDevelopment(t *testing.T) {
	t.Parallel()
	m := production()
	m["SMTP_URL"], m["SMTP_TLS"] = "smtp://127.0.0.1:2525", "none"
	c, err := config.LoadAdminBackend(env(m))
	require.NoError(t, err, "a loopback relay may be plain text")
	require.Equal(t, config.SMTPNoTLS, c.Mail.SMTP.TLS)

	c, err = config.LoadAdminBackend(env(map[string]string{"APP_ENV": "development", "DATA_DIR": t.TempDir(),
		"SMTP_HOST": "mailpit", "SMTP_PORT": "1025", "SMTP_TLS": "none", "MAIL_FROM": "dev@example.com"}))
	require.NoError(t, err, "development may use a plain-text catcher such as Mailpit")
	require.Equal(t, "mailpit:1025", c.Mail.SMTP.Addr())
}
