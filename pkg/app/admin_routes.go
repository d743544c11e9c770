package app

import (
	"context"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/adminapi"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/export"
	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/panel"
	"paygate.dev/pkg/receipt/receiptstore"
	"paygate.dev/pkg/reporting"
	"paygate.dev/pkg/store"
)

// registerAdminRoutes mounts the Admin API (and, beside it, the Admin Panel).
func registerAdminRoutes(e *echo.Echo, a *AdminBackend, extra ...adminapi.Route) {
	// The admin backend lists and re-queues notifications; the main backend's workers send them
	// (and River's leader among them exports the backlog gauges).
	a.Notifier = ipn.New(ipn.Options{Store: a.Store, Secrets: a.Services.Tenancy, Log: a.Log, Metrics: a.Metrics,
		ExportGauges: func(context.Context) bool { return false }})
	extra = append(extra, adminapi.IPNRoutes(a.Notifier)...)
	extra = append(extra, adminapi.DudaRoutes()...)
	exports := export.New(a.Store, 0)
	extra = append(extra, adminapi.ExportRoutes(exports)...)
	extra = append(extra, adminapi.InvoiceRoutes()...)
	extra = append(extra, adminapi.CreditNoteRoutes()...)
	a.API = adminapi.New(adminapi.Deps{
		Services: a.apiServices(a.Store, a.Services), InTx: a.apiInTx, Modes: a.Store, KeyAuth: a.KeyAuth, Sessions: a.Sessions, Log: a.Log,
		RateLimit: a.Config.RateLimit, Limits: a.Limits, IdempotencyTTL: a.Config.IdempotencyTTL, IdempotencyLease: a.Config.IdempotencyLease, Extra: extra,
	})
	a.API.Register(e)
	registerPanel(e, a, panelNotifications{a.Notifier}, exports)
}

// apiServices are what the Admin API's handlers call, on st (the store, or a transaction's).
func (a *AdminBackend) apiServices(st *store.Store, svc Services) adminapi.Services {
	s := adminapi.Services{Tenancy: svc.Tenancy, Checkout: svc.Checkout, Payment: svc.Payment, DudaConn: svc.DudaConn, Client: svc.Client, Invoice: svc.Invoice,
		Keys: store.IdempotencyKeys{S: st}}
	if a.Receipts != nil {
		s.Receipts = a.Receipts.With(receiptstore.New(st))
	}
	return s
}

// apiInTx runs fn with the Admin API's services bound to one transaction of the store: a Local
// route's writes, through whichever capabilities, and its Idempotency-Key answer commit
// together.
func (a *AdminBackend) apiInTx(ctx context.Context, fn func(adminapi.Services) error) error {
	return a.Store.InTx(ctx, func(tx *store.Store) error { return fn(a.apiServices(tx, a.Services.WithStore(tx))) })
}

// registerPanel mounts the Admin Panel at the root of the admin backend, beside the API.
// notifications lists and resends IPN attempts on transaction pages (nil: none shown).
// exports runs the panel's CSV exports.
func registerPanel(e *echo.Echo, a *AdminBackend, notifications panel.Notifications, exports *export.Service) {
	p, err := panel.New(panel.Deps{
		Tenancy: a.Services.Tenancy, Checkout: a.Services.Checkout, Payment: a.Services.Payment, DudaConn: a.Services.DudaConn, Client: a.Services.Client,
		Reporting: reporting.New(a.Store, nil), Sessions: a.Sessions, SigningKey: a.Config.JWTSigningKey,
		Hosts: a.Config.Hosts, Log: a.Log, Dev: a.Config.Dev(), Notifications: notifications, Limits: a.Limits, Documents: a.Services.Invoice,
		ProviderKinds: a.Services.Payment.Providers().Kinds(),
		Exports:       exports,
		Receipts:      a.Receipts,
	})
	if err != nil {
		// The templates and assets are embedded in the binary: this is a build defect.
		panic(err)
	}
	p.Register(e)
}

// panelNotifications shows the IPN package's attempts and resends on the panel's transaction
// pages (the Notifier authorises the actor itself).
type panelNotifications struct{ n *ipn.Notifier }

func (p panelNotifications) ListAttempts(ctx context.Context, actor domain.Actor, orgID, txnID string) ([]panel.NotificationAttempt, error) {
	attempts, err := p.n.ListAttempts(ctx, actor, orgID, txnID)
	if err != nil {
		return nil, err
	}
	out := make([]panel.NotificationAttempt, len(attempts))
	for i, a := range attempts {
		out[i] = panel.NotificationAttempt{DeliveryID: a.DeliveryID, Attempt: a.Attempt, Trigger: a.Trigger, URL: a.URL,
			EventVersion: a.EventVersion, StartedAt: a.StartedAt, StatusCode: a.StatusCode, LatencyMS: a.LatencyMS, Error: a.Error,
			Success: a.Success, RequestBody: a.RequestBody, ResponseExcerpt: a.ResponseExcerpt}
	}
	return out, nil
}

func (p panelNotifications) ListDeliveries(ctx context.Context, actor domain.Actor, orgID, txnID string) ([]panel.NotificationDelivery, error) {
	ds, err := p.n.ListDeliveries(ctx, actor, orgID, txnID)
	if err != nil {
		return nil, err
	}
	out := make([]panel.NotificationDelivery, len(ds))
	for i, d := range ds {
		out[i] = panel.NotificationDelivery{ID: d.ID, EventVersion: d.EventVersion, EventType: d.EventType, Status: d.Status,
			Attempts: d.Attempts, NextAttemptAt: d.NextAttemptAt, LastError: d.LastError}
	}
	return out, nil
}

func (p panelNotifications) Resend(ctx context.Context, actor domain.Actor, orgID, txnID string) error {
	_, err := p.n.Resend(ctx, actor, orgID, txnID)
	return err
}
