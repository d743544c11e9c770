// Package gcapi is a small typed client for the parts of the GoCardless API the platform
// uses to take hosted one-off payments, plus webhook verification. It follows the wire contract
// in design/GOCARDLESS.md; it is not the official client and covers only:
//
//   - billing requests: create, get, cancel; billing request flows: create (the hosted
//     authorisation page the payer is sent to);
//   - payments, mandates, refunds: get; refunds: create;
//   - creditors: list (the "test the connection" probe);
//   - scenario simulators (sandbox only);
//   - webhooks: ParseWebhook (signature check + lenient decoding) and SignWebhook.
//
// # Configuration
//
// New refuses an empty token, an environment other than "sandbox"/"live", and a token that does
// not belong to the environment (sandbox tokens start with "sandbox_"), so a live site can never
// silently talk to the sandbox or the reverse.
//
// # Idempotency
//
// Every POST carries an Idempotency-Key. Pass one derived from your own ids (e.g. the
// transaction id plus the operation) so that a retry of the whole business operation, after a
// crash or a timeout, reuses it; if you pass none, a random key is generated once per call. Every
// retry of a call sends the same key. When GoCardless answers that the key already created a
// resource (409 invalid_state / idempotent_creation_conflict), the create calls fetch that
// resource and return it as if the create had succeeded, after checking it matches the request
// (otherwise ErrIdempotencyKeyReused). Billing request flows cannot be fetched, so for them the
// conflict is returned as an *APIError.
//
// # Retries
//
// A call is attempted at most Config.MaxAttempts times (default 4). 429, 5xx and network errors
// (including a per-attempt timeout) are retried; other 4xx are not. The wait is exponential
// backoff with jitter (0.5s, 1s, 2s... capped at 8s), except that a 429 waits until its
// RateLimit-Reset time (capped at 60s). Retries stop as soon as ctx is done, and are not
// attempted when the next one would start after ctx's deadline.
//
// # What can go wrong
//
//   - *ValidationError: the client refused the input before sending (amount not positive,
//     currency not three letters, metadata over 3 keys / 50-character keys / 500-character
//     values, missing ids, bad URLs). IsValidation is true.
//   - *APIError: an error answer. Type is validation_failed (422, Errors lists the fields),
//     invalid_api_usage (400/401/403/404), invalid_state (409/422), gocardless (5xx), or
//     upstream_error when the body was not GoCardless's JSON envelope (an HTML page from a
//     proxy). Use IsNotFound, IsValidation, IsRateLimited, or errors.As for the details. After
//     retries are exhausted the last *APIError is still reachable with errors.As.
//   - network and context errors, wrapped with the method and path; errors.Is(err,
//     context.Canceled) / context.DeadlineExceeded work.
//   - ParseWebhook: ErrInvalidSignature (answer 498), or a decoding error for a signed body that
//     is not a batch.
//
// Statuses and event actions are open strings: unknown values decode fine and should be treated
// as "not final yet". Amounts are int64 minor units.
//
// Tests run against gcfake, an in-memory fake of the same wire format.
package gcapi
