// Package dudastore is where pkg/store meets the ports of the Duda use cases (package
// integration/duda): the store's own methods serve them as they are, and this adapter adds the
// two that need the store's transaction handed on (the session lock, the outbox hook) and the
// job queue.
package dudastore

import (
	"context"

	"github.com/riverqueue/river"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/integration/duda"
	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/store"
)

// Store implements duda.Store over a *store.Store (or one of its transactions).
type Store struct{ *store.Store }

var _ duda.Store = Store{}

// New adapts s to the Duda use cases' port.
func New(s *store.Store) Store { return Store{s} }

// WithSessionLocked implements duda.Store with store.WithDudaSessionLocked.
func (s Store) WithSessionLocked(ctx context.Context, checkoutID string, fn func(tx duda.Store, sess *domain.DudaSession) error) error {
	return s.WithDudaSessionLocked(ctx, checkoutID, func(tx *store.Store, sess *domain.DudaSession) error {
		return fn(Store{tx}, sess)
	})
}

// InsertJob implements duda.Store: the job is queued in the store's transaction, if any.
func (s Store) InsertJob(ctx context.Context, args river.JobArgs) error {
	_, err := queue.Insert(ctx, s.Store, args, nil)
	return err
}

// Hook is the integration's outbox hook as the dispatcher calls it, in the dispatcher's
// transaction (tx, an ipn.Store port, rebound to the Duda use cases' port).
func Hook(uc *duda.Service) ipn.Hook {
	return func(ctx context.Context, tx ipn.Store, e domain.Event) error {
		return uc.Hook(ctx, Store{store.StoreOf(tx)}, e)
	}
}
