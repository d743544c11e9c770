package platform

import (
	"context"
	"errors"

	"paygate.dev/pkg/domain"
)

// Message is an e-mail to a person.
type Message struct {
	To      string
	Subject string
	// Body is the plain-text body; HTML, when set, is sent as an alternative.
	Body string
	HTML string
	// Link is the one action the message asks for (a password-reset or invitation link). It is
	// a credential: mailers put it in the message and never in a log.
	Link string
}

// Mailer sends e-mail. The admin backend wires an SMTP sender (pkg/mail); development without
// SMTP wires pkg/mail's logging development mailer; MAIL_DISABLED=true wires DisabledMailer.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// CodeMailDisabled answers flows that need e-mail on an installation that runs without it.
const CodeMailDisabled = "MAIL_DISABLED"

// ErrMailDisabled is what DisabledMailer returns.
var ErrMailDisabled = domain.Unavailable(CodeMailDisabled, nil,
	"e-mail is turned off on this installation (MAIL_DISABLED): ask an administrator of your organisation for help")

// DisabledMailer sends nothing and says so: the service's mailer when none is configured.
type DisabledMailer struct{}

// Send refuses with ErrMailDisabled.
func (DisabledMailer) Send(context.Context, Message) error { return ErrMailDisabled }

// mailDisabled reports whether the service runs without e-mail.
func (s *Service) mailDisabled() bool {
	_, off := s.mailer.(DisabledMailer)
	return off
}

// MailDisabled reports whether the service runs without e-mail (MAIL_DISABLED=true): the panel
// then shows an invitation's link to the administrator who invited.
func (s *Service) MailDisabled() bool { return s.mailDisabled() }

// send hands a message to the mailer. A failure is logged without the message's link or body.
func (s *Service) send(ctx context.Context, kind string, m Message) error {
	err := s.mailer.Send(ctx, m)
	if err != nil && s.log != nil && !errors.Is(err, ErrMailDisabled) {
		s.log.WarnContext(ctx, "e-mail not sent", "kind", kind, "to", m.To, "error", err.Error())
	}
	return err
}

// CodeMailFailed answers a password-reset request whose e-mail the mail server did not take.
const CodeMailFailed = "MAIL_NOT_SENT"

func invitationMail(inv *Invitation) Message {
	return Message{To: inv.User.Email, Subject: "You are invited to the payment dashboard", Link: inv.Link,
		Body: "You have been invited to an organisation's payment dashboard as " + string(inv.Role) + ".\n\n" +
			"Choose a password to join (the link works once, for 7 days):\n\n" + inv.Link + "\n\n" +
			"If you did not expect this invitation, ignore this e-mail.\n"}
}

func resetMail(to, link string) Message {
	return Message{To: to, Subject: "Reset your password", Link: link,
		Body: "Someone asked to reset the password of your payment dashboard account.\n\n" +
			"Choose a new password (the link works once, for one hour):\n\n" + link + "\n\n" +
			"If it was not you, ignore this e-mail: your password stays as it is.\n"}
}
