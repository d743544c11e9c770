package store

import (
	"context"
	"strings"
	"time"

	"paygate.dev/pkg/domain"
)

func init() {
	constraints = append(constraints,
		constraint{"clients_email_key", "clients.organization_id, clients.mode, clients.email_key", domain.CodeClientEmailTaken,
			"another client of this organisation and mode has this e-mail address"},
		constraint{"client_holds_one_active", "client_holds.client_id", domain.CodeClientHoldExists,
			"the client already has an active hold: change or release it"})
	modedTables[domain.ModedClient] = "clients"
}

// CreateClient writes a new client (409 CLIENT_EMAIL_TAKEN for a known e-mail).
func (s *Store) CreateClient(ctx context.Context, c *domain.Client) error {
	c.CreatedAt, c.UpdatedAt = UTC(c.CreatedAt), UTC(c.UpdatedAt)
	return translate(s.q(ctx).Create(c).Error, "client")
}

// UpdateClient writes a client's fields (409 CLIENT_EMAIL_TAKEN for another client's e-mail).
func (s *Store) UpdateClient(ctx context.Context, c *domain.Client) error {
	c.UpdatedAt = Now()
	res := s.q(ctx).Model(&domain.Client{}).Where("id = ? AND organization_id = ?", c.ID, c.OrganizationID).
		Select("email", "email_key", "name", "company", "billing_address", "vat_id", "vat_id_status", "vat_id_checked_at", "notes", "updated_at").
		Updates(c)
	if res.Error != nil {
		return translate(res.Error, "client")
	}
	if res.RowsAffected == 0 {
		return domain.NotFound("client")
	}
	return nil
}

// GetClient returns one of an organisation's clients.
func (s *Store) GetClient(ctx context.Context, orgID, id string) (*domain.Client, error) {
	var c domain.Client
	if err := s.q(ctx).Where("id = ? AND organization_id = ?", id, orgID).Take(&c).Error; err != nil {
		return nil, translate(err, "client")
	}
	return &c, nil
}

// FindClientByEmail returns the organisation's client of mode with the e-mail (any case), or
// nil when there is none.
func (s *Store) FindClientByEmail(ctx context.Context, orgID string, mode domain.Mode, email string) (*domain.Client, error) {
	var out []domain.Client
	err := s.q(ctx).Where("organization_id = ? AND mode = ? AND email_key = ?", orgID, mode, domain.NormalizeEmail(email)).Limit(1).Find(&out).Error
	if err != nil || len(out) == 0 {
		return nil, translate(err, "client")
	}
	return &out[0], nil
}

// DeleteClient deletes a client and its released holds, and unlinks its checkouts.
func (s *Store) DeleteClient(ctx context.Context, orgID, id string) error {
	return s.InTx(ctx, func(tx *Store) error {
		if err := tx.q(ctx).Exec(`UPDATE checkouts SET linked_client_id = NULL WHERE organization_id = ? AND linked_client_id = ?`, orgID, id).Error; err != nil {
			return translate(err, "checkouts")
		}
		if err := tx.q(ctx).Where("organization_id = ? AND client_id = ?", orgID, id).Delete(&domain.ClientHold{}).Error; err != nil {
			return translate(err, "client holds")
		}
		res := tx.q(ctx).Where("id = ? AND organization_id = ?", id, orgID).Delete(&domain.Client{})
		if res.Error != nil {
			return translate(res.Error, "client")
		}
		if res.RowsAffected == 0 {
			return domain.NotFound("client")
		}
		return nil
	})
}

