package store

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"paygate.dev/pkg/domain"
)

// constraint describes a unique index as both databases report it, and the conflict it means.
type constraint struct {
	name    string // PostgreSQL constraint / index name
	columns string // SQLite's "table.col, table.col" form
	code    string
	message string
}

var constraints = []constraint{
	{"users_email_key", "users.email", domain.CodeConflict, "a user with this e-mail address already exists"},
	{"memberships_pkey", "memberships.organization_id, memberships.user_id", domain.CodeConflict, "the user is already a member of this organisation"},
	{"site_providers_pkey", "site_providers.site_id, site_providers.provider_id", domain.CodeConflict, "the provider is already assigned to this site"},
	{"checkouts_short_code_key", "checkouts.short_code", domain.CodeConflict, "short code collision"},
	{"checkouts_session_public_id_key", "checkouts.session_public_id", domain.CodeConflict, "session id collision"},
	{"checkouts_origin_ref_key", "checkouts.organization_id, checkouts.origin, checkouts.origin_ref", domain.CodeConflict, "a checkout already exists for this origin reference"},
	{"transactions_one_success_key", "transactions.checkout_id", domain.CodeAlreadyPaid, "the checkout has already been paid"},
	{"transactions_provider_reference_key", "transactions.provider_id, transactions.provider_reference", domain.CodeConflict, "a transaction already exists for this provider reference"},
	{"transactions_provider_payment_key", "transactions.provider_id, transactions.provider_payment_id", domain.CodeConflict, "a transaction already exists for this provider payment"},
	{"transactions_payment_reference_key", "transactions.payment_reference", domain.CodeConflict, "payment reference collision"},
	{"refunds_provider_reference_key", "refunds.transaction_id, refunds.provider_reference", domain.CodeConflict, "the refund is already recorded"},
	{"events_transaction_version_key", "events.transaction_id, events.version", domain.CodeConflict, "event version already written"},
	{"jobs_unique_key", "jobs.kind, jobs.unique_key", domain.CodeConflict, "the job is already queued"},
	{"ipn_deliveries_event_key", "ipn_deliveries.event_id", domain.CodeConflict, "the notification already exists"},
	{"ipn_attempts_delivery_attempt_key", "ipn_attempts.delivery_id, ipn_attempts.attempt", domain.CodeConflict, "the attempt was already made"},
	{"idempotency_keys_pkey", "idempotency_keys.organization_id, idempotency_keys.idem_key", domain.CodeConflict, "idempotency key already used"},
	{"provider_events_external_key", "provider_events.provider_id, provider_events.external_id", domain.CodeConflict, "the provider event was already received"},
	{"duda_sites_name_key", "duda_sites.connection_id, duda_sites.site_name", domain.CodeConflict, "the Duda site is already installed"},
	{"duda_sessions_pkey", "duda_sessions.checkout_id", domain.CodeConflict, "the checkout already has a Duda session"},
	{"duda_sessions_session_key", "duda_sessions.connection_id, duda_sessions.session_id", domain.CodeConflict, "a checkout already exists for this Duda session"},
	{"duda_refunds_pkey", "duda_refunds.connection_id, duda_refunds.refund_key", domain.CodeConflict, "the Duda refund was already received"},
	{"invoices_number_key", "invoices.organization_id, invoices.mode, invoices.number", domain.CodeConflict, "an invoice with this number already exists"},
	{"invoices_sequence_key", "invoices.organization_id, invoices.mode, invoices.sequence_period, invoices.sequence_value", domain.CodeConflict, "an invoice with this sequence number already exists"},
	{"invoices_source_transaction_key", "invoices.source_transaction_id", domain.CodeConflict, "the payment is already invoiced"},
	{"invoice_settlements_transaction_key", "invoice_settlements.transaction_id", domain.CodeConflict, "the payment already settles an invoice"},
}

// translate turns GORM and driver errors into domain errors. what names the object for a 404.
func translate(err error, what string) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return domain.NotFound(what)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return domain.Unavailable(domain.CodeUnavailable, err, "the request was cancelled or timed out")
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "23505":
			return conflictFor(pg.ConstraintName, "", err)
		case "23503":
			return &domain.Error{Kind: domain.KindInvalid, Code: domain.CodeValidation, Message: "a referenced object does not exist", Err: err}
		case "23514", "23502":
			return &domain.Error{Kind: domain.KindInvalid, Code: domain.CodeValidation, Message: "a value is out of range", Err: err}
		case "22021", "22P05": // invalid UTF-8 or a NUL character in a text value (e.g. an id from a path)
			return &domain.Error{Kind: domain.KindInvalid, Code: domain.CodeValidation, Message: "text must be valid UTF-8 without NUL characters", Err: err}
		case "40001", "40P01", "55P03":
			return domain.Unavailable(domain.CodeUnavailable, err, "the database was busy, try again")
		}
		return domain.Internal(err, "database error")
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "UNIQUE constraint failed: "):
		cols := msg[strings.Index(msg, "UNIQUE constraint failed: ")+len("UNIQUE constraint failed: "):]
		if i := strings.Index(cols, " ("); i >= 0 {
			cols = cols[:i]
		}
		return conflictFor("", strings.TrimSpace(cols), err)
	case strings.Contains(msg, "FOREIGN KEY constraint failed"):
		return &domain.Error{Kind: domain.KindInvalid, Code: domain.CodeValidation, Message: "a referenced object does not exist", Err: err}
	case strings.Contains(msg, "CHECK constraint failed"), strings.Contains(msg, "NOT NULL constraint failed"):
		return &domain.Error{Kind: domain.KindInvalid, Code: domain.CodeValidation, Message: "a value is out of range", Err: err}
	case strings.Contains(msg, "database is locked"), strings.Contains(msg, "SQLITE_BUSY"):
		return domain.Unavailable(domain.CodeUnavailable, err, "the database was busy, try again")
	}
	return domain.Internal(err, "database error")
}

func conflictFor(name, columns string, cause error) error {
	for _, c := range constraints {
		if (name != "" && c.name == name) || (columns != "" && c.columns == columns) {
			return &domain.Error{Kind: domain.KindConflict, Code: c.code, Message: c.message, Err: &domain.ConstraintConflict{Constraint: c.name}}
		}
	}
	return &domain.Error{Kind: domain.KindConflict, Code: domain.CodeConflict, Message: "the object already exists", Err: cause}
}
