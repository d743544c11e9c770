package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/queue"
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
	// Attachments are sent as files beside the body (an invoice's PDF).
	Attachments []Attachment
}

// Attachment is a file sent with a message.
type Attachment struct {
	Name        string // the file name the recipient sees
	ContentType string // e.g. application/pdf
	Data        []byte
}

// Mailer sends e-mail. The admin backend wires an SMTP sender (pkg/mail); development without
// SMTP wires pkg/mail's logging development mailer; MAIL_DISABLED=true wires DisabledMailer.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// CodeMailDisabled answers flows that need e-mail on an installation that runs without it.
const CodeMailDisabled = "MAIL_DISABLED"

// ErrMailTemporary marks a mailer's error as temporary (the mail server is unreachable, or
// answered 4xx): the message's job sends it again later.
var ErrMailTemporary = errors.New("temporary failure, retried later")

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

// KindMail is the job kind that sends an e-mail the admin backend could not send at once.
const KindMail = "mail.send"

// MailFallbackDelay is how long an e-mail's job waits before it sends the message itself: the
// process that queued it sends it at once and deletes the job; the job only ever runs when
// that did not happen (the process died, or the mail server refused).
const MailFallbackDelay = time.Minute

// MailArgs is a KindMail job. The message is sealed under a data key of its own, wrapped with
// the master key: a message's link is a credential, and the job stays in the database (a day
// after it ran).
type MailArgs struct {
	MailKind string `json:"kind"` // invitation, password_reset
	To       string `json:"to"`
	Key      string `json:"key"`
	Sealed   string `json:"sealed"`
}

// Kind implements river.JobArgs.
func (MailArgs) Kind() string { return KindMail }

// InsertOpts: the email queue (worked by the admin backend), 12 attempts with the default
// backoff (about four hours in all).
func (MailArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queue.Email, MaxAttempts: 12}
}

const mailPurpose = "mail-job"

// queueMail queues m's job on tx, to run MailFallbackDelay from now.
func (s *Service) queueMail(ctx context.Context, tx Store, kind string, m Message) (int64, error) {
	wrapped, err := s.keys.NewDataKey(mailPurpose)
	if err != nil {
		return 0, err
	}
	dk, err := s.keys.UnwrapDataKey(wrapped, mailPurpose)
	if err != nil {
		return 0, err
	}
	plain, err := json.Marshal(m)
	if err != nil {
		return 0, err
	}
	sealed, err := dk.Seal(plain, mailPurpose)
	if err != nil {
		return 0, err
	}
	res, err := queue.Insert(ctx, tx, MailArgs{MailKind: kind, To: m.To, Key: wrapped, Sealed: sealed},
		&river.InsertOpts{ScheduledAt: time.Now().Add(MailFallbackDelay)})
	if err != nil {
		return 0, err
	}
	return res.Job.ID, nil
}

// send hands a message queued as job to the mailer at once. Once it is sent, or refused for
// good (the server answered 5xx: the caller says so, and the person can ask again), the job
// goes; after a temporary failure (ErrMailTemporary) it stays and sends the message later, and
// send reports success: the message is on its way. Failures are logged without the message's
// link or body.
func (s *Service) send(ctx context.Context, kind string, m Message, job int64) error {
	err := s.mailer.Send(ctx, m)
	if err != nil && errors.Is(err, ErrMailTemporary) {
		if s.log != nil {
			s.log.WarnContext(ctx, "e-mail not sent yet, its job retries it", "kind", kind, "to", domain.MaskEmail(m.To), "error", err.Error())
		}
		return nil
	}
	if err != nil && s.log != nil && !errors.Is(err, ErrMailDisabled) {
		s.log.WarnContext(ctx, "e-mail not sent", "kind", kind, "to", domain.MaskEmail(m.To), "error", err.Error())
	}
	if _, derr := s.store.DeleteScheduledRiverJob(context.WithoutCancel(ctx), job); derr != nil && s.log != nil {
		s.log.WarnContext(ctx, "e-mail handled, but its job stays (it will send the message again)", "kind", kind, "error", derr.Error())
	}
	return err
}

type mailWorker struct {
	river.WorkerDefaults[MailArgs]
	s *Service
}

func (w *mailWorker) NextRetry(job *river.Job[MailArgs]) time.Time {
	return queue.Retry(nil, job.Attempt)
}

func (w *mailWorker) Work(ctx context.Context, job *river.Job[MailArgs]) error {
	if w.s.mailDisabled() {
		return river.JobCancel(ErrMailDisabled)
	}
	dk, err := w.s.keys.UnwrapDataKey(job.Args.Key, mailPurpose)
	if err != nil {
		return river.JobCancel(err)
	}
	plain, err := dk.Open(job.Args.Sealed, mailPurpose)
	if err != nil {
		return river.JobCancel(err)
	}
	var m Message
	if err := json.Unmarshal(plain, &m); err != nil {
		return river.JobCancel(err)
	}
	if err := w.s.mailer.Send(ctx, m); err != nil {
		return fmt.Errorf("send %s e-mail: %w", job.Args.MailKind, err)
	}
	return nil
}

// RegisterMailWorker adds the e-mail job kind to ws: the admin backend works it (it has the
// mail server), the main backend registers it too, as River's leader must know every kind.
func (s *Service) RegisterMailWorker(ws *river.Workers) {
	river.AddWorker[MailArgs](ws, &mailWorker{s: s})
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
