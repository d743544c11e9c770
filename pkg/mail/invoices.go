package mail

import (
	"context"

	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/tenancy"
)

// InvoiceMailer sends invoices and credit notes (package invoice) with m: the message's plain
// text and its PDF attached. Errors are m's: tenancy.ErrMailDisabled (a domain error, 503
// MAIL_DISABLED) when e-mail is off, a temporary failure marked tenancy.ErrMailTemporary.
func InvoiceMailer(m tenancy.Mailer) invoice.Mailer { return invoiceMailer{m} }

type invoiceMailer struct{ m tenancy.Mailer }

func (i invoiceMailer) Send(ctx context.Context, msg invoice.Mail) error {
	out := tenancy.Message{To: msg.To, Subject: msg.Subject, Body: msg.Text}
	for _, a := range msg.Attachments {
		out.Attachments = append(out.Attachments, tenancy.Attachment(a))
	}
	return i.m.Send(ctx, out)
}
