package config

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SMTPTLS is how the SMTP connection is secured.
type SMTPTLS string

// SMTP security modes (SMTP_TLS).
const (
	SMTPStartTLS    SMTPTLS = "starttls" // plain connection upgraded with STARTTLS, which is required (port 587)
	SMTPImplicitTLS SMTPTLS = "tls"      // TLS from the first byte (smtps://, port 465)
	SMTPNoTLS       SMTPTLS = "none"     // no encryption: development or a loopback relay only
)

// SMTP is an outgoing mail server.
type SMTP struct {
	Host     string
	Port     int
	Username string
	// Password is a secret: it is never logged (LogValue hides it).
	Password string
	TLS      SMTPTLS
	// CAFile is a PEM file of certificate authorities trusted for the server's certificate, on
	// top of the system's (a private relay's own CA).
	CAFile string
	// Timeout bounds one message's delivery: connect, TLS, AUTH and DATA.
	Timeout time.Duration
}

// Mail configures outgoing e-mail: the admin backend sends invitations and password-reset links.
type Mail struct {
	SMTP SMTP
	// From is the sender (MAIL_FROM), an address or "Name <address>".
	From string
	// Disabled (MAIL_DISABLED=true) runs without e-mail: invitations show their link to the
	// inviting administrator only, and "forgot password" answers that e-mail is turned off.
	Disabled bool
}

// Configured reports whether an SMTP server is set.
func (s SMTP) Configured() bool { return s.Host != "" }

// Addr is host:port.
func (s SMTP) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// LogValue describes the server without its password, so that logging the struct by mistake
// never prints it.
func (s SMTP) LogValue() slog.Value {
	if !s.Configured() {
		return slog.StringValue("none")
	}
	return slog.StringValue(fmt.Sprintf("%s (tls=%s, auth=%t)", s.Addr(), s.TLS, s.Username != ""))
}

// String hides the password as LogValue does (fmt's %v and %+v).
func (s SMTP) String() string { return s.LogValue().String() }

// Mode describes the mail set-up for the start-up log line.
func (m Mail) Mode(env AppEnv) string {
	switch {
	case m.SMTP.Configured():
		return "smtp " + m.SMTP.String()
	case m.Disabled:
		return "disabled (MAIL_DISABLED=true)"
	case env == AppDevelopment:
		return "development log mailer (nothing is sent)"
	}
	return "none"
}

// mailVars are the variables a production admin backend without mail is told about.
const mailVars = "set SMTP_URL (smtp://user:password@host:587 for STARTTLS, smtps://...:465 for TLS) or SMTP_HOST, SMTP_PORT, SMTP_USERNAME, SMTP_PASSWORD (or SMTP_PASSWORD_FILE), SMTP_TLS, together with MAIL_FROM; or MAIL_DISABLED=true to run without e-mail"

// readMail reads MAIL_* and SMTP_*. needMail says whether the service cannot work without
// mail in production (the admin backend's invitations and password resets).
func readMail(e *Env, env AppEnv, needMail bool) Mail {
	m := Mail{Disabled: e.Bool("MAIL_DISABLED", false)}
	s := &m.SMTP
	rawURL := e.Secret("SMTP_URL")
	host := e.String("SMTP_HOST", "")
	password := e.Secret("SMTP_PASSWORD")
	s.Username = e.String("SMTP_USERNAME", "")
	tlsVar := readSMTPTLS(e)
	switch {
	case rawURL != "" && host != "":
		e.Fail("SMTP_URL", "set either SMTP_URL or SMTP_HOST, not both")
		return m
	case rawURL != "":
		var ok bool
		if password, ok = readSMTPURL(e, s, rawURL, tlsVar, password); !ok {
			return m
		}
	case host != "":
		s.Host = host
		s.TLS = tlsVar
		if strings.Contains(host, "/") || (strings.Contains(host, ":") && net.ParseIP(host) == nil) {
			e.Fail("SMTP_HOST", "must be a host name or IP address without scheme or port, got %q", host)
		}
	}
	s.Password = password
	if !s.Configured() {
		checkNoSMTP(e, env, needMail, m.Disabled, password)
		m.From = e.String("MAIL_FROM", "")
		return m
	}
	if m.Disabled {
		e.Fail("MAIL_DISABLED", "is true but an SMTP server is configured: choose one")
	}
	readSMTPServer(e, env, s, password)
	m.From = e.String("MAIL_FROM", "")
	if m.From == "" {
		e.Fail("MAIL_FROM", "is required with SMTP: the sender address, like Paygate <no-reply@example.com>")
	} else if _, err := mail.ParseAddress(m.From); err != nil {
		e.Fail("MAIL_FROM", "must be an e-mail address, like Paygate <no-reply@example.com>, got %q", m.From)
	}
	return m
}

