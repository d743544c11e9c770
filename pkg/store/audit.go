package store

import (
	"context"

	"paygate.dev/pkg/domain"
)

// Audit appends an audit entry for an actor's action. Call it in the transaction of the change.
func (s *Store) Audit(ctx context.Context, actor domain.Actor, action, targetType, targetID string, details map[string]any) error {
	var org *string
	if actor.OrganizationID != "" {
		o := actor.OrganizationID
		org = &o
	}
	if details == nil {
		details = map[string]any{}
	}
	e := domain.AuditEntry{
		ID: domain.NewID(domain.PrefixAudit), OrganizationID: org, ActorType: actor.Type, ActorID: actor.ID,
		ActorLabel: actor.Label, Action: action, TargetType: targetType, TargetID: targetID, Details: details,
		IP: actor.IP, RequestID: actor.RequestID, CreatedAt: Now(),
	}
	return translate(s.q(ctx).Create(&e).Error, "audit entry")
}

// AuditFilter is the domain's (the use cases and the HTTP layer speak it).
type AuditFilter = domain.AuditFilter

// ListAudit lists audit entries newest first, fetching Limit+1 rows.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]domain.AuditEntry, error) {
	q := s.q(ctx).Where("organization_id = ?", f.OrganizationID)
	if f.TargetID != "" {
		q = q.Where("target_id = ?", f.TargetID)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.From != nil {
		q = q.Where("created_at >= ?", UTC(*f.From))
	}
	if f.To != nil {
		q = q.Where("created_at < ?", UTC(*f.To))
	}
	if f.After != "" {
		q = q.Where("id < ?", f.After)
	}
	var out []domain.AuditEntry
	return out, translate(q.Order("id DESC").Limit(f.Limit+1).Find(&out).Error, "audit log")
}
