// Package mail sends the platform's e-mail (invitations, password-reset links) over SMTP with
// github.com/wneessen/go-mail, and picks the admin backend's mailer from its configuration:
//
//   - an SMTP server configured: SMTP (STARTTLS, implicit TLS, or plain text to a loopback relay);
//   - MAIL_DISABLED=true: tenancy.DisabledMailer (flows that need mail say it is off);
//   - development without SMTP: a logging mailer that says it sent nothing and prints the link,
//     so that `make run` can follow invitations;
//   - production without any of these: an error (config validation refuses it first).
//
// A message's link is a credential: it goes into the message only, never into a log line.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"os"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/tenancy"
)

// ErrNoMailer is returned when production has neither SMTP nor MAIL_DISABLED.
var ErrNoMailer = errors.New("no SMTP server configured: set SMTP_URL (or SMTP_HOST ...) and MAIL_FROM, or MAIL_DISABLED=true")

// New returns the mailer the configuration asks for.
func New(env config.AppEnv, m config.Mail, log *slog.Logger) (tenancy.Mailer, error) {
	switch {
	case m.SMTP.Configured():
		return NewSMTP(m, log)
	case m.Disabled:
		return tenancy.DisabledMailer{}, nil
	case env == config.AppDevelopment:
		return devMailer{log: log}, nil
	}
	return nil, ErrNoMailer
}

// SMTP sends each message on its own connection to the configured server.
type SMTP struct {
	cfg    config.SMTP
	from   *netmail.Address
	domain string // for Message-IDs: the sender's domain
	tls    *tls.Config
	log    *slog.Logger
}

// NewSMTP checks the settings and loads the CA file, if any.
func NewSMTP(m config.Mail, log *slog.Logger) (*SMTP, error) {
	from, err := netmail.ParseAddress(m.From)
	if err != nil {
		return nil, fmt.Errorf("MAIL_FROM: %w", err)
	}
	s := &SMTP{cfg: m.SMTP, from: from, log: log}
	if s.cfg.Timeout <= 0 {
		s.cfg.Timeout = 15 * time.Second
	}
	s.domain = from.Address[strings.LastIndex(from.Address, "@")+1:]
	s.tls = &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}
	if s.cfg.CAFile != "" {
		pem, err := os.ReadFile(s.cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("SMTP_CA_FILE: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("SMTP_CA_FILE: %s holds no PEM certificate", s.cfg.CAFile)
		}
		s.tls.RootCAs = pool
	}
	return s, nil
}

func (s *SMTP) client() (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(s.cfg.Timeout), gomail.WithTLSConfig(s.tls)}
	switch s.cfg.TLS {
	case config.SMTPImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case config.SMTPNoTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default: // STARTTLS, and the server must offer it
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	return gomail.NewClient(s.cfg.Host, opts...)
}

// message builds the MIME message: From, To, Subject, Date, Message-ID, a plain-text body, an
// optional HTML alternative and the attachments.
func (s *SMTP) message(m tenancy.Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	msg.FromMailAddress(s.from)
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("recipient %q: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	var id [16]byte
	_, _ = rand.Read(id[:])
	msg.SetMessageIDWithValue(hex.EncodeToString(id[:]) + "@" + s.domain)
	msg.SetGenHeader(gomail.HeaderXMailer, "paygate")
	msg.SetBodyString(gomail.TypeTextPlain, m.Body)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	for _, a := range m.Attachments {
		ct := gomail.TypeAppOctetStream
		if a.ContentType != "" {
			ct = gomail.ContentType(a.ContentType)
		}
		if err := msg.AttachReader(a.Name, bytes.NewReader(a.Data), gomail.WithFileContentType(ct)); err != nil {
			return nil, fmt.Errorf("attachment %q: %w", a.Name, err)
		}
	}
	return msg, nil
}

// Send delivers one message within the configured timeout. A failure is returned; the message
// (and its link) is never logged.
func (s *SMTP) Send(ctx context.Context, m tenancy.Message) error {
	msg, err := s.message(m)
	if err != nil {
		return err
	}
	c, err := s.client()
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	start := time.Now()
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && !se.IsTemp() {
			return fmt.Errorf("smtp %s: %w", s.cfg.Addr(), err) // refused for good (a 5xx answer)
		}
		// A 4xx answer, or no answer (the server is down or unreachable): worth retrying.
		return fmt.Errorf("smtp %s: %w (%w)", s.cfg.Addr(), err, tenancy.ErrMailTemporary)
	}
	if s.log != nil {
		s.log.InfoContext(ctx, "e-mail sent", "to", domain.MaskEmail(m.To), "subject", m.Subject, "smtp", s.cfg.Addr(),
			"duration_ms", time.Since(start).Milliseconds())
	}
	return nil
}

// devMailer is `make run`'s mailer: it sends nothing and logs the message, link included, so a
// developer can follow an invitation. New returns it only in development.
type devMailer struct{ log *slog.Logger }

// DevMailerNotice starts every line the development mailer writes.
const DevMailerNotice = "development mailer: e-mail NOT sent (APP_ENV=development and no SMTP_URL); the link is printed here instead"

func (d devMailer) Send(ctx context.Context, m tenancy.Message) error {
	if d.log != nil {
		d.log.WarnContext(ctx, DevMailerNotice, "to", m.To, "subject", m.Subject, "link", m.Link)
	}
	return nil
}
