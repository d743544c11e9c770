package dudaconn

import (
	"context"
	"time"

	"paygate.dev/pkg/domain"
)

// Store is the storage the Duda connections need (pkg/store implements it; wiring hands it over
// as store.PortOf[dudaconn.Store]). The Store InTx hands fn acts in that transaction.
type Store interface {
	InTx(ctx context.Context, fn func(tx Store) error) error
	Audit(ctx context.Context, actor domain.Actor, action, targetType, targetID string, details map[string]any) error

	CreateDudaConnection(ctx context.Context, c *domain.DudaConnection) error
	CreateDudaSession(ctx context.Context, d *domain.DudaSession) error
	DeleteDudaConnection(ctx context.Context, orgID, id string) error
	GetDudaConnection(ctx context.Context, orgID, id string) (*domain.DudaConnection, error)
	GetSite(ctx context.Context, orgID, id string) (*domain.Site, error)
	ListDudaConnections(ctx context.Context, orgID string) ([]domain.DudaConnection, error)
	ListDudaSites(ctx context.Context, orgID, connectionID string) ([]domain.DudaSite, error)
	MarkDudaSiteUninstalled(ctx context.Context, id string) error
	SetDudaSiteGateway(ctx context.Context, id, gatewayID string) error
	SetDudaSiteTokens(ctx context.Context, id, sealed string, expiresAt *time.Time) error
	UpdateDudaConnection(ctx context.Context, c *domain.DudaConnection) error
	UpsertDudaSite(ctx context.Context, site *domain.DudaSite) error
}
