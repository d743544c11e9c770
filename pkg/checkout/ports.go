package checkout

import (
	"context"
	"time"

	"paygate.dev/pkg/domain"
)

// Store is the storage the checkout use cases need (pkg/store implements it; wiring hands it
// over as store.PortOf[checkout.Store]). The Store InTx hands fn acts in that transaction.
type Store interface {
	InTx(ctx context.Context, fn func(tx Store) error) error

	Audit(ctx context.Context, actor domain.Actor, action, targetType, targetID string, details map[string]any) error
	CreateCheckoutAnswered(ctx context.Context, c *domain.Checkout, claim *domain.IdempotencyClaim) error
	EndCheckout(ctx context.Context, orgID, id string, to domain.CheckoutStatus) (*domain.Checkout, error)
	GetCheckout(ctx context.Context, orgID, id string) (*domain.Checkout, error)
	GetSiteWithProviderTypes(ctx context.Context, orgID, siteID string, mode domain.Mode) (*domain.Site, []domain.ProviderType, error)
	ListCheckoutEvents(ctx context.Context, orgID, checkoutID string) ([]domain.Event, error)
	ListCheckoutTransactions(ctx context.Context, orgID, checkoutID string) ([]domain.Transaction, error)
	ListCheckouts(ctx context.Context, f domain.CheckoutFilter) ([]domain.Checkout, error)
	ListSiteProviders(ctx context.Context, orgID, siteID string) ([]domain.Provider, error)
	UpdateCheckoutMetadata(ctx context.Context, orgID, id string, metadata map[string]any, expiresAt *time.Time) (*domain.Checkout, error)
}

// Clients is what checkout creation asks of the client capability (pkg/client implements it):
// screen a checkout before anything is written (its client, the holds and disputes that refuse
// or narrow it), and record its buyer's client in the checkout's transaction.
type Clients interface {
	ScreenCheckout(ctx context.Context, orgID string, mode domain.Mode, clientID, email string) (*domain.CheckoutScreen, error)
	RecordCheckout(ctx context.Context, c *domain.Checkout) (string, error)
}
