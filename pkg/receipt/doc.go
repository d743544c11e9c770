// Package receipt sends buyers an e-mail receipt after a successful payment: in the buyer's
// language (the page they paid on, else the checkout's, else the site's default; 30 catalogs
// in locales/), with the site's branding, the items, the tax per rate, the totals, the
// transaction id, date and payment method, and the merchant's contact. It is sent as HTML and
// plain text.
//
// Nothing is lost or sent twice:
//
//   - the outbox consumer (Hook) runs in the dispatcher's transaction, which reads the event
//     that the payment's success wrote in its own transaction: it records the receipt (at most
//     one automatic receipt per transaction, by a unique key) and queues its job together;
//   - the job (KindSend, on the email queue the admin backend works) claims the receipt with
//     compare-and-set (pending → sending) before handing it to the mail server and records the
//     outcome; a retried job finds it sent and does nothing, and one that finds it still
//     sending (its predecessor died mid-send) marks it uncertain instead of sending again;
//   - a resend from the panel is a new receipt of its own (kind resend), audited.
//
// A site can turn receipts off (Site.ReceiptsDisabled). Test-mode payments get receipts too,
// marked as test in the subject and body, so a merchant trying the checkout sees what buyers
// will get. The package declares its storage (Store) and mail (Mailer) ports; package
// receiptstore adapts pkg/store to them, and pkg/app wires the mailer.
package receipt