// ListClients lists clients newest first, one more than the limit (the caller tells whether
// there is a next page).
func (s *Store) ListClients(ctx context.Context, f domain.ClientFilter) ([]domain.Client, error) {
	q := s.q(ctx).Where("organization_id = ?", f.OrganizationID)
	if f.Mode != "" {
		q = q.Where("mode = ?", f.Mode)
	}
	if term := strings.TrimSpace(f.Search); term != "" {
		if strings.HasPrefix(term, domain.PrefixClient+"_") {
			q = q.Where("id = ?", term)
		} else {
			like := "%" + likeEscape(strings.ToLower(term)) + "%"
			q = q.Where(`(email_key LIKE ? ESCAPE '\' OR LOWER(name) LIKE ? ESCAPE '\' OR LOWER(company) LIKE ? ESCAPE '\')`, like, like, like)
		}
	}
	if f.After != "" {
		q = q.Where("id < ?", f.After)
	}
	var out []domain.Client
	return out, translate(q.Order("id DESC").Limit(f.Limit+1).Find(&out).Error, "clients")
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// upsertCheckoutClientSQL creates a checkout's client, or updates the existing one of the same
// organisation, mode and e-mail with what the checkout says (empty values change nothing; a
// new VAT id is unchecked), and returns the client's id. The SET expressions read the row as it
// was (both databases).
const upsertCheckoutClientSQL = `INSERT INTO clients (id, organization_id, mode, email, email_key, name, company, billing_address,
  vat_id, vat_id_status, vat_id_checked_at, notes, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, '', ?, ?)
ON CONFLICT (organization_id, mode, email_key) DO UPDATE SET
  name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE clients.name END,
  company = CASE WHEN excluded.company <> '' THEN excluded.company ELSE clients.company END,
  billing_address = COALESCE(excluded.billing_address, clients.billing_address),
  vat_id_status = CASE WHEN excluded.vat_id <> '' AND excluded.vat_id <> clients.vat_id THEN 'unchecked' ELSE clients.vat_id_status END,
  vat_id_checked_at = CASE WHEN excluded.vat_id <> '' AND excluded.vat_id <> clients.vat_id THEN NULL ELSE clients.vat_id_checked_at END,
  vat_id = CASE WHEN excluded.vat_id <> '' THEN excluded.vat_id ELSE clients.vat_id END,
  updated_at = excluded.updated_at
RETURNING id`

// UpsertCheckoutClient creates or updates the client a checkout's buyer is (by e-mail) and
// returns its id (c.ID when it was created now).
func (s *Store) UpsertCheckoutClient(ctx context.Context, c *domain.Client) (string, error) {
	// Most checkouts are of a known buyer who says nothing new: a read, no write and no lock.
	var cur []domain.Client
	err := s.q(ctx).Where("organization_id = ? AND mode = ? AND email_key = ?", c.OrganizationID, c.Mode, c.EmailKey).Limit(1).Find(&cur).Error
	if err != nil {
		return "", translate(err, "client")
	}
	if len(cur) == 1 && cur[0].Covers(c) {
		return cur[0].ID, nil
	}
	now := UTC(c.UpdatedAt)
	var ids []string
	err = s.q(ctx).Raw(upsertCheckoutClientSQL, c.ID, c.OrganizationID, c.Mode, c.Email, c.EmailKey, c.Name, c.Company,
		nullJSON(c.BillingAddress), c.VATID, c.VATIDStatus, now, now).Scan(&ids).Error
	if err != nil {
		return "", translate(err, "client")
	}
	if len(ids) != 1 {
		return "", domain.Internal(nil, "client upsert returned %d rows", len(ids))
	}
	return ids[0], nil
}

// MergeCheckoutClient updates an existing client (named by the checkout's clientId) with what
// the checkout says, as UpsertCheckoutClient does.
func (s *Store) MergeCheckoutClient(ctx context.Context, c *domain.Client) error {
	var cur []domain.Client
	if err := s.q(ctx).Where("id = ? AND organization_id = ?", c.ID, c.OrganizationID).Limit(1).Find(&cur).Error; err != nil {
		return translate(err, "client")
	}
	if len(cur) == 1 && cur[0].Covers(c) {
		return nil // nothing new: no write, no lock
	}
	err := s.q(ctx).Exec(`UPDATE clients SET
  name = CASE WHEN ? <> '' THEN ? ELSE name END,
  company = CASE WHEN ? <> '' THEN ? ELSE company END,
  billing_address = COALESCE(?, billing_address),
  vat_id_status = CASE WHEN ? <> '' AND ? <> vat_id THEN 'unchecked' ELSE vat_id_status END,
  vat_id_checked_at = CASE WHEN ? <> '' AND ? <> vat_id THEN NULL ELSE vat_id_checked_at END,
  vat_id = CASE WHEN ? <> '' THEN ? ELSE vat_id END,
  updated_at = ?
WHERE id = ? AND organization_id = ?`, c.Name, c.Name, c.Company, c.Company, nullJSON(c.BillingAddress),
		c.VATID, c.VATID, c.VATID, c.VATID, c.VATID, c.VATID, UTC(c.UpdatedAt), c.ID, c.OrganizationID).Error
	return translate(err, "client")
}

// ClientHasTransactions reports whether any payment attempt was made on the client's checkouts.
func (s *Store) ClientHasTransactions(ctx context.Context, orgID, id string) (bool, error) {
	var n []int
	err := s.q(ctx).Raw(`SELECT 1 FROM transactions t JOIN checkouts c ON c.id = t.checkout_id
WHERE c.organization_id = ? AND c.linked_client_id = ? LIMIT 1`, orgID, id).Scan(&n).Error
	return len(n) > 0, translate(err, "transactions")
}

// ClientsHaveOpenDispute reports whether a payment on a checkout of one of the clients is
// disputed and the dispute is not decided (open or under review).
func (s *Store) ClientsHaveOpenDispute(ctx context.Context, orgID string, clientIDs []string) (bool, error) {
	if len(clientIDs) == 0 {
		return false, nil
	}
	var n []int
	err := s.q(ctx).Raw(`SELECT 1 FROM transactions t JOIN checkouts c ON c.id = t.checkout_id
WHERE c.organization_id = ? AND c.linked_client_id IN ? AND t.status = ? AND t.dispute_status NOT IN ('lost', 'accepted', 'won') LIMIT 1`,
		orgID, clientIDs, domain.TxnDisputed).Scan(&n).Error
	return len(n) > 0, translate(err, "transactions")
}

// ClientValues sums a client's payments per currency: what succeeded (gross of every paid,
// refunded or disputed attempt) and what was refunded of it.
func (s *Store) ClientValues(ctx context.Context, orgID, id string) ([]domain.ClientValue, error) {
	var out []domain.ClientValue
	err := s.q(ctx).Raw(`SELECT t.currency AS currency, SUM(t.gross_amount) AS paid, SUM(t.refunded_amount) AS refunded,
  SUM(t.gross_amount) - SUM(t.refunded_amount) AS net, COUNT(*) AS payments
FROM transactions t JOIN checkouts c ON c.id = t.checkout_id
WHERE c.organization_id = ? AND c.linked_client_id = ? AND t.status IN ?
GROUP BY t.currency ORDER BY t.currency`, orgID, id,
		[]domain.TransactionStatus{domain.TxnSucceeded, domain.TxnPartiallyRefunded, domain.TxnRefunded, domain.TxnDisputed}).Scan(&out).Error
	return out, translate(err, "client values")
}

// ListClientTransactions lists the payment attempts on a client's checkouts, newest first.
func (s *Store) ListClientTransactions(ctx context.Context, orgID, id string, limit int) ([]domain.Transaction, error) {
	var out []domain.Transaction
	err := s.q(ctx).Model(&domain.Transaction{}).Select("transactions.*").
		Joins("JOIN checkouts ON checkouts.id = transactions.checkout_id").
		Where("checkouts.organization_id = ? AND checkouts.linked_client_id = ?", orgID, id).
		Order("transactions.id DESC").Limit(limit).Find(&out).Error
	return out, translate(err, "transactions")
}

// CreateClientHold writes a hold (409 CLIENT_HOLD_EXISTS when the client has an active one).
func (s *Store) CreateClientHold(ctx context.Context, h *domain.ClientHold) error {
	h.CreatedAt, h.UpdatedAt = UTC(h.CreatedAt), UTC(h.UpdatedAt)
	return translate(s.q(ctx).Create(h).Error, "client hold")
}

// UpdateClientHold writes a hold's changeable fields (its terms, or its release).
func (s *Store) UpdateClientHold(ctx context.Context, h *domain.ClientHold) error {
	h.UpdatedAt = Now()
	h.ReleasedAt = utcPtr(h.ReleasedAt)
	res := s.q(ctx).Model(&domain.ClientHold{}).Where("id = ? AND organization_id = ?", h.ID, h.OrganizationID).
		Select("action", "reason", "note", "allowed_provider_types", "allowed_provider_ids", "released_by", "released_at", "updated_at").
		Updates(h)
	if res.Error != nil {
		return translate(res.Error, "client hold")
	}
	if res.RowsAffected == 0 {
		return domain.NotFound("client hold")
	}
	return nil
}

// GetClientHold returns one of a client's holds, locked for update on PostgreSQL.
func (s *Store) GetClientHold(ctx context.Context, orgID, clientID, id string) (*domain.ClientHold, error) {
	var h domain.ClientHold
	q := s.q(ctx)
	if s.dialect == Postgres {
		q = q.Clauses(forUpdate())
	}
	if err := q.Where("id = ? AND organization_id = ? AND client_id = ?", id, orgID, clientID).Take(&h).Error; err != nil {
		return nil, translate(err, "client hold")
	}
	return &h, nil
}

// ActiveClientHold returns the client's active hold, or nil.
func (s *Store) ActiveClientHold(ctx context.Context, orgID, clientID string) (*domain.ClientHold, error) {
	var out []domain.ClientHold
	err := s.q(ctx).Where("organization_id = ? AND client_id = ? AND released_at IS NULL", orgID, clientID).Limit(1).Find(&out).Error
	if err != nil || len(out) == 0 {
		return nil, translate(err, "client hold")
	}
	return &out[0], nil
}

// ListClientHolds lists a client's holds, newest first (released ones too).
func (s *Store) ListClientHolds(ctx context.Context, orgID, clientID string) ([]domain.ClientHold, error) {
	var out []domain.ClientHold
	err := s.q(ctx).Where("organization_id = ? AND client_id = ?", orgID, clientID).Order("id DESC").Limit(200).Find(&out).Error
	return out, translate(err, "client holds")
}

// RecordClientVATCheck records the tax engine's check of a VAT id on a client: the client's
// VAT id (set when it had none), its status and when it was checked. A client whose VAT id is
// another one keeps it (the buyer paid for someone else's company).
func (s *Store) RecordClientVATCheck(ctx context.Context, orgID, clientID, vatID string, status domain.VATIDStatus, at time.Time) error {
	err := s.q(ctx).Exec(`UPDATE clients SET vat_id = ?, vat_id_status = ?, vat_id_checked_at = ?, updated_at = ?
WHERE id = ? AND organization_id = ? AND (vat_id = ? OR vat_id = '')`, vatID, status, UTC(at), Now(), clientID, orgID, vatID).Error
	return translate(err, "client")
}
