package store

import (
	"context"
	"time"

	"paygate.dev/pkg/domain"
)

// SaveWebhookDelivery stores a provider's webhook request as it came.
func (s *Store) SaveWebhookDelivery(ctx context.Context, d *domain.WebhookDelivery) error {
	d.ReceivedAt = Now()
	return translate(s.q(ctx).Create(d).Error, "webhook delivery")
}

// InsertProviderEvent stores an event unless one with the same provider-side id exists;
// inserted says whether this call stored it.
func (s *Store) InsertProviderEvent(ctx context.Context, e *domain.ProviderEvent) (inserted bool, err error) {
	e.ReceivedAt = Now()
	if e.Status == "" {
		e.Status = domain.ProviderEventReceived
	}
	e.OccurredAt = utcPtr(e.OccurredAt)
	res := s.q(ctx).Exec(`INSERT INTO provider_events (id, provider_id, organization_id, provider_type, external_id, type, delivery_id, payload, status, error, received_at, object_id, occurred_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?) ON CONFLICT (provider_id, external_id) DO NOTHING`,
		e.ID, e.ProviderID, e.OrganizationID, e.ProviderType, e.ExternalID, e.Type, e.DeliveryID, e.Payload, e.Status, e.ReceivedAt, e.ObjectID, e.OccurredAt)
	if res.Error != nil {
		return false, translate(res.Error, "provider event")
	}
	return res.RowsAffected == 1, nil
}

// NewerProviderEvent finds a stored event of the same provider about the same object, of one of
// the given types, that the provider created strictly after `after` (whether applied yet or
// not): the event being applied is then old news, superseded by that one. It returns the newer
// event's provider-side id, or "" if there is none.
func (s *Store) NewerProviderEvent(ctx context.Context, providerID, objectID string, after time.Time, types []string) (string, error) {
	if objectID == "" || len(types) == 0 {
		return "", nil
	}
	var ids []string
	err := s.q(ctx).Model(&domain.ProviderEvent{}).
		Where("provider_id = ? AND object_id = ? AND occurred_at > ? AND type IN ?", providerID, objectID, UTC(after), types).
		Order("occurred_at DESC").Limit(1).Pluck("external_id", &ids).Error
	if err != nil || len(ids) == 0 {
		return "", translate(err, "provider events")
	}
	return ids[0], nil
}

// GetProviderEvent returns one provider event.
func (s *Store) GetProviderEvent(ctx context.Context, id string) (*domain.ProviderEvent, error) {
	var e domain.ProviderEvent
	if err := s.q(ctx).Where("id = ?", id).Take(&e).Error; err != nil {
		return nil, translate(err, "provider event")
	}
	return &e, nil
}

// FinishProviderEvent records how an event was handled.
func (s *Store) FinishProviderEvent(ctx context.Context, id, status, errText string) error {
	if len(errText) > 1000 {
		errText = errText[:1000]
	}
	return translate(s.q(ctx).Model(&domain.ProviderEvent{}).Where("id = ?", id).
		Updates(map[string]any{"status": status, "error": errText, "processed_at": Now()}).Error, "provider event")
}

// ListProviderEvents lists a provider's recent events (operators' view of raw provider data).
func (s *Store) ListProviderEvents(ctx context.Context, orgID, providerID string, limit int) ([]domain.ProviderEvent, error) {
	var out []domain.ProviderEvent
	err := s.q(ctx).Where("organization_id = ? AND provider_id = ?", orgID, providerID).Order("id DESC").Limit(limit).Find(&out).Error
	return out, translate(err, "provider events")
}
