package ipn

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/tax"
)

// bodyV1 is an IPN version 1 body: the three fields plugins require, then extras they ignore.
// Field order is the order on the wire.
type bodyV1 struct {
	ID                string `json:"id"`
	ExternalReference string `json:"externalReference"`
	Status            int    `json:"status"`
	EventType         string `json:"eventType"`
	Amount            int64  `json:"amount"`
	Currency          string `json:"currency"`
	taxFields
	DisputeStatus string `json:"disputeStatus,omitempty"`
	DisputeID     string `json:"disputeId,omitempty"`
}

// taxFields are the transaction's tax as the page, the record and the Admin API show it: amount
// is the gross; netAmount + taxAmount == amount. The treatment and the per-rate breakdown come
// from the tax evidence (absent for a transaction without one).
type taxFields struct {
	NetAmount    int64        `json:"netAmount"`
	TaxAmount    int64        `json:"taxAmount"`
	TaxTreatment string       `json:"taxTreatment,omitempty"`
	TaxBreakdown []taxRateRow `json:"taxBreakdown,omitempty"`
}

// taxRateRow is one rate of the breakdown, named as the runtime API's tax preview names it.
type taxRateRow struct {
	TaxRate     tax.Rate `json:"taxRate"`
	TaxRateCode string   `json:"taxRateCode"`
	TaxableBase int64    `json:"taxableBase"`
	TaxAmount   int64    `json:"taxAmount"`
}

func taxOf(txn *domain.Transaction) taxFields {
	f := taxFields{NetAmount: txn.NetAmount, TaxAmount: txn.TaxAmount}
	if len(txn.TaxEvidence) == 0 {
		return f
	}
	var ev tax.Evidence
	raw, err := json.Marshal(txn.TaxEvidence)
	if err != nil || json.Unmarshal(raw, &ev) != nil {
		return f
	}
	f.TaxTreatment = string(ev.Treatment)
	for _, r := range ev.Rates {
		f.TaxBreakdown = append(f.TaxBreakdown, taxRateRow{TaxRate: r.Rate, TaxRateCode: r.RateCode, TaxableBase: r.TaxableBase, TaxAmount: r.TaxAmount})
	}
	return f
}

// bodyV2 is an IPN version 2 body. It must never carry the legacy keys (transactionId,
// gatewayTransactionId, paymentStatus, disputeStatus, chargebackStatus, external_reference,
// chargeback): v2 receivers reject them.
type bodyV2 struct {
	SchemaVersion     int    `json:"schemaVersion"`
	DeliveryID        string `json:"deliveryId"`
	EventVersion      int    `json:"eventVersion"`
	OccurredAt        string `json:"occurredAt"`
	ID                string `json:"id"`
	ExternalReference string `json:"externalReference"`
	Status            int    `json:"status"`
	SessionPublicID   string `json:"sessionPublicId"`
	EventType         string `json:"eventType"`
	Amount            int64  `json:"amount"`
	Currency          string `json:"currency"`
	taxFields
}

// disputeStatuses are the dispute states a v1 body may name.
var disputeStatuses = map[string]bool{"open": true, "under_review": true, "won": true, "lost": true, "accepted": true}

// buildBody renders the notification of event e, once, in the site's IPN version.
func buildBody(version int, deliveryID string, e domain.Event, txn *domain.Transaction, chk *domain.Checkout, status int) (string, error) {
	var v any
	if version == 2 {
		v = bodyV2{
			SchemaVersion: 2, DeliveryID: deliveryID, EventVersion: e.Version,
			OccurredAt: e.OccurredAt.UTC().Truncate(time.Second).Format(time.RFC3339),
			ID:         txn.ID, ExternalReference: chk.Reference(), Status: status, SessionPublicID: chk.SessionPublicID,
			EventType: e.Type, Amount: txn.GrossAmount, Currency: txn.Currency, taxFields: taxOf(txn),
		}
	} else {
		b := bodyV1{ID: txn.ID, ExternalReference: chk.Reference(), Status: status, EventType: e.Type,
			Amount: txn.GrossAmount, Currency: txn.Currency, taxFields: taxOf(txn)}
		if ds, _ := e.Data["disputeStatus"].(string); disputeStatuses[ds] {
			b.DisputeStatus = ds
			b.DisputeID, _ = e.Data["disputeId"].(string)
		}
		v = b
	}
	out, err := json.Marshal(v)
	if err != nil {
		return "", domain.Internal(err, "encode notification")
	}
	return string(out), nil
}

// Sign returns the X-Signature-HMAC-SHA256 header of a notification: the hex HMAC-SHA256,
// keyed with the site's signing secret, of "<timestamp>.<raw body>".
func Sign(secret string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}
