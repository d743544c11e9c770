package ipn_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/app"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/secrets"
	"paygate.dev/pkg/store"
)

// The child process is a main backend's delivery side, configured through the environment.
const (
	childEnv    = "PAYGATE_IPN_KILL_CHILD"
	childDBURL  = "PAYGATE_IPN_KILL_DATABASE_URL"
	childSQLite = "PAYGATE_IPN_KILL_SQLITE_PATH"
	childKey    = "PAYGATE_IPN_KILL_MASTER_KEY"
)

// runChild runs a dispatcher, the ipn queue and the sweep, as a main backend does, until the
// test kills it.
func runChild() int {
	ctx := context.Background()
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "child:", err); return 3 }
	s, err := store.Open(ctx, store.Config{URL: os.Getenv(childDBURL), SQLitePath: os.Getenv(childSQLite), Logger: logging.Discard()})
	if err != nil {
		return fail(err)
	}
	mk, err := hex.DecodeString(os.Getenv(childKey))
	if err != nil {
		return fail(err)
	}
	keys, err := secrets.NewKeyring(mk, nil)
	if err != nil {
		return fail(err)
	}
	log := logging.New("child", -4, os.Stderr)
	svc := app.NewServices(app.ServiceDeps{Store: s, Keys: keys, Log: log,
		Hosts: config.Hosts{AdminBackendDomain: "api.example.com", MainBackendDomain: "webhook.example.com", MainFrontendDomain: "secure.example.com", Scheme: "https"}})
	n := ipn.New(ipn.Options{Store: store.PortOf[ipn.Store](s), Secrets: svc.Tenancy, Log: log, AllowPrivate: true})
	ws := river.NewWorkers()
	n.RegisterWorkers(ws)
	q, err := queue.New(ctx, queue.Config{Store: s, ID: "killed-backend", Log: log, Queues: map[string]int{queue.IPN: 4}, Workers: ws, Test: true})
	if err != nil {
		return fail(err)
	}
	if err := q.Start(ctx); err != nil {
		return fail(err)
	}
	d := ipn.NewDispatcher(ipn.DispatcherOptions{Store: store.PortOf[ipn.Store](s), Log: log, PollInterval: 50 * time.Millisecond})
	d.Register("ipn", n.DispatchEvent)
	go func() { _ = d.Run(ctx) }()
	go n.RunSweeper(ctx, ipn.SweepInterval)
	select {} // until SIGKILL
}

// A main backend is killed (SIGKILL) while a notification is in flight: another main backend
// sends it again within 15 s, with the same deliveryId (the merchant drops the duplicate by
// it). Two processes on one database, on PostgreSQL and on the SQLite file.
func TestKill9MidDeliveryIsRetriedWithinFifteenSeconds(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, envOptions{noBackend: true, realClock: true})
		shop := newMerchant(t, e.secret, e.clock.Now, true)
		arrived, _ := shop.holdNext() // the merchant is slow: the request is in flight when the process dies
		txn := e.transaction(shop.URL())

		env := append(os.Environ(), childEnv+"=1", childKey+"="+hex.EncodeToString(e.masterKey))
		if d == store.Postgres {
			url, err := e.s.URL()
			require.NoError(t, err)
			env = append(env, childDBURL+"="+url)
		} else {
			files, err := e.s.SQLiteFiles(ctx)
			require.NoError(t, err)
			env = append(env, childSQLite+"="+files[0])
		}
		logPath := filepath.Join(t.TempDir(), "child.log")
		out, err := os.Create(logPath)
		require.NoError(t, err)
		defer out.Close()
		child := exec.Command(os.Args[0], "-test.run=^$")
		child.Env, child.Stdout, child.Stderr = env, out, out
		require.NoError(t, child.Start())
		exited := make(chan struct{})
		go func() { _ = child.Wait(); close(exited) }()
		t.Cleanup(func() { _ = child.Process.Kill(); <-exited })
		childLog := func() string { b, _ := os.ReadFile(logPath); return string(b) }

		select {
		case <-arrived:
		case <-exited:
			t.Fatalf("the child exited: %s", childLog())
		case <-time.After(60 * time.Second):
			t.Fatalf("the notification never arrived: %s", childLog())
		}
		// The other replica is running too.
		e.backend = e.newBackend("survivor", 4)
		run, stop := context.WithCancel(ctx)
		defer stop()
		go e.n.RunSweeper(run, ipn.SweepInterval)

		require.NoError(t, child.Process.Signal(syscall.SIGKILL))
		killed := time.Now()
		<-exited

		var recovered time.Duration
		require.Eventually(t, func() bool {
			requests, _, _ := shop.snapshot()
			if len(requests) < 2 || requests[len(requests)-1].Code != 200 {
				return false
			}
			recovered = time.Since(killed)
			return true
		}, 30*time.Second, 10*time.Millisecond, "the notification is sent again")
		t.Logf("%s: the notification was sent again %s after kill -9", d, recovered.Round(10*time.Millisecond))
		require.Less(t, recovered, 15*time.Second, "recovered within 15 s")

		requests, applied, problems := shop.snapshot()
		require.Empty(t, problems)
		require.Len(t, requests, 2)
		require.Equal(t, "sender went away", requests[0].Reject, "the killed process's request died with it")
		first, again := requests[0].field("deliveryId"), requests[1].field("deliveryId")
		require.NotEmpty(t, first)
		require.Equal(t, first, again, "the same deliveryId")
		require.Equal(t, first, requests[1].Header.Get("X-IPN-Delivery-ID"))
		require.Len(t, applied, 1)
		var as []ipn.Attempt
		require.Eventually(t, func() bool { // the answer is recorded just after the merchant gave it
			as = e.attempts(txn)
			return len(as) == 2 && as[1].FinishedAt != nil
		}, 10*time.Second, 10*time.Millisecond)
		require.Equal(t, domain.IPNAttemptInterrupted, as[0].Error, "the killed attempt is visible as interrupted")
		require.True(t, as[1].Success)
		require.False(t, strings.Contains(childLog(), "panic"), childLog())
	})
}
