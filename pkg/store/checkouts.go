package store

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"gorm.io/gorm"

	"paygate.dev/pkg/domain"
)

// CreateCheckout inserts a checkout, its items and a checkout.created event, atomically.
func (s *Store) CreateCheckout(ctx context.Context, c *domain.Checkout) error {
	return s.CreateCheckoutAnswered(ctx, c, nil)
}

// CreateCheckoutAnswered inserts a checkout, its items, its checkout.created event and, with
// a claim, the idempotency key's stored answer, atomically: the answer exists exactly when the
// checkout does. On PostgreSQL all of it is one statement (one round trip). If the key already
// has a record it writes nothing and returns ErrIdempotencyAnswered; if another request holds
// the key at this moment it writes nothing and returns ErrIdempotencyBusy.
func (s *Store) CreateCheckoutAnswered(ctx context.Context, c *domain.Checkout, claim *IdempotencyClaim) error {
	domain.StampNewCheckout(c)
	now := c.CreatedAt
	ev := &domain.Event{
		ID: domain.NewID(domain.PrefixEvent), OrganizationID: c.OrganizationID, Type: domain.EventCheckoutCreated, CheckoutID: &c.ID,
		Status: string(c.Status), OccurredAt: now, CreatedAt: now, Data: map[string]any{},
	}
	if s.dialect == Postgres {
		return s.createCheckoutPostgres(ctx, c, ev, claim, now)
	}
	return s.InTx(ctx, func(tx *Store) error {
		if claim != nil {
			if err := tx.insertClaim(ctx, claim, now); err != nil {
				return err
			}
		}
		if err := tx.db.Create(c).Error; err != nil {
			return translate(err, "checkout")
		}
		if len(c.Items) > 0 {
			if err := tx.db.CreateInBatches(c.Items, 100).Error; err != nil {
				return translate(err, "checkout items")
			}
		}
		return translate(tx.db.Create(ev).Error, "event")
	})
}

// createCheckoutWrites writes a checkout, its items (a JSON array) and its created event, each
// once per row of the CTE "k": PostgreSQL checks the items' foreign key at the end of the
// statement. The statements below put either a constant row or the idempotency claim in k.
const createCheckoutWrites = `, c AS (
  INSERT INTO checkouts (id, organization_id, site_id, mode, short_code, session_public_id, status, amount, currency, email,
    external_reference, invoice_number, client_id, return_url, cancel_url, ipn_url, billing_address, shipping_address, language,
    metadata, origin, origin_ref, expires_at, completed_at, created_by, created_at, updated_at, ipn_allow_private,
    linked_client_id, hold_id, allowed_provider_ids)
  SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM k
), i AS (
  INSERT INTO checkout_items (checkout_id, position, organization_id, name, description, quantity, unit_price, vat_rate, item_type)
  SELECT t.checkout_id, t.position, t.organization_id, t.name, t.description, t.quantity, t.unit_price, t.vat_rate, t.item_type
  FROM k, json_to_recordset(CAST(? AS json)) AS t(checkout_id text, position integer, organization_id text, name text, description text,
    quantity bigint, unit_price bigint, vat_rate bigint, item_type text)
), e AS (
  INSERT INTO events (id, organization_id, type, checkout_id, transaction_id, version, status, data, occurred_at, created_at, dispatched_at)
  SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM k
)
`

const (
	createCheckoutSQL = `WITH k AS (SELECT 1)` + createCheckoutWrites + `SELECT true AS locked, true AS claimed`
	// The claim takes the key's advisory lock (as LockIdempotency does) and inserts the
	// answer; the checkout rows follow only if both succeeded.
	createCheckoutClaimedSQL = `WITH l AS (SELECT pg_try_advisory_xact_lock(hashtextextended(?, 7)) AS locked),
k AS (
  INSERT INTO idempotency_keys (organization_id, idem_key, request_hash, state, status_code, response_body, content_type, created_at, completed_at, expires_at)
  SELECT ?, ?, ?, 'completed', ?, ?, ?, ?, ?, ? FROM l WHERE l.locked
  ON CONFLICT (organization_id, idem_key) DO NOTHING RETURNING 1
)` + createCheckoutWrites + `SELECT l.locked, EXISTS (SELECT 1 FROM k) AS claimed FROM l`
)

