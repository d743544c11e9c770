package tenancy

import (
	"context"

	"paygate.dev/pkg/domain"
)

// SessionUser is the user a verified session names (NOT_FOUND once the user is gone).
func (s *Service) SessionUser(ctx context.Context, userID string) (*domain.User, error) {
	return s.store.GetUser(ctx, userID)
}

// UserOrganizations lists the organisations a user belongs to, by name, with the user's role.
func (s *Service) UserOrganizations(ctx context.Context, userID string) ([]domain.UserOrganization, error) {
	return s.store.ListUserOrganizations(ctx, userID)
}
