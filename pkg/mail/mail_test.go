package mail_test

import (
	"context"
	"errors"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/config"
	"paygate.dev/pkg/logging/logtest"
	pgmail "paygate.dev/pkg/mail"
	"paygate.dev/pkg/mail/mailtest"
	"paygate.dev/pkg/tenancy"
)

const from = "Paygate <no-reply@pay.example.com>"

var ctx = context.Background()

// resetLink is shaped like the platform's links, with = and & that quoted-printable must carry.
const resetLink = "https://api.example.com/reset-password?token=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd&x=1"

func send(t *testing.T, srv *mailtest.Server, cfg config.Mail, m tenancy.Message) (*logtest.Capture, error) {
	t.Helper()
	logs := logtest.New()
	mailer, err := pgmail.New(config.AppProduction, cfg, logs.Logger("admin-backend"))
	require.NoError(t, err)
	require.IsType(t, &pgmail.SMTP{}, mailer)
	return logs, mailer.Send(ctx, m)
}

func TestSMTPDeliversOverSTARTTLSWithAuth(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{TLS: config.SMTPStartTLS, Username: "paygate", Password: "smtp-pw-123"})
	cfg := srv.Config(from)
	require.NotEmpty(t, cfg.SMTP.CAFile, "the client trusts the test server through SMTP_CA_FILE")
	logs, err := send(t, srv, cfg, tenancy.Message{To: "jane@shop.example", Subject: "Reset your password", Link: resetLink,
		Body: "Choose a new password:\n\n" + resetLink + "\n", HTML: `<p><a href="` + resetLink + `">Choose a new password</a></p>`})
	require.NoError(t, err)

	m := srv.Next(t)
	require.Equal(t, "no-reply@pay.example.com", m.From, "envelope sender")
	require.Equal(t, []string{"jane@shop.example"}, m.To, "envelope recipient")
	require.True(t, m.TLS, "the message went over STARTTLS")
	require.Equal(t, "paygate", m.AuthUser, "AUTH was used")

	fromHdr, err := mail.ParseAddress(m.Header.Get("From"))
	require.NoError(t, err)
	require.Equal(t, "no-reply@pay.example.com", fromHdr.Address)
	require.Equal(t, "Paygate", fromHdr.Name)
	require.Equal(t, "<jane@shop.example>", m.Header.Get("To"))
	require.Equal(t, "Reset your password", m.Header.Get("Subject"))
	date, err := m.Header.Date()
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), date, time.Minute)
	require.Regexp(t, `^<[0-9a-f]{32}@pay\.example\.com>$`, m.Header.Get("Message-ID"))
	require.Contains(t, m.Text, resetLink, "the plain-text body carries the link intact")
	require.Equal(t, resetLink, m.Link())
	require.Contains(t, m.HTML, `href="`+resetLink+`"`, "the HTML alternative")

	lines := logs.Lines()
	require.Len(t, lines, 1)
	require.Contains(t, lines[0], `"msg":"e-mail sent"`)
	require.Contains(t, lines[0], `"to":"j•••@shop.example"`, "the recipient is logged masked")
	require.NotContains(t, lines[0], "jane@", "a recipient's address stays out of the logs")
	require.Empty(t, logs.Leaks(), "the link is never logged")
	for _, l := range lines {
		require.NotContains(t, l, "smtp-pw-123")
	}
}

func TestSMTPDeliversOverImplicitTLS(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{TLS: config.SMTPImplicitTLS, Username: "u", Password: "p-implicit"})
	_, err := send(t, srv, srv.Config(from), tenancy.Message{To: "a@shop.example", Subject: "Hi", Body: "Hello " + resetLink})
	require.NoError(t, err)
	m := srv.Next(t)
	require.True(t, m.TLS)
	require.Equal(t, "u", m.AuthUser)
	require.Contains(t, m.Text, resetLink)
	require.Empty(t, m.HTML, "no HTML part unless asked")
}

func TestSMTPPlainToALoopbackRelay(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{})
	_, err := send(t, srv, srv.Config(from), tenancy.Message{To: "a@shop.example", Subject: "Hi", Body: "Hello"})
	require.NoError(t, err)
	m := srv.Next(t)
	require.False(t, m.TLS)
	require.Empty(t, m.AuthUser)
}

