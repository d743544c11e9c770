package gcapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// WebhookSignatureHeader is the header carrying a delivery's signature.
const WebhookSignatureHeader = "Webhook-Signature"

// Resource types found in Event.ResourceType.
const (
	ResourceTypeBillingRequests = "billing_requests"
	ResourceTypePayments        = "payments"
	ResourceTypeMandates        = "mandates"
	ResourceTypeRefunds         = "refunds"
	ResourceTypePayouts         = "payouts"
	ResourceTypeCreditors       = "creditors"
)

// WebhookBatch is one webhook delivery. Several unrelated events may share a batch, batches may
// arrive out of order and more than once: deduplicate by Event.ID.
type WebhookBatch struct {
	Events []Event     `json:"events"`
	Meta   WebhookMeta `json:"meta"`
}

// WebhookMeta identifies the delivery (a retried delivery keeps its id).
type WebhookMeta struct {
	WebhookID string `json:"webhook_id"`
}

// Event says something happened to a resource. Action values are open: unknown ones should be
// acknowledged and ignored. Events carry ids only; fetch the resource for its current state,
// since a later event may already have superseded this one.
type Event struct {
	ID           string       `json:"id"`
	CreatedAt    time.Time    `json:"created_at"`
	ResourceType string       `json:"resource_type"`
	Action       string       `json:"action"`
	Links        EventLinks   `json:"links"`
	Details      EventDetails `json:"details"`
	// Metadata is what was passed with the API call that caused the event (e.g. a cancel).
	Metadata map[string]string `json:"metadata"`
	// ResourceMetadata is the resource's own metadata at the time of the event.
	ResourceMetadata map[string]string `json:"resource_metadata"`
}

// EventLinks are the ids of the resources an event concerns.
type EventLinks struct {
	BillingRequest        string `json:"billing_request"`
	BillingRequestFlow    string `json:"billing_request_flow"`
	Payment               string `json:"payment"`
	Mandate               string `json:"mandate"`
	Refund                string `json:"refund"`
	Payout                string `json:"payout"`
	Creditor              string `json:"creditor"`
	Customer              string `json:"customer"`
	CustomerBankAccount   string `json:"customer_bank_account"`
	NewMandate            string `json:"new_mandate"`
	Subscription          string `json:"subscription"`
	ParentEvent           string `json:"parent_event"`
	Organisation          string `json:"organisation"`
	PaymentRequestPayment string `json:"payment_request_payment"`
	MandateRequestMandate string `json:"mandate_request_mandate"`
}

// EventDetails explains an event: who caused it (Origin: bank, api, gocardless, customer,
// payer) and why (Cause, ReasonCode from the scheme).
type EventDetails struct {
	Origin           string `json:"origin"`
	Cause            string `json:"cause"`
	Description      string `json:"description"`
	Scheme           string `json:"scheme"`
	ReasonCode       string `json:"reason_code"`
	WillAttemptRetry bool   `json:"will_attempt_retry"`
}

// SignWebhook returns the Webhook-Signature for body: lowercase hex HMAC-SHA256 keyed with the
// endpoint secret.
func SignWebhook(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// ParseWebhook verifies a delivery's signature, then decodes it. Pass the raw request body,
// untouched: re-encoded JSON does not verify.
//
// It returns ErrInvalidSignature (answer 498) when the header is missing, is not hex, or does not
// match, comparing in constant time; an error for an empty secret (a configuration problem on our
// side: answer 5xx so GoCardless retries once it is fixed); and a decoding error for a correctly
// signed body that is not a batch. Unknown fields, resource types and actions are accepted.
func ParseWebhook(body []byte, signatureHeader string, secret string) (*WebhookBatch, error) {
	if secret == "" {
		return nil, errors.New("gocardless: webhook secret is not configured")
	}
	got, err := hex.DecodeString(strings.TrimSpace(signatureHeader))
	if err != nil || len(got) != sha256.Size {
		return nil, ErrInvalidSignature
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return nil, ErrInvalidSignature
	}
	var batch WebhookBatch
	if err := json.Unmarshal(body, &batch); err != nil {
		return nil, fmt.Errorf("gocardless: decoding webhook body: %w", err)
	}
	return &batch, nil
}
