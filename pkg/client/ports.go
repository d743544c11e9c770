package client

import (
	"context"

	"paygate.dev/pkg/domain"
)

// Store is the storage the client use cases need (pkg/store implements it; wiring hands it
// over as store.PortOf[client.Store]). The Store InTx hands fn acts in that transaction.
type Store interface {
	InTx(ctx context.Context, fn func(tx Store) error) error

	Audit(ctx context.Context, actor domain.Actor, action, targetType, targetID string, details map[string]any) error
	ListAudit(ctx context.Context, f domain.AuditFilter) ([]domain.AuditEntry, error)
	GetOrganization(ctx context.Context, id string) (*domain.Organization, error)
	GetProvider(ctx context.Context, orgID, id string) (*domain.Provider, error)

	CreateClient(ctx context.Context, c *domain.Client) error
	UpdateClient(ctx context.Context, c *domain.Client) error
	GetClient(ctx context.Context, orgID, id string) (*domain.Client, error)
	FindClientByEmail(ctx context.Context, orgID string, mode domain.Mode, email string) (*domain.Client, error)
	ScreenClients(ctx context.Context, orgID string, mode domain.Mode, clientID, email string) (*domain.ScreenRead, error)
	DeleteClient(ctx context.Context, orgID, id string) error
	ListClients(ctx context.Context, f domain.ClientFilter) ([]domain.Client, error)
	UpsertCheckoutClient(ctx context.Context, c *domain.Client) (string, error)
	MergeCheckoutClient(ctx context.Context, c *domain.Client) error
	ClientHasTransactions(ctx context.Context, orgID, id string) (bool, error)
	ClientsHaveOpenDispute(ctx context.Context, orgID string, clientIDs []string) (bool, error)
	ClientValues(ctx context.Context, orgID, id string) ([]domain.ClientValue, error)
	ListClientTransactions(ctx context.Context, orgID, id string, limit int) ([]domain.Transaction, error)

	CreateClientHold(ctx context.Context, h *domain.ClientHold) error
	UpdateClientHold(ctx context.Context, h *domain.ClientHold) error
	GetClientHold(ctx context.Context, orgID, clientID, id string) (*domain.ClientHold, error)
	ActiveClientHold(ctx context.Context, orgID, clientID string) (*domain.ClientHold, error)
	ListClientHolds(ctx context.Context, orgID, clientID string) ([]domain.ClientHold, error)
}
