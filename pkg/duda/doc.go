// Package duda connects the platform to Duda stores as a third-party payment gateway app.
//
// Duda (a website builder with a native store) lets an app add a payment gateway to a store's checkout. The flow,
// from the platform's side:
//
//  1. Install: Duda calls our lifecycle endpoint with an InstallPayload (verify it with VerifyRequest or
//     VerifySignature; check APIEndpoint with CheckAPIEndpoint) carrying the site's Tokens. We store them
//     (TokenStore) and register our gateway with Client.RegisterPaymentGateway, keeping its id.
//  2. Payment methods: at the payment step Duda POSTs a PaymentMethodsRequest to our payment-methods URL; we answer
//     with a JSON array of PaymentMethod (or []) whose checkout_url is our hosted page.
//  3. Redirect: the shopper arrives with session_id and site_name; Client.GetPaymentSession returns the cart
//     (Invoice, SessionItem lines with Kind and Amounts, addresses, Mode, CancelURL).
//  4. Confirm: once the payment succeeds, is pending, or finally fails, Client.ConfirmPaymentSession reports it and
//     returns the ReturnURL for the shopper. The client does not retry; the platform's durable job retries while
//     IsRetryable(err).
//  5. Refunds: Duda POSTs to the links.refunds URL we gave at confirm. The body is not published:
//     ParseRefundNotification finds what it can, and Client.GetRefundIntent fetches the authoritative RefundIntent.
//  6. Uninstall: an UninstallPayload; delete the gateway with Client.DeletePaymentGateway (a 404 is fine).
//
// Money: Duda writes amounts as JSON strings or numbers. Decimal keeps the literal text and converts it exactly to
// int64 minor units with Minor once the currency is known; a float never appears. Quantity does the same for
// whole-number quantities.
//
// Tokens: every call sends the app's Basic credentials and the site's access token. The Client refreshes a token
// that expires within RefreshMargin before calling, refreshes once on a 401 and retries that call once, and never
// refreshes a site twice at the same time.
//
// Package dudafake is an in-process fake of the Duda API parts used here, for tests.
package duda
