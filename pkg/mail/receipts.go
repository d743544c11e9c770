package mail

import (
	"context"
	"errors"
	"fmt"

	"paygate.dev/pkg/receipt"
	"paygate.dev/pkg/tenancy"
)

// ReceiptMailer sends buyers' receipts (package receipt) with m: the receipt's plain text with
// its HTML alternative. A temporary failure (tenancy.ErrMailTemporary) is marked
// receipt.ErrTemporary, so the receipt's job tries again; anything else (a 5xx answer, e-mail
// turned off) is final. Build m without a logger (New with a nil one): the SMTP sender logs
// recipients, and a buyer's address stays out of the logs (the receipt job logs its receipt id).
func ReceiptMailer(m tenancy.Mailer) receipt.Mailer { return receiptMailer{m} }

type receiptMailer struct{ m tenancy.Mailer }

func (r receiptMailer) Send(ctx context.Context, msg receipt.Message) error {
	err := r.m.Send(ctx, tenancy.Message{To: msg.To, Subject: msg.Subject, Body: msg.Text, HTML: msg.HTML})
	if err != nil && errors.Is(err, tenancy.ErrMailTemporary) {
		return fmt.Errorf("%w: %w", receipt.ErrTemporary, err)
	}
	return err
}
