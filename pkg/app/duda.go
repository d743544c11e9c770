package app

import (
	"github.com/labstack/echo/v4"
	"github.com/riverqueue/river"

	"paygate.dev/pkg/dudaapp"
	"paygate.dev/pkg/integration/duda"
	"paygate.dev/pkg/integration/duda/dudastore"
	"paygate.dev/pkg/queue"
)

// registerDuda wires Duda stores in: the use cases (package integration/duda) over the store, the
// Duda connections and the payments, the gateway app's endpoints (dudaapp), the outbox hook that queues
// confirmations back to Duda, and its jobs.
func registerDuda(e *echo.Echo, b *MainBackend) {
	uc := duda.New(duda.Options{Store: dudastore.New(b.Store), Connections: b.Services.DudaConn, Payments: b.Services.Payment, Log: b.Log, APIOrigins: b.Config.DudaAPIOrigins})
	dudaapp.New(dudaapp.Options{Duda: uc, Log: b.Log, Metrics: b.Metrics, RateLimit: b.Config.RateLimit, Limits: b.Limits}).Register(e)
	b.eventHooks["duda"] = dudastore.Hook(uc)
	b.registrations = append(b.registrations, func(ws *river.Workers, _ *queue.Periodic) { uc.RegisterWorkers(ws) })
}
