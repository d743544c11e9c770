// Package dudaapp is the HTTP side of the Duda payment-gateway app (shared/design/DUDA.md) on
// the main backend: the endpoints Duda's servers and the shopper's browser call. What they do
// is package integration/duda's (the use cases); nothing Duda-specific is in the core.
//
// Endpoints, under /duda/{connectionId} (public: Duda's servers and the shopper's browser call
// them):
//
//   - POST lifecycle/install, lifecycle/uninstall: Duda's signed app lifecycle calls. Install
//     keeps the site's API endpoint (only an allowed Duda origin) and tokens, and registers our
//     payment gateway there (the install is answered 200 either way, since Duda never repeats
//     it). A registration Duda refuses, whatever its answer (a 405 while the store cannot take a
//     gateway yet), is retried by a job with backoff; the site's gateway state (registered,
//     retrying with Duda's last answer and the next attempt, or failed) shows on the panel's Duda
//     page and in the API. A reinstall re-queues the confirmations the site is owed (a payment
//     completed while the app was away). Uninstall deletes the gateway and wipes the tokens. Each
//     signed call is remembered by the digest of its signed text: a replay within the signature's
//     freshness window is answered 200 and changes nothing (an old install would put back
//     tokens Duda has rotated since; an old uninstall would undo a reinstall).
//   - POST payment-methods/{live|test}: the buttons the connected site can offer for the mode,
//     currency and total, one per provider, or [].
//   - GET checkout?session_id&site_name: the shopper arrives; the payment session becomes a
//     checkout (at most one per session) and the shopper goes on to the hosted page. Duda
//     appends its query to checkout_url literally, so …/checkout?provider=…?session_id=… is
//     read as if the second "?" were "&".
//   - GET return/{checkoutId}: the return URL until Duda has answered its own (see the
//     Confirmations of package integration/duda).
//   - GET cancel/{checkoutId}/{token}: the hosted page's cancel link (signed like the refunds
//     link). The checkout is cancelled unless money is taken or on its way, Duda hears FAILED
//     with code shopper_cancelled at once (so its order does not hang), and the shopper goes to
//     the session's cancel_url.
//   - POST refunds/{transactionId}/{token}: Duda's refund notification for a transaction.
//
// The rules behind the endpoints (the confirmations, the amounts, the refunds link, the jobs)
// are the use cases' in package paygate.dev/pkg/integration/duda; these handlers read the wire
// format, call one use case and render its answer.
package dudaapp
