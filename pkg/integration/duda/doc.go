// Package duda owns the use cases of the Duda payment-gateway app (shared/design/DUDA.md; the
// HTTP endpoints are package dudaapp's): a shopper's arrival made into a checkout (at most one
// per payment session), the outcomes confirmed to Duda, the shopper's cancel, Duda's refund
// notifications, the app's install and uninstall, the registration of our payment gateway on a
// Duda site and the jobs that retry it. Duda is reached through package paygate.dev/pkg/duda
// (dudaapi here). The storage it needs is the Store port; what it needs of the Duda connections and
// of the payments, the Connections and Payments ports; it exposes none of them.
//
// # Confirmations
//
// An outbox hook watches the state changes of checkouts from Duda and queues a durable
// confirmation job; the job works out what to confirm when it runs, so a late job never sends
// stale news. PROCESSED once money was taken; PENDING while a wire transfer or direct debit
// waits for it (with the bank details and reference, or a direct-debit note); FAILED once the
// checkout ended, expired or cancelled, with no money taken and none on the way. A failed card
// attempt is not a final failure: the checkout stays open and the shopper can try again. A
// session is never confirmed lower than it was (PENDING → PROCESSED, never back), and its
// confirmations never overlap (the store locks the session: a row lock on PostgreSQL, a lock
// in memory on single-process SQLite). Jobs retry with backoff until Duda accepts; an answer
// that cannot change (a 4xx other than 401, 408 and 429) ends the job, logged.
//
// Duda answers a confirmation with the URL the shopper goes back to; the checkout origin's
// return rule hands the hosted page that URL once known, and until then the trampoline
// return/{checkoutId}, which confirms at once (or waits for the confirmation in flight) and then
// redirects to Duda. The shopper goes back as soon as the payment is pending (a transfer they
// said they sent, an authorised direct debit), not only once paid: Duda has the order and
// confirms it when PROCESSED follows. Every confirm body names its session (session_id).
//
// # Amounts
//
// The shopper pays exactly invoice.total. Lines map by type (PHYSICAL → goods, DIGITAL →
// digital service, TAX, SHIPPING, DISCOUNT as negative lines, and a line's discount_amount as a
// discount line of its own); when they do not add up to the total, or the tax engine cannot take
// them, the checkout has one line for the total. Duda computes the store's taxes, so no VAT is
// added on top: an organisation whose prices exclude tax gets a zero tax line on carts without
// TAX lines, which makes the amounts final.
//
// # Refunds link
//
// Every confirmation carries links.refunds = .../refunds/{transactionId}/{token}, where token is
// HMAC-SHA256(key, connectionId ‖ transactionId) and key = HMAC-SHA256(app secret, a fixed
// label). Duda's refund POST is not signed (its documents publish no scheme), so the link is the
// credential: it names one transaction, cannot be forged without the app secret and is compared
// in constant time. A signature Duda sends anyway is checked. Changing the app secret
// invalidates the links given before. The raw body is kept first; the refund intent it names is
// fetched and must belong to the transaction (original_transaction_id, or the order's
// purchase_id); the amount is exact in the payment's currency; the refund goes through the
// provider and the answer is 200 only once it is recorded. The same notification again gets
// the recorded answer and refunds nothing twice. While the app is uninstalled from the order's
// Duda site a notification is held alike whether it names a refund intent or only an amount
// (409, kept as received, nothing refunded) and is carried out when Duda sends it again after
// a reinstall.
package duda