// itemRow is an item as createCheckoutWrites reads it from JSON.
type itemRow struct {
	CheckoutID     string `json:"checkout_id"`
	Position       int    `json:"position"`
	OrganizationID string `json:"organization_id"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	Quantity       int64  `json:"quantity"`
	UnitPrice      int64  `json:"unit_price"`
	VATRate        *int64 `json:"vat_rate"`
	ItemType       string `json:"item_type"`
}

func (s *Store) createCheckoutPostgres(ctx context.Context, c *domain.Checkout, ev *domain.Event, claim *IdempotencyClaim, now time.Time) error {
	rows := make([]itemRow, len(c.Items))
	for i, it := range c.Items {
		rows[i] = itemRow{CheckoutID: it.CheckoutID, Position: it.Position, OrganizationID: it.OrganizationID, Name: it.Name,
			Description: it.Description, Quantity: it.Quantity, UnitPrice: it.UnitPrice, VATRate: it.VATRate, ItemType: string(it.ItemType)}
	}
	items, err := json.Marshal(rows)
	if err != nil {
		return domain.Internal(err, "encode checkout items")
	}
	args := make([]any, 0, 60)
	q := createCheckoutSQL
	if claim != nil {
		q = createCheckoutClaimedSQL
		args = append(args, claim.OrganizationID+"/"+claim.Key,
			claim.OrganizationID, claim.Key, claim.Hash, claim.Status, string(claim.Body), claim.ContentType, now, now, now.Add(claim.TTL))
	}
	args = append(args,
		c.ID, c.OrganizationID, c.SiteID, c.Mode, c.ShortCode, c.SessionPublicID, c.Status, c.Amount, c.Currency, c.Email,
		c.ExternalReference, c.InvoiceNumber, c.ClientID, c.ReturnURL, c.CancelURL, c.IPNURL, nullJSON(c.BillingAddress), nullJSON(c.ShippingAddress), c.Language,
		jsonValue(c.Metadata), c.Origin, c.OriginRef, c.ExpiresAt, utcPtr(c.CompletedAt), c.CreatedBy, c.CreatedAt, c.UpdatedAt, c.IPNAllowPrivate,
		c.LinkedClientID, c.HoldID, nullJSONList(c.AllowedProviderIDs),
		string(items),
		ev.ID, ev.OrganizationID, ev.Type, ev.CheckoutID, ev.TransactionID, ev.Version, ev.Status, jsonValue(ev.Data), UTC(ev.OccurredAt), ev.CreatedAt, ev.DispatchedAt)
	var out struct{ Locked, Claimed bool }
	// Take, not Scan: GORM's Scan renders the statement with its arguments for a log on every call.
	if err := s.q(ctx).Raw(q, args...).Take(&out).Error; err != nil {
		return translate(err, "checkout")
	}
	switch {
	case !out.Locked:
		return ErrIdempotencyBusy
	case !out.Claimed:
		return ErrIdempotencyAnswered
	}
	return nil
}

// nullJSON renders an optional address as JSON text, or NULL (as GORM's JSON serializer does).
func nullJSON(a *domain.Address) *string {
	if a == nil {
		return nil
	}
	v := jsonValue(a)
	return &v
}

// nullJSONList renders an optional list as JSON text, or NULL for none.
func nullJSONList(l []string) *string {
	if l == nil {
		return nil
	}
	v := jsonValue(l)
	return &v
}

// GetCheckout returns a checkout with its items; NOT_FOUND for another organisation's.
func (s *Store) GetCheckout(ctx context.Context, orgID, id string) (*domain.Checkout, error) {
	return s.getCheckout(ctx, "id = ? AND organization_id = ?", id, orgID)
}

// GetCheckoutByShortCode finds the checkout behind a hosted page URL.
func (s *Store) GetCheckoutByShortCode(ctx context.Context, code string) (*domain.Checkout, error) {
	return s.getCheckout(ctx, "short_code = ?", code)
}

// GetCheckoutBySession finds a checkout by its public session id.
func (s *Store) GetCheckoutBySession(ctx context.Context, sessionPublicID string) (*domain.Checkout, error) {
	return s.getCheckout(ctx, "session_public_id = ?", sessionPublicID)
}

// GetCheckoutByID finds a checkout by id alone (workers that start from an event).
func (s *Store) GetCheckoutByID(ctx context.Context, id string) (*domain.Checkout, error) {
	return s.getCheckout(ctx, "id = ?", id)
}

// GetCheckoutByOrigin finds the checkout an integration made for its own reference
// (e.g. a Duda payment session).
func (s *Store) GetCheckoutByOrigin(ctx context.Context, orgID string, origin domain.CheckoutOrigin, ref string) (*domain.Checkout, error) {
	return s.getCheckout(ctx, "organization_id = ? AND origin = ? AND origin_ref = ?", orgID, origin, ref)
}

func (s *Store) getCheckout(ctx context.Context, where string, args ...any) (*domain.Checkout, error) {
	var c domain.Checkout
	if err := s.q(ctx).Where(where, args...).Take(&c).Error; err != nil {
		return nil, translate(err, "checkout")
	}
	if err := s.q(ctx).Where("checkout_id = ?", c.ID).Order("position").Find(&c.Items).Error; err != nil {
		return nil, translate(err, "checkout items")
	}
	return named(ctx, &c), nil
}

// CheckoutFilter is the domain's (the use cases and the HTTP layer speak it).
type CheckoutFilter = domain.CheckoutFilter

// ListCheckouts lists checkouts newest first; it fetches one more than Limit so callers can
// tell whether there is a next page (with Before: a newer page, the extra row comes last).
func (s *Store) ListCheckouts(ctx context.Context, f CheckoutFilter) ([]domain.Checkout, error) {
	var out []domain.Checkout
	if err := s.checkoutsQuery(ctx, f).Find(&out).Error; err != nil {
		return nil, translate(err, "checkouts")
	}
	if f.Before != "" {
		out = reverse(out, f.Limit)
	}
	return out, nil
}

// checkoutsQuery is ListCheckouts' query.
func (s *Store) checkoutsQuery(ctx context.Context, f CheckoutFilter) *gorm.DB {
	q := s.q(ctx).Model(&domain.Checkout{}).Where("organization_id = ?", f.OrganizationID)
	if f.SiteID != "" {
		q = q.Where("site_id = ?", f.SiteID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Mode != "" {
		q = q.Where("mode = ?", f.Mode)
	}
	if f.ExternalReference != "" {
		q = q.Where("external_reference = ?", f.ExternalReference)
	}
	if f.Search != "" {
		q = s.checkoutSearch(ctx, q, f.OrganizationID, f.Search)
	}
	q = createdRange(q, domain.PrefixCheckout, f.CreatedFrom, f.CreatedTo)
	return page(q, f.After, f.Before, f.Limit)
}

func escapeLike(s string) string {
	r := make([]rune, 0, len(s))
	for _, c := range s {
		if c == '%' || c == '_' || c == '\\' {
			r = append(r, '\\')
		}
		r = append(r, c)
	}
	return string(r)
}

// UpdateCheckoutMetadata replaces a checkout's metadata and, when expiresAt is set, extends
// its expiry. The expiry can only change while the checkout is open (else CONFLICT).
func (s *Store) UpdateCheckoutMetadata(ctx context.Context, orgID, id string, metadata map[string]any, expiresAt *time.Time) (*domain.Checkout, error) {
	err := s.InTx(ctx, func(tx *Store) error {
		c, err := tx.GetCheckout(ctx, orgID, id)
		if err != nil {
			return err
		}
		now := Now()
		set := map[string]any{"updated_at": now}
		if metadata != nil {
			set["metadata"] = jsonValue(metadata)
		}
		q := tx.db.Model(&domain.Checkout{}).Where("id = ? AND organization_id = ?", id, orgID)
		if expiresAt != nil {
			if !c.OpenAt(now) {
				return domain.Conflict(domain.CodeCheckoutClosed, "only an open checkout's expiry can change (it is %s)", c.EffectiveStatus(now))
			}
			set["expires_at"] = UTC(*expiresAt)
			q = q.Where("status = ?", domain.CheckoutOpen)
		}
		res := q.Updates(set)
		if res.Error != nil {
			return translate(res.Error, "checkout")
		}
		if res.RowsAffected == 0 {
			return domain.Conflict(domain.CodeCheckoutClosed, "the checkout is no longer open")
		}
		return tx.AppendEvent(ctx, &domain.Event{OrganizationID: orgID, Type: domain.EventCheckoutUpdated, CheckoutID: &id, Status: string(c.Status), OccurredAt: now})
	})
	if err != nil {
		return nil, err
	}
	return s.GetCheckout(ctx, orgID, id)
}

// EndCheckout moves an open checkout to expired or cancelled (compare-and-set) and writes the
// event in the same transaction. A checkout that is not open is a CONFLICT.
func (s *Store) EndCheckout(ctx context.Context, orgID, id string, to domain.CheckoutStatus) (*domain.Checkout, error) {
	if to != domain.CheckoutExpired && to != domain.CheckoutCancelled {
		return nil, domain.Internal(nil, "EndCheckout to %s", to)
	}
	err := s.InTx(ctx, func(tx *Store) error {
		now := Now()
		res := tx.db.Model(&domain.Checkout{}).Where("id = ? AND organization_id = ? AND status = ?", id, orgID, domain.CheckoutOpen).
			Updates(map[string]any{"status": to, "updated_at": now})
		if res.Error != nil {
			return translate(res.Error, "checkout")
		}
		if res.RowsAffected == 0 {
			c, err := tx.GetCheckout(ctx, orgID, id)
			if err != nil {
				return err
			}
			return domain.Conflict(domain.CodeCheckoutClosed, "the checkout is %s, not open", c.Status)
		}
		typ := domain.EventCheckoutExpired
		if to == domain.CheckoutCancelled {
			typ = domain.EventCheckoutCancelled
		}
		return tx.AppendEvent(ctx, &domain.Event{OrganizationID: orgID, Type: typ, CheckoutID: &id, Status: string(to), OccurredAt: now})
	})
	if err != nil {
		return nil, err
	}
	return s.GetCheckout(ctx, orgID, id)
}

// ListExpiredOpenCheckouts finds open checkouts whose expiry has passed, oldest first.
func (s *Store) ListExpiredOpenCheckouts(ctx context.Context, now time.Time, limit int) ([]domain.ExpiredCheckout, error) {
	var out []domain.ExpiredCheckout
	err := s.q(ctx).Model(&domain.Checkout{}).Select("id, organization_id").
		Where("status = ? AND expires_at <= ?", domain.CheckoutOpen, UTC(now)).Order("expires_at").Limit(limit).Scan(&out).Error
	return out, translate(err, "checkouts")
}

// GetCheckoutForPage reads a checkout by short code (or by session id) with its items and the
// stamps of what else the hosted page shows, in one round trip.
func (s *Store) GetCheckoutForPage(ctx context.Context, code string, bySession bool) (*domain.Checkout, domain.PageStamps, error) {
	where := "checkouts.short_code = ?"
	if bySession {
		where = "checkouts.session_public_id = ?"
	}
	const fields = `'p', ci.position, 'n', ci.name, 'd', ci.description, 'q', ci.quantity, 'u', ci.unit_price, 'v', ci.vat_rate, 't', ci.item_type`
	items := `CAST(json_agg(json_build_object(` + fields + `)) AS TEXT)`
	if s.dialect == SQLite {
		items = `json_group_array(json_object(` + fields + `))`
	}
	var row struct {
		domain.Checkout
		ItemsJSON        *string
		TenantStamp      string
		TransactionCount int64
	}
	err := s.q(ctx).Raw(`SELECT checkouts.*,
		(SELECT `+items+` FROM checkout_items ci WHERE ci.checkout_id = checkouts.id) AS items_json,
		COALESCE((SELECT CAST(s.updated_at AS TEXT) FROM sites s WHERE s.id = checkouts.site_id AND s.organization_id = checkouts.organization_id), '')
		|| '|' || COALESCE((SELECT CAST(o.updated_at AS TEXT) FROM organizations o WHERE o.id = checkouts.organization_id), '')
		|| '|' || (SELECT CAST(count(*) AS TEXT) || '|' || COALESCE(CAST(max(p.updated_at) AS TEXT), '') || '|' || COALESCE(CAST(max(sp.created_at) AS TEXT), '')
			FROM site_providers sp JOIN providers p ON p.id = sp.provider_id AND p.organization_id = sp.organization_id
			WHERE sp.site_id = checkouts.site_id AND sp.organization_id = checkouts.organization_id) AS tenant_stamp,
		(SELECT count(*) FROM transactions t WHERE t.organization_id = checkouts.organization_id AND t.checkout_id = checkouts.id) AS transaction_count
		FROM checkouts WHERE `+where, code).Take(&row).Error
	if err != nil {
		return nil, domain.PageStamps{}, translate(err, "checkout")
	}
	c := row.Checkout
	if row.ItemsJSON != nil {
		var items []struct {
			Position    int             `json:"p"`
			Name        string          `json:"n"`
			Description string          `json:"d"`
			Quantity    int64           `json:"q"`
			UnitPrice   int64           `json:"u"`
			VATRate     *int64          `json:"v"`
			ItemType    domain.ItemType `json:"t"`
		}
		if err := json.Unmarshal([]byte(*row.ItemsJSON), &items); err != nil {
			return nil, domain.PageStamps{}, domain.Internal(err, "checkout items of %s", c.ID)
		}
		sort.Slice(items, func(i, j int) bool { return items[i].Position < items[j].Position })
		c.Items = make([]domain.Item, len(items))
		for i, it := range items {
			c.Items[i] = domain.Item{CheckoutID: c.ID, Position: it.Position, OrganizationID: c.OrganizationID, Name: it.Name,
				Description: it.Description, Quantity: it.Quantity, UnitPrice: it.UnitPrice, VATRate: it.VATRate, ItemType: it.ItemType}
		}
	}
	return named(ctx, &c), domain.PageStamps{Tenant: row.TenantStamp, Transactions: row.TransactionCount}, nil
}