// readSMTPTLS reads SMTP_TLS; "" when it is unset or invalid (the failure is recorded).
func readSMTPTLS(e *Env) SMTPTLS {
	tlsVar := SMTPTLS(strings.ToLower(e.String("SMTP_TLS", "")))
	switch tlsVar {
	case "", SMTPStartTLS, SMTPImplicitTLS, SMTPNoTLS:
	default:
		e.Fail("SMTP_TLS", "must be starttls, tls or none, got %q", tlsVar)
		tlsVar = ""
	}
	return tlsVar
}

// readSMTPURL fills s from SMTP_URL, checking it against SMTP_TLS, SMTP_USERNAME,
// SMTP_PASSWORD and SMTP_PORT. It returns the password (the URL's, else the one given) and
// false when the URL cannot be used at all.
func readSMTPURL(e *Env, s *SMTP, rawURL string, tlsVar SMTPTLS, password string) (string, bool) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" || (u.Scheme != "smtp" && u.Scheme != "smtps") || (u.Path != "" && u.Path != "/") {
		// Never echo the value: it may hold the password.
		e.Fail("SMTP_URL", "must look like smtp://user:password@host:587 or smtps://user:password@host:465")
		return password, false
	}
	s.Host = u.Hostname()
	if u.Scheme == "smtps" {
		if tlsVar != "" && tlsVar != SMTPImplicitTLS {
			e.Fail("SMTP_TLS", "smtps:// is implicit TLS; SMTP_TLS=%s contradicts it", tlsVar)
		}
		s.TLS = SMTPImplicitTLS
	} else {
		if tlsVar == SMTPImplicitTLS {
			e.Fail("SMTP_TLS", "use smtps:// in SMTP_URL for implicit TLS")
		}
		s.TLS = tlsVar
	}
	if u.User != nil {
		if s.Username != "" {
			e.Fail("SMTP_USERNAME", "set the user either in SMTP_URL or in SMTP_USERNAME, not both")
		}
		s.Username = u.User.Username()
		if p, ok := u.User.Password(); ok {
			if password != "" {
				e.Fail("SMTP_PASSWORD", "set the password either in SMTP_URL or in SMTP_PASSWORD, not both")
			}
			password = p
		}
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			e.Fail("SMTP_URL", "has an invalid port")
		}
		s.Port = n
	}
	if e.String("SMTP_PORT", "") != "" {
		e.Fail("SMTP_PORT", "give the port in SMTP_URL")
	}
	return password, true
}

// checkNoSMTP fails the SMTP_* settings given without a server, and a production service that
// needs mail but has none.
func checkNoSMTP(e *Env, env AppEnv, needMail, disabled bool, password string) {
	for _, v := range []string{"SMTP_USERNAME", "SMTP_PORT", "SMTP_TLS", "SMTP_CA_FILE"} {
		if e.String(v, "") != "" {
			e.Fail(v, "is set but no SMTP server is: set SMTP_URL or SMTP_HOST")
		}
	}
	if password != "" {
		e.Fail("SMTP_PASSWORD", "is set but no SMTP server is: set SMTP_URL or SMTP_HOST")
	}
	if needMail && env == AppProduction && !disabled {
		e.Fail("SMTP_URL", "is required in production: the admin backend e-mails invitations and password-reset links; %s", mailVars)
	}
}

// readSMTPServer completes a configured server: the TLS mode and port defaults, the checks
// on TLS and credentials, SMTP_CA_FILE and SMTP_TIMEOUT.
func readSMTPServer(e *Env, env AppEnv, s *SMTP, password string) {
	if s.TLS == "" {
		s.TLS = SMTPStartTLS
	}
	if s.Port == 0 {
		s.Port = e.Int("SMTP_PORT", map[SMTPTLS]int{SMTPStartTLS: 587, SMTPImplicitTLS: 465, SMTPNoTLS: 25}[s.TLS], 1, 65535)
	}
	if s.TLS == SMTPNoTLS && env != AppDevelopment && !isLoopback(s.Host) {
		e.Fail("SMTP_TLS", "none is allowed only for a loopback relay (localhost, 127.0.0.1, ::1) or in development; use starttls or tls")
	}
	if password != "" && s.Username == "" {
		e.Fail("SMTP_USERNAME", "is required with SMTP_PASSWORD")
	}
	if s.CAFile = e.String("SMTP_CA_FILE", ""); s.CAFile != "" {
		if s.TLS == SMTPNoTLS {
			e.Fail("SMTP_CA_FILE", "is only used with SMTP_TLS=starttls or tls")
		}
		b, err := e.readFile(s.CAFile)
		switch {
		case err != nil:
			e.Fail("SMTP_CA_FILE", "cannot read %s: %v", s.CAFile, err)
		case !x509.NewCertPool().AppendCertsFromPEM(b):
			e.Fail("SMTP_CA_FILE", "%s holds no PEM certificate", s.CAFile)
		}
	}
	s.Timeout = e.Duration("SMTP_TIMEOUT", 15*time.Second, time.Second, 5*time.Minute)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
