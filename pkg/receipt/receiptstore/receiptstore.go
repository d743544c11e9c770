// Package receiptstore is where pkg/store meets the receipt use cases' port (package receipt):
// the store's own methods serve it as they are; this adapter adds the transaction, the job
// queue and the outbox hook, which hand the store's transaction on (the hook gets the
// dispatcher's as an ipn.Store and serves the receipts' port from the store behind it).
package receiptstore

import (
	"context"

	"github.com/riverqueue/river"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/receipt"
	"paygate.dev/pkg/store"
)

// Store implements receipt.Store over a *store.Store (or one of its transactions).
type Store struct{ *store.Store }

var _ receipt.Store = Store{}

// New adapts s to the receipt use cases' port.
func New(s *store.Store) Store { return Store{s} }

// InTx implements receipt.Store with store.InTx.
func (s Store) InTx(ctx context.Context, fn func(tx receipt.Store) error) error {
	return s.Store.InTx(ctx, func(tx *store.Store) error { return fn(Store{tx}) })
}

// InsertJob implements receipt.Store: the job is queued in the store's transaction, if any.
func (s Store) InsertJob(ctx context.Context, args river.JobArgs) error {
	_, err := queue.Insert(ctx, s.Store, args, nil)
	return err
}

// Hook is the receipts' outbox consumer as the dispatcher calls it, in the dispatcher's
// transaction (tx, an ipn.Store port, rebound to the receipts' port).
func Hook(svc *receipt.Service) ipn.Hook {
	return func(ctx context.Context, tx ipn.Store, e domain.Event) error {
		return svc.Hook(ctx, Store{store.StoreOf(tx)}, e)
	}
}
