// Package gcfake is an in-memory fake of the GoCardless API for tests: an httptest server that
// speaks the same wire format as the real sandbox for the calls the platform uses, with knobs to
// walk every path a payment can take.
//
//	gc := gcfake.New(t, gcfake.WithWebhook(hookURL, "secret"))
//	client, _ := gocardless.New(gocardless.Config{AccessToken: gc.AccessToken(),
//		Environment: "sandbox", BaseURL: gc.URL()})
//
// What it serves: POST /billing_requests, GET /billing_requests/{id},
// POST /billing_requests/{id}/actions/cancel, POST /billing_request_flows, GET /payments/{id},
// GET /mandates/{id}, POST /refunds, GET /refunds/{id}, GET /creditors and
// POST /scenario_simulators/{id}/actions/run, with the real API's checks: bearer token (401),
// GoCardless-Version header, request wrappers (400 invalid_api_usage), field validation
// (422 validation_failed with field, message and request_pointer), supported currencies per
// scheme, metadata limits, refund amounts and total_amount_confirmation, and idempotency keys
// (409 idempotent_creation_conflict with links.conflicting_resource_id).
//
// The payer's side: a flow's authorisation_url is {URL}/flow/{BRF id}, a plain HTML page with a
// "Pay" button (#gc-pay, a form POST that fulfils the billing request and redirects to
// redirect_uri) and a "Cancel / go back" link (#gc-exit, redirects to exit_uri). Server.Pay does
// the same from Go.
//
// Driving state: Simulate (or the HTTP simulator endpoint) runs the scenarios listed by
// Scenarios. Every state change records an Event; DeliverEvents sends pending events as one
// signed batch to the webhook endpoint (WithAutoDeliver does it automatically), WebhookBatch
// builds signed batches by hand for replays. FailNext injects 429s, 5xx, HTML 502s, dropped
// connections and lost responses; Requests shows what the fake received.
//
// Simplifications: one creditor; no pagination; no customers/payments list endpoints; a billing
// request goes straight from pending to fulfilled; ids are sequential within a fake and carry a
// random tag so fakes sharing a database do not collide.
package gcfake
