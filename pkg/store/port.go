package store

import "context"

// Port is the store as a use-case package's storage port P sees it (P is an interface the
// package declares, consumer-side, listing the store methods it calls, with
// InTx(ctx, func(tx P) error) error): every method of the store, with InTx handing fn the
// transaction's store as a P too. Wiring builds one with PortOf.
type Port[P any] struct{ *Store }

// InTx runs fn in one database transaction (or in the caller's, inside one), fn's store
// acting in it.
func (p Port[P]) InTx(ctx context.Context, fn func(tx P) error) error {
	return p.Store.InTx(ctx, func(tx *Store) error { return fn(any(Port[P]{tx}).(P)) })
}

// PortOf returns s as the port P. It panics when the store does not implement P: wiring
// asserts that at compile time (var _ P = store.Port[P]{}).
func PortOf[P any](s *Store) P { return any(Port[P]{s}).(P) }

// Rebind returns the store behind port p (a Port[P], as PortOf or InTx hand it out) as the
// port Q, in the same transaction if p acts in one: a use case that drives another capability
// inside its own transaction hands it its store this way (wiring passes Rebind to it).
func Rebind[Q, P any](p P) Q { return PortOf[Q](StoreOf(p)) }

// StoreOf returns the store behind port p (a Port[P]), in p's transaction if it acts in one:
// for the adapters that serve a capability's port with more than the store's own methods
// (receiptstore, dudastore), when an outbox hook hands them the dispatcher's transaction.
func StoreOf[P any](p P) *Store { return any(p).(Port[P]).Store }
