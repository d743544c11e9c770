package tenancy

import (
	"context"
	"time"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/queue"
)

// Store is the storage the tenancy use cases need (pkg/store implements it; wiring hands it
// over as store.PortOf[tenancy.Store]). The Store InTx hands fn acts in that transaction.
type Store interface {
	InTx(ctx context.Context, fn func(tx Store) error) error
	// Tx: jobs (the e-mail fallback) are queued on the transaction that makes them necessary.
	queue.Tx

	AddMembership(ctx context.Context, m *domain.Membership) error
	Audit(ctx context.Context, actor domain.Actor, action, targetType, targetID string, details map[string]any) error
	ConsumePasswordReset(ctx context.Context, tokenHash string) (string, error)
	CountAdmins(ctx context.Context, orgID string) (int64, error)
	CountOrganizations(ctx context.Context) (int64, error)
	CreateAPIKey(ctx context.Context, k *domain.APIKey) error
	CreateOrganization(ctx context.Context, o *domain.Organization) error
	CreatePasswordReset(ctx context.Context, userID, tokenHash string, expiresAt time.Time) error
	CreateProvider(ctx context.Context, p *domain.Provider) error
	CreateSite(ctx context.Context, site *domain.Site) error
	CreateUser(ctx context.Context, u *domain.User) error
	DeleteAPIKey(ctx context.Context, orgID, id string) error
	DeleteProvider(ctx context.Context, orgID, id string) error
	DeleteScheduledRiverJob(ctx context.Context, id int64) (bool, error)
	DeleteSite(ctx context.Context, orgID, id string) error
	EndSessions(ctx context.Context, userID string) error
	ExpireAPIKeyAt(ctx context.Context, orgID, id string, at time.Time) error
	GetMembership(ctx context.Context, orgID, userID string) (*domain.Membership, error)
	GetOrgAPIKey(ctx context.Context, orgID, id string) (*domain.APIKey, error)
	GetOrganization(ctx context.Context, id string) (*domain.Organization, error)
	GetProvider(ctx context.Context, orgID, id string) (*domain.Provider, error)
	GetSite(ctx context.Context, orgID, id string) (*domain.Site, error)
	GetUser(ctx context.Context, id string) (*domain.User, error)
	GetUserByEmail(ctx context.Context, email string) (*domain.User, error)
	ListAPIKeys(ctx context.Context, orgID string) ([]domain.APIKey, error)
	ListAudit(ctx context.Context, f domain.AuditFilter) ([]domain.AuditEntry, error)
	ListMembers(ctx context.Context, orgID string) ([]domain.Member, error)
	ListOrganizations(ctx context.Context) ([]domain.Organization, error)
	ListProviders(ctx context.Context, orgID string) ([]domain.Provider, error)
	ListSiteProviders(ctx context.Context, orgID, siteID string) ([]domain.Provider, error)
	ListSites(ctx context.Context, orgID string) ([]domain.Site, error)
	ListUserOrganizations(ctx context.Context, userID string) ([]domain.UserOrganization, error)
	LockForSetup(ctx context.Context, name string) error
	RecordLoginSuccess(ctx context.Context, userID string) error
	RemoveMembership(ctx context.Context, orgID, userID string) error
	ReserveLoginAttempt(ctx context.Context, userID string, now time.Time, lockFor func(failures int) time.Duration) (domain.LoginAttempt, error)
	RevokeAPIKey(ctx context.Context, orgID, id string) error
	SetMembershipRole(ctx context.Context, orgID, userID string, role domain.Role) error
	SetPassword(ctx context.Context, userID, hash string) error
	SetSiteProviders(ctx context.Context, orgID, siteID string, providerIDs []string, defaultID *string) error
	SetSiteWebhookSecret(ctx context.Context, orgID, siteID, sealed string) error
	UpdateOrganization(ctx context.Context, o *domain.Organization) error
	UpdateProvider(ctx context.Context, p *domain.Provider) error
	UpdateSite(ctx context.Context, site *domain.Site) error
}
