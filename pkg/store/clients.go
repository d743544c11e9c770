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

// screenClientsSQL reads, for a checkout's screen, the clients its clientId (by id, any mode)
// and its buyer's e-mail (of the mode) name, each with its active hold's id, and the
// organisation's dispute setting: one round trip (indexes: the primary key, clients_email_key,
// client_holds_one_active).
const screenClientsSQL = `SELECT c.*,
  (SELECT h.id FROM client_holds h WHERE h.client_id = c.id AND h.organization_id = c.organization_id AND h.released_at IS NULL LIMIT 1) AS active_hold_id,
  o.block_checkouts_on_dispute AS block_checkouts_on_dispute
FROM clients c JOIN organizations o ON o.id = c.organization_id
WHERE c.organization_id = ? AND (c.id = ? OR (? <> '' AND c.mode = ? AND c.email_key = ?))`

// ScreenClients reads what a checkout's screen needs in one statement: the client clientID
// names (any mode; "" names none), the client of mode with the e-mail ("" names none), each
// with its active hold's id, and whether the organisation blocks checkouts on a dispute.
func (s *Store) ScreenClients(ctx context.Context, orgID string, mode domain.Mode, clientID, email string) (*domain.ScreenRead, error) {
	var rows []struct {
		domain.Client
		ActiveHoldID            *string
		BlockCheckoutsOnDispute bool
	}
	key := ""
	if email != "" {
		key = domain.NormalizeEmail(email)
	}
	if err := s.q(ctx).Raw(screenClientsSQL, orgID, clientID, key, mode, key).Find(&rows).Error; err != nil {
		return nil, translate(err, "clients")
	}
	out := &domain.ScreenRead{}
	for _, r := range rows {
		out.Clients = append(out.Clients, domain.ScreenedClient{Client: r.Client, ActiveHoldID: r.ActiveHoldID})
		out.BlockCheckoutsOnDispute = r.BlockCheckoutsOnDispute
	}
	return out, nil
}

// checkoutClientChanges is true when what a checkout says of its buyer (excluded.*, or the
// arguments) would change the client row (clients.*): the negation of domain.Client.Covers.
const checkoutClientChanges = `(excluded.name <> '' AND excluded.name <> clients.name)
  OR (excluded.company <> '' AND excluded.company <> clients.company)
  OR (excluded.vat_id <> '' AND excluded.vat_id <> clients.vat_id)
  OR (excluded.billing_address IS NOT NULL AND (clients.billing_address IS NULL OR excluded.billing_address <> clients.billing_address))`

// upsertCheckoutClientSQL creates a checkout's client, or updates the existing one of the same
// organisation, mode and e-mail with what the checkout says (empty values change nothing; a
// new VAT id is unchecked), and returns the client's id; when the checkout says nothing new it
// writes nothing and returns no row. The SET expressions read the row as it was (both
// databases).
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
WHERE ` + checkoutClientChanges + `
RETURNING id`

// UpsertCheckoutClient creates or updates the client a checkout's buyer is (by e-mail) and
// returns its id (c.ID when it was created now). One statement; a second (a read of the id)
// only when the client exists and the checkout says nothing new of it. (The caller skips this
// altogether when the screen already saw that: domain.Checkout.ClientCurrent.)
func (s *Store) UpsertCheckoutClient(ctx context.Context, c *domain.Client) (string, error) {
	now := UTC(c.UpdatedAt)
	var ids []string
	err := s.q(ctx).Raw(upsertCheckoutClientSQL, c.ID, c.OrganizationID, c.Mode, c.Email, c.EmailKey, c.Name, c.Company,
		nullJSON(c.BillingAddress), c.VATID, c.VATIDStatus, now, now).Find(&ids).Error
	if err != nil {
		return "", translate(err, "client")
	}
	if len(ids) == 0 { // it exists and has it all: nothing was written
		err = s.q(ctx).Raw(`SELECT id FROM clients WHERE organization_id = ? AND mode = ? AND email_key = ?`,
			c.OrganizationID, c.Mode, c.EmailKey).Find(&ids).Error
		if err != nil {
			return "", translate(err, "client")
		}
	}
	if len(ids) != 1 {
		return "", domain.Internal(nil, "client upsert found %d rows", len(ids))
	}
	return ids[0], nil
}

// MergeCheckoutClient updates an existing client (named by the checkout's clientId) with what
// the checkout says, as UpsertCheckoutClient does: one statement, which writes (and locks)
// nothing when the checkout says nothing new.
func (s *Store) MergeCheckoutClient(ctx context.Context, c *domain.Client) error {
	err := s.q(ctx).Exec(`UPDATE clients SET
  name = CASE WHEN ? <> '' THEN ? ELSE name END,
  company = CASE WHEN ? <> '' THEN ? ELSE company END,
  billing_address = COALESCE(?, billing_address),
  vat_id_status = CASE WHEN ? <> '' AND ? <> vat_id THEN 'unchecked' ELSE vat_id_status END,
  vat_id_checked_at = CASE WHEN ? <> '' AND ? <> vat_id THEN NULL ELSE vat_id_checked_at END,
  vat_id = CASE WHEN ? <> '' THEN ? ELSE vat_id END,
  updated_at = ?
WHERE id = ? AND organization_id = ? AND ((? <> '' AND ? <> name) OR (? <> '' AND ? <> company) OR (? <> '' AND ? <> vat_id)
  OR (CAST(? AS TEXT) IS NOT NULL AND (billing_address IS NULL OR ? <> billing_address)))`, c.Name, c.Name, c.Company, c.Company, nullJSON(c.BillingAddress),
		c.VATID, c.VATID, c.VATID, c.VATID, c.VATID, c.VATID, UTC(c.UpdatedAt), c.ID, c.OrganizationID,
		c.Name, c.Name, c.Company, c.Company, c.VATID, c.VATID, nullJSON(c.BillingAddress), nullJSON(c.BillingAddress)).Error
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
