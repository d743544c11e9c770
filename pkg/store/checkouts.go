package store

import (
	"context"
	"time"

	"paygate.dev/pkg/domain"
)

// CreateCheckout inserts a checkout, its items and a checkout.created event in one transaction.
func (s *Store) CreateCheckout(ctx context.Context, c *domain.Checkout) error {
	now := Now()
	c.CreatedAt, c.UpdatedAt = now, now
	c.ExpiresAt = UTC(c.ExpiresAt)
	if c.Metadata == nil {
		c.Metadata = map[string]any{}
	}
	return s.InTx(ctx, func(tx *Store) error {
		if err := tx.db.Create(c).Error; err != nil {
			return translate(err, "checkout")
		}
		for i := range c.Items {
			c.Items[i].CheckoutID = c.ID
			c.Items[i].OrganizationID = c.OrganizationID
			c.Items[i].Position = i
		}
		if len(c.Items) > 0 {
			if err := tx.db.CreateInBatches(c.Items, 100).Error; err != nil {
				return translate(err, "checkout items")
			}
		}
		return tx.AppendEvent(ctx, &domain.Event{
			OrganizationID: c.OrganizationID, Type: domain.EventCheckoutCreated, CheckoutID: &c.ID,
			Status: string(c.Status), OccurredAt: now,
		})
	})
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
	return &c, nil
}

// CheckoutFilter selects checkouts for a list. Zero fields do not filter.
type CheckoutFilter struct {
	OrganizationID    string
	SiteID            string
	Status            domain.CheckoutStatus
	Mode              domain.Mode
	ExternalReference string
	Search            string // reference, invoice number, e-mail or id
	CreatedFrom       *time.Time
	CreatedTo         *time.Time
	// After is a cursor: the id of the last checkout of the previous page.
	After string
	Limit int
}

// ListCheckouts lists checkouts newest first; it fetches one more than Limit so callers can
// tell whether there is a next page.
func (s *Store) ListCheckouts(ctx context.Context, f CheckoutFilter) ([]domain.Checkout, error) {
	q := s.q(ctx).Where("organization_id = ?", f.OrganizationID)
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
		like := "%" + escapeLike(f.Search) + "%"
		q = q.Where("(id = ? OR session_public_id = ? OR short_code = ? OR external_reference LIKE ? ESCAPE '\\' OR invoice_number LIKE ? ESCAPE '\\' OR email LIKE ? ESCAPE '\\')",
			f.Search, f.Search, f.Search, like, like, like)
	}
	if f.CreatedFrom != nil {
		q = q.Where("created_at >= ?", UTC(*f.CreatedFrom))
	}
	if f.CreatedTo != nil {
		q = q.Where("created_at < ?", UTC(*f.CreatedTo))
	}
	if f.After != "" {
		q = q.Where("id < ?", f.After)
	}
	var out []domain.Checkout
	if err := q.Order("id DESC").Limit(f.Limit + 1).Find(&out).Error; err != nil {
		return nil, translate(err, "checkouts")
	}
	return out, nil
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

// ExpiredCheckout names an open checkout past its expiry.
type ExpiredCheckout struct {
	ID             string
	OrganizationID string
}

// ListExpiredOpenCheckouts finds open checkouts whose expiry has passed, oldest first.
func (s *Store) ListExpiredOpenCheckouts(ctx context.Context, now time.Time, limit int) ([]ExpiredCheckout, error) {
	var out []ExpiredCheckout
	err := s.q(ctx).Model(&domain.Checkout{}).Select("id, organization_id").
		Where("status = ? AND expires_at <= ?", domain.CheckoutOpen, UTC(now)).Order("expires_at").Limit(limit).Scan(&out).Error
	return out, translate(err, "checkouts")
}
