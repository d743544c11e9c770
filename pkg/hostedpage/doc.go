// Package hostedpage serves the buyer-facing hosted checkout page of the main frontend:
// GET /checkout/{shortCode}, its content-hashed assets and its brand-colour stylesheet.
//
// The page is rendered on the server from the runtime API's checkout
// (runtimeapi.Client.GetCheckout): the payment page by a writer that produces exactly what
// templates/checkout.html would (render.go; a test holds the two together), the other pages
// with html/template. It is then driven by a small vanilla script that calls the main
// backend's runtime API from the browser: the tax preview, creating the transaction, the
// wire-transfer instructions, "I have sent the transfer" and status polling until the payment
// arrives. The service itself has no database access and keeps nothing between requests but
// the layouts it rendered (per language, site branding and mode; render.go).
//
// Card payments (a Stripe provider): creating the transaction answers next "stripe"; the script
// then loads the card flow (static/pay-stripe.js) and Stripe.js from Options.StripeJSURL — only
// then, so pages of buyers who pay otherwise never load them — mounts Stripe's Payment Element
// (Stripe's frames: card data never reaches the page's script nor our servers) and confirms with
// the buyer's billing details and a return URL back to the page (?transaction={id}). A 3-D Secure
// or other redirect comes back there; the page then shows "checking your payment" and asks the
// status API (GET …/status?sync=1, which asks Stripe) until the attempt succeeded or failed.
// Stripe's redirect_status is used only to stop waiting on a failure, never as proof of payment.
// A declined card leaves a failed attempt and starts a new one with a fresh Payment Element.
//
// Bank payments (a GoCardless provider): paying loads static/pay-gocardless.js, which asks the
// runtime API for the attempt's billing request (POST /api/v1/billing-requests/create, with the
// billing details; an open attempt is resumed, so paying again after pressing back returns to
// the same authorisation page) and sends the whole tab to GoCardless's authorisation page — a
// top-level navigation, so the policy below needs nothing of GoCardless's. GoCardless sends the
// buyer back with ?transaction={id}&gocardless=return: the page records that the buyer finished
// (…/mark-pending), says that the bank payment takes 1–3 working days and that the shop will be
// told, and polls …/status?sync=1 until it succeeded (the paid step and the shop's return URL)
// or failed (the reason and the payment methods again). With &gocardless=exit the attempt is
// cancelled (…/cancel) and the methods are shown with a short notice. An id from the address is
// acted on only when this tab started the attempt, when it is the checkout's own latest attempt,
// or when the status API says it belongs to this checkout (sessionPublicId); leaving cancels
// only an attempt not yet authorised.
//
// What the package guarantees:
//
//   - Everything merchant-supplied is escaped as html/template escapes it; logos are shown only from https
//     URLs, return and cancel links only for http(s) URLs.
//   - Every HTML response carries a strict Content-Security-Policy (no inline script or style:
//     the brand colour arrives as /theme/v2/{hex}.css), no-store caching, nosniff, a referrer
//     policy, and HSTS when served over HTTPS. connect-src allows exactly the backend's origin;
//     a page offering Stripe adds the Stripe.js origin to script-src and frame-src, and the API
//     Stripe.js calls: https://js.stripe.com brings https://hooks.stripe.com (3-D Secure frames)
//     and connect-src https://api.stripe.com; any other origin (a test stand-in) only itself.
//   - Colours meet WCAG 2.1 AA: text on the brand colour switches to dark when white is below
//     4.5:1, and links and focus outlines use a darkened brand colour that reaches 4.5:1 on white.
//   - Templates, locales (30: the 24 official EU languages, no, tr, uk, ja, pt-BR, es-419; see
//     Languages) and assets are parsed and hashed once by New; a missing file or a locale lacking
//     a key stops start-up instead of a page render. A browser's tag is matched with CLDR's data
//     (golang.org/x/text/language): es-MX reads es-419, pt-PT pt, nb no.
//   - Money is formatted from integer minor units with the currency's ISO 4217 exponent, per
//     locale, from CLDR tables (locales/formats), the same way the browser's Intl.NumberFormat
//     does for the script's updates.
//   - The language follows ?lang=, then a choice the buyer made on this checkout, then the
//     merchant's language for the checkout, then a choice made elsewhere, Accept-Language, the
//     site's default and English. The picker is a GET form: it works without script.
//
// Status codes: 200 for the page and the already-paid page, 410 for expired and cancelled
// checkouts, 404 for unknown ones (and malformed codes, without asking the backend), 429 with the
// runtime API's Retry-After when the buyer's address went over its rate limit (logged at INFO:
// the page says to try again in that many seconds), 503 with Retry-After when the runtime API
// cannot be reached or answers with another error.
package hostedpage
