// Package domain holds the platform's entities, their validation rules, the checkout and
// transaction state machines, and the one error type every layer speaks.
//
// Nothing here knows about HTTP, SQL or a payment provider's wire format: stores translate
// database rows and errors into these types, handlers translate them into responses.
package domain
