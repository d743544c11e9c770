package domain

import "time"

// ReportKind names what a ReportBucket counts.
type ReportKind string

// Report kinds. Succeeded, Refunded and Failed are flows over a period, bucketed by UTC day;
// Pending and Disputed are what is open now (no day).
const (
	// ReportSucceeded: transactions that took the money (succeeded, later refunded or
	// disputed ones included), by the time they succeeded; Amount is their gross.
	ReportSucceeded ReportKind = "succeeded"
	// ReportRefunded: succeeded refunds, by the time they succeeded; Amount is refunded.
	ReportRefunded ReportKind = "refunded"
	// ReportFailed: transactions that ended failed, by the time they failed; Amount is the
	// gross that was attempted.
	ReportFailed ReportKind = "failed"
	// ReportPending: transactions awaiting the provider's answer (pending_provider), now.
	ReportPending ReportKind = "pending"
	// ReportDisputed: transactions with an open dispute (disputed, not yet lost or accepted), now.
	ReportDisputed ReportKind = "disputed"
)

// ReportQuery selects an organisation's transactions in one mode, optionally on one site,
// over [From, To) (both UTC).
type ReportQuery struct {
	OrganizationID string
	Mode           Mode
	SiteID         string // "" for every site
	From, To       time.Time
}

// ReportBucket is one aggregate: how many and how much (minor units of Currency) of a kind,
// on one site, on one UTC day (Day is "YYYY-MM-DD"; "" for the open kinds).
type ReportBucket struct {
	Kind     ReportKind
	Day      string
	SiteID   string
	Currency string
	Count    int64
	Amount   int64
}