func TestSMTPRefusesAnUntrustedCertificate(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{TLS: config.SMTPStartTLS})
	cfg := srv.Config(from)
	cfg.SMTP.CAFile = "" // only the system's CAs, which never signed the test certificate
	_, err := send(t, srv, cfg, tenancy.Message{To: "a@shop.example", Subject: "Hi", Body: "Hello"})
	require.ErrorContains(t, err, "certificate")
	require.Empty(t, srv.Pending(), "nothing was delivered")
}

func TestSMTPRequiresSTARTTLSWhenConfiguredSo(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{}) // offers no STARTTLS
	cfg := srv.Config(from)
	cfg.SMTP.TLS = config.SMTPStartTLS
	_, err := send(t, srv, cfg, tenancy.Message{To: "a@shop.example", Subject: "Hi", Body: "Hello"})
	require.Error(t, err, "never falls back to plain text")
	require.Empty(t, srv.Pending())
}

func TestSMTPErrorsAreReturnedAndNeverLogTheLink(t *testing.T) {
	t.Parallel()
	t.Run("RecipientRefused", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.Options{TLS: config.SMTPStartTLS, Username: "u", Password: "pw-refused",
			RejectRcpt: func(a string) bool { return a == "gone@shop.example" }})
		logs, err := send(t, srv, srv.Config(from), tenancy.Message{To: "gone@shop.example", Subject: "Reset", Link: resetLink, Body: resetLink})
		require.Error(t, err)
		require.Contains(t, err.Error(), "550")
		require.NotContains(t, err.Error(), "token=", "the error does not carry the link")
		require.Empty(t, srv.Pending())
		require.Empty(t, logs.Lines(), "the mailer logs no failure itself: the caller logs it, without the link")
	})
	t.Run("WrongPassword", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.Options{TLS: config.SMTPStartTLS, Username: "u", Password: "right"})
		cfg := srv.Config(from)
		cfg.SMTP.Password = "wrong-password-x"
		_, err := send(t, srv, cfg, tenancy.Message{To: "a@shop.example", Subject: "Hi", Body: "Hello"})
		require.Error(t, err)
		require.NotContains(t, err.Error(), "wrong-password-x")
		require.Empty(t, srv.Pending())
	})
	t.Run("ServerNeverAnswers", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { ln.Close() })
		accepted := make(chan net.Conn, 1)
		go func() {
			if c, err := ln.Accept(); err == nil {
				accepted <- c // hold the connection open, say nothing
			}
		}()
		t.Cleanup(func() {
			select {
			case c := <-accepted:
				c.Close()
			default:
			}
		})
		cfg := config.Mail{From: from, SMTP: config.SMTP{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, TLS: config.SMTPNoTLS, Timeout: time.Second}}
		logs := logtest.New()
		mailer, err := pgmail.New(config.AppProduction, cfg, logs.Logger("admin-backend"))
		require.NoError(t, err)
		start := time.Now()
		err = mailer.Send(ctx, tenancy.Message{To: "a@shop.example", Subject: "Hi", Body: "Hello"})
		require.Error(t, err)
		require.Less(t, time.Since(start), 10*time.Second, "SMTP_TIMEOUT bounds the attempt")
	})
}

func TestNewPicksTheMailerTheConfigurationAsksFor(t *testing.T) {
	t.Parallel()
	_, err := pgmail.New(config.AppProduction, config.Mail{}, nil)
	require.ErrorIs(t, err, pgmail.ErrNoMailer, "production never falls back to a logging mailer")

	m, err := pgmail.New(config.AppProduction, config.Mail{Disabled: true}, nil)
	require.NoError(t, err)
	err = m.Send(ctx, tenancy.Message{To: "a@shop.example", Link: resetLink})
	require.True(t, errors.Is(err, tenancy.ErrMailDisabled))

	logs := logtest.New()
	m, err = pgmail.New(config.AppDevelopment, config.Mail{}, logs.Logger("admin-backend"))
	require.NoError(t, err)
	require.NoError(t, m.Send(ctx, tenancy.Message{To: "a@shop.example", Subject: "Reset", Link: resetLink}))
	lines := logs.Lines()
	require.Len(t, lines, 1)
	require.Contains(t, lines[0], pgmail.DevMailerNotice, "it says plainly that nothing was sent")
	require.True(t, strings.Contains(lines[0], "token="), "in development only, the link is printed for `make run`")
	require.NotEmpty(t, logs.Leaks(), "which the log check would catch anywhere else")
}
