package app

import (
	"log/slog"

	"github.com/riverqueue/river"

	"paygate.dev/pkg/config"
	"paygate.dev/pkg/mail"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/receipt"
	"paygate.dev/pkg/receipt/receiptstore"
	"paygate.dev/pkg/store"
)

// registerReceipts wires buyers' receipts into the main backend: the outbox consumer that
// records a successful payment's receipt and queues its job, and the job kind (River's leader
// must know it; the admin backend, which has the mail server, works the email queue).
func registerReceipts(b *MainBackend) error {
	svc, err := receipt.New(receipt.Options{Store: receiptstore.New(b.Store), Log: b.Log})
	if err != nil {
		return err
	}
	b.eventHooks["receipt"] = receiptstore.Hook(svc)
	b.registrations = append(b.registrations, func(ws *river.Workers, _ *queue.Periodic) { svc.RegisterWorkers(ws) })
	return nil
}

// adminReceipts builds the admin backend's receipt service, which sends them (its email
// queue) and resends them from the panel. Its mailer is the configured one built without a
// logger: the SMTP sender logs recipients, and buyers' addresses stay out of the logs.
func adminReceipts(env config.AppEnv, m config.Mail, log *slog.Logger, s *store.Store) (*receipt.Service, error) {
	mailer, err := mail.New(env, m, nil)
	if err != nil {
		return nil, err
	}
	return receipt.New(receipt.Options{Store: receiptstore.New(s), Mailer: mail.ReceiptMailer(mailer), Log: log})
}
