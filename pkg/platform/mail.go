package platform

import (
	"context"
	"log/slog"
)

// Message is an e-mail to a person.
type Message struct {
	To      string
	Subject string
	Body    string
	// Link is the one action the message asks for (a password-reset or invitation link).
	Link string
}

// Mailer sends e-mail. Production deployments plug in an SMTP or API sender; development and
// tests use LogMailer, which prints the message (and its one-time link) to the log.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// LogMailer writes messages to the log instead of sending them.
type LogMailer struct{ Log *slog.Logger }

// Send logs the message.
func (l LogMailer) Send(ctx context.Context, m Message) error {
	if l.Log != nil {
		l.Log.InfoContext(ctx, "mail (not sent: development mailer)", "to", m.To, "subject", m.Subject, "link", m.Link)
	}
	return nil
}
