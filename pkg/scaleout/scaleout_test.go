package scaleout

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/app"
	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/secrets"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// Checkouts is how many checkouts the scale-out test pays (three notifications each).
const checkouts = 300

// recoveryBound is how soon a notification in flight when its main backend was killed must be
// sent again (issue 15: within 15 s).
const recoveryBound = 15 * time.Second

// TestTwoReplicasOfEachBackendLoseNoNotification runs the platform as an operator scales it out:
// two admin backends and two main backends, separate processes built from the real binaries, on
// one PostgreSQL. 300 checkouts are created (through both admin backends), started on the
// runtime API (both main backends) and marked paid (both admin backends): 900 notifications to a
// merchant that verifies every signature and takes 150 ms per answer. When a third of them have
// arrived, one main backend is killed with SIGKILL in the middle of its deliveries. Every
// notification must still arrive (at least once, by deliveryId), in order per transaction, and
// each one the killed process had in flight must be sent again within 15 s with the same
// deliveryId.
func TestTwoReplicasOfEachBackendLoseNoNotification(t *testing.T) {
	if testing.Short() && !storetest.InCI() {
		t.Skip("builds and runs four service processes (never skipped under CI=true)")
	}
	dbURL := storetest.FreshURL(t, store.Postgres)
	bins := buildServices(t)
	masterKey := secrets.GenerateKey()
	dataDir := t.TempDir()
	env := func(extra ...string) []string {
		return append([]string{
			"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
			"APP_ENV=development", "SEED_DEMO=false", "LOG_LEVEL=info", "DATA_DIR=" + dataDir,
			"DATABASE_URL=" + dbURL, "MASTER_KEY=" + masterKey, "IPN_ALLOW_PRIVATE_TARGETS=true",
			"API_RATE_LIMIT=100000", "RUNTIME_RATE_LIMIT=100000", "WORKER_CONCURRENCY=8", "SHUTDOWN_TIMEOUT=5s",
		}, extra...)
	}

	// Migrations first, as `make migrate` or the compose migrate service runs them.
	out, err := run(bins["admin-backend"], env(), "migrate")
	require.NoError(t, err, "migrate: %s", out)

	// The tenant, created through the platform's own use cases on the same database and key.
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{URL: dbURL, Pool: store.Pool{MaxConns: 4}, Logger: logging.Discard()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	mk, err := secrets.ParseKey(masterKey)
	require.NoError(t, err)
	setup, err := app.AdminBackendOn(config.AdminBackend{Common: config.Common{AppEnv: config.AppDevelopment, MasterKey: mk,
		Hosts: config.Hosts{Scheme: "http", AdminBackendDomain: "localhost:8080", MainBackendDomain: "localhost:8081", MainFrontendDomain: "localhost:8082"}},
		JWTSigningKey: secrets.Derive(mk, "scaleout-jwt"), SessionTTL: time.Minute, IdempotencyTTL: 48 * time.Hour, RateLimit: 1000,
		IPNAllowPrivateTargets: true, Mail: config.Mail{Disabled: true}}, logging.Discard(), s)
	require.NoError(t, err)
	tn := apptest.CreateTenant(t, setup.Services.Tenancy, s)

	m := newMerchant(t, tn.SiteHook, 150*time.Millisecond)

	var admins, mains []*proc
	for i := range 2 {
		admins = append(admins, startProc(t, bins["admin-backend"], fmt.Sprintf("admin-%d", i+1), env, "ADMIN_BACKEND_PORT"))
		mains = append(mains, startProc(t, bins["main-backend"], fmt.Sprintf("main-%d", i+1), env, "MAIN_BACKEND_PORT"))
	}

	// 300 paid checkouts, spread over both replicas of each backend, eight at a time.
	txns := make([]string, checkouts)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, checkouts)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= checkouts {
					return
				}
				// A load balancer in front of the main backends: the first that answers.
				id, err := payOne(admins[i%2].url, []string{mains[(i/2)%2].url, mains[(i/2+1)%2].url}, tn, m.url, i)
				if err != nil {
					errs <- err
					return
				}
				txns[i] = id
			}
		}()
	}

	// Kill one main backend with SIGKILL once a third of the notifications arrived, while it is
	// in the middle of deliveries (the merchant takes 150 ms per answer).
	victim := mains[0]
	require.Eventually(t, func() bool { return m.distinct() >= checkouts }, 3*time.Minute, 10*time.Millisecond,
		"a third of the notifications arrive (%d so far)", m.distinct())
	killedAt := time.Now()
	require.NoError(t, victim.cmd.Process.Kill())
	<-victim.done
	t.Logf("killed %s at %d notifications", victim.name, m.distinct())

	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	// Every notification arrives: the merchant has each delivery the database holds.
	want := 3 * checkouts
	require.Eventually(t, func() bool { return m.distinct() >= want }, 2*time.Minute, 50*time.Millisecond,
		"every notification arrives (%d of %d)", m.distinct(), want)

	deliveries := map[string][]int{} // transaction -> event versions the platform created
	for _, id := range txns {
		ds, err := s.ListIPNDeliveries(ctx, tn.Org.ID, id)
		require.NoError(t, err)
		for _, d := range ds {
			deliveries[id] = append(deliveries[id], d.EventVersion)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	require.Zero(t, m.rejected, "every signature verifies")
	if len(m.outOfOrder) > 0 {
		for id := range deliveries {
			if !strings.Contains(strings.Join(m.outOfOrder, " "), id) {
				continue
			}
			ds, _ := s.ListIPNDeliveries(ctx, tn.Org.ID, id)
			for _, d := range ds {
				t.Logf("%s delivery %s v%d %s attempts=%d created=%s", id, d.ID, d.EventVersion, d.Status, d.Attempts, d.CreatedAt.Format(time.RFC3339Nano))
			}
			as, _ := s.ListIPNAttempts(ctx, tn.Org.ID, id)
			for _, a := range as {
				t.Logf("%s attempt %s #%d %s started=%s finished=%v status=%v error=%q", id, a.DeliveryID, a.Attempt, a.TriggerKind,
					a.StartedAt.Format(time.RFC3339Nano), a.FinishedAt, a.StatusCode, a.Error)
			}
			evs, _ := s.ListTransactionEvents(ctx, tn.Org.ID, id)
			for _, e := range evs {
				t.Logf("%s event v%d %s created=%s", id, e.Version, e.Type, e.CreatedAt.Format(time.RFC3339Nano))
			}
		}
	}
	require.Empty(t, m.outOfOrder, "per transaction, notifications arrive in event order")
	total := 0
	for id, versions := range deliveries {
		sort.Ints(versions)
		require.Equal(t, versions, m.firstSeen[id], "transaction %s: each notification arrives, once first, in order", id)
		total += len(versions)
	}
	require.Equal(t, want, total, "three notifications per paid checkout")

	// The deliveries the killed process had in flight were sent again, soon, with the same id.
	require.NotEmpty(t, m.interrupted, "the kill interrupted deliveries in flight (otherwise it proved nothing)")
	worst := time.Duration(0)
	for id, at := range m.interrupted {
		again, ok := m.acceptedAt[id]
		require.True(t, ok, "interrupted delivery %s is delivered again", id)
		if at.Before(killedAt) {
			at = killedAt
		}
		wait := again.Sub(at)
		worst = max(worst, wait)
		require.LessOrEqual(t, wait, recoveryBound, "delivery %s was retried %s after the kill", id, wait)
	}
	t.Logf("%d notifications (%d repeats of an accepted deliveryId); %d in flight at the kill, all re-sent within %s (bound %s)",
		len(m.acceptedAt), m.repeats, len(m.interrupted), worst.Round(10*time.Millisecond), recoveryBound)
	for _, p := range append(admins, mains[1]) {
		require.False(t, p.exited(), "%s is still running", p.name)
	}
}

// payOne creates checkout i on adminURL, starts its bank-transfer transaction on the runtime
// API of the first of mainURLs that answers (one may have been killed) and marks it paid: three
// notifications (pending, processing, paid).
func payOne(adminURL string, mainURLs []string, tn *apptest.Tenant, ipnURL string, i int) (string, error) {
	co, err := call(http.MethodPost, adminURL+"/v1/checkouts/"+tn.Site.ID+"/create", tn.TestKey, map[string]any{
		"amount": 1000 + i, "currency": "EUR", "externalReference": fmt.Sprintf("scale-%d", i), "ipnUrl": ipnURL})
	if err != nil {
		return "", fmt.Errorf("create checkout %d: %w", i, err)
	}
	var tx map[string]any
	for _, mainURL := range mainURLs {
		tx, err = call(http.MethodPost, mainURL+"/api/v1/transactions/create", "", map[string]any{
			"sessionPublicId": co["sessionPublicId"], "providerId": tn.Provider.ID, "billingAddress": map[string]any{"country": "DE"}})
		var status *statusError
		if err == nil || errors.As(err, &status) {
			break // answered (a refusal is an answer, not a dead replica)
		}
	}
	if err != nil {
		return "", fmt.Errorf("start transaction %d: %w", i, err)
	}
	id, _ := tx["transactionId"].(string)
	if _, err := call(http.MethodPost, adminURL+"/api/v1/transactions/"+id+"/mark-paid", tn.TestKey, nil); err != nil {
		return "", fmt.Errorf("mark %s paid: %w", id, err)
	}
	return id, nil
}

// client is the shop's and the test's HTTP client; no call may hang the test.
var client = &http.Client{Timeout: 30 * time.Second}

func call(method, url, token string, body any) (map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusCreated {
		return nil, &statusError{fmt.Sprintf("%s %s: %d %s", method, url, res.StatusCode, raw)}
	}
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// statusError is an answer other than 200/201.
type statusError struct{ msg string }

func (e *statusError) Error() string { return e.msg }

// merchant verifies notifications as the WooCommerce plugin does (HMAC over "<ts>.<body>",
// timestamp within 300 s), takes delay per answer, and records, per transaction, the order in
// which delivery ids were first accepted. A request whose sender dies before the answer is
// noted as interrupted.
type merchant struct {
	url, secret string
	delay       time.Duration

	mu          sync.Mutex
	rejected    int
	repeats     int
	acceptedAt  map[string]time.Time // deliveryId -> first acceptance
	firstSeen   map[string][]int     // transaction -> event versions in order of first acceptance
	outOfOrder  []string
	interrupted map[string]time.Time // deliveryId -> when its sender went away mid-request
}

func newMerchant(t *testing.T, secret string, delay time.Duration) *merchant {
	m := &merchant{secret: secret, delay: delay, acceptedAt: map[string]time.Time{}, firstSeen: map[string][]int{},
		interrupted: map[string]time.Time{}}
	srv := httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(srv.Close)
	m.url = srv.URL + "/?wc-api=payment_gateway_app"
	return m
}

func (m *merchant) distinct() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.acceptedAt)
}

func (m *merchant) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts := r.Header.Get("X-Signature-Timestamp")
	mac := hmac.New(sha256.New, []byte(m.secret))
	mac.Write([]byte(ts + "." + string(body)))
	n, err := strconv.ParseInt(ts, 10, 64)
	now := time.Now().Unix()
	var p struct {
		DeliveryID   string `json:"deliveryId"`
		ID           string `json:"id"`
		EventVersion int    `json:"eventVersion"`
	}
	if err != nil || n < now-300 || n > now+300 || !hmac.Equal([]byte(r.Header.Get("X-Signature-HMAC-SHA256")), []byte(hex.EncodeToString(mac.Sum(nil)))) ||
		json.Unmarshal(body, &p) != nil || p.DeliveryID == "" {
		m.mu.Lock()
		m.rejected++
		m.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	select {
	case <-time.After(m.delay):
	case <-r.Context().Done(): // the sender went away (killed) before the answer
		m.mu.Lock()
		if _, ok := m.interrupted[p.DeliveryID]; !ok {
			m.interrupted[p.DeliveryID] = time.Now()
		}
		m.mu.Unlock()
		panic(http.ErrAbortHandler) // no answer at all: returning would answer 200 to a sender still there
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, seen := m.acceptedAt[p.DeliveryID]; seen {
		m.repeats++ // at least once: a repeat is acknowledged and changes nothing
		w.WriteHeader(http.StatusOK)
		return
	}
	if seen := m.firstSeen[p.ID]; len(seen) > 0 && seen[len(seen)-1] >= p.EventVersion {
		m.outOfOrder = append(m.outOfOrder, fmt.Sprintf("%s: version %d (%s) after %v at %s", p.ID, p.EventVersion, p.DeliveryID, seen, time.Now().Format(time.RFC3339Nano)))
	}
	m.acceptedAt[p.DeliveryID] = time.Now()
	m.firstSeen[p.ID] = append(m.firstSeen[p.ID], p.EventVersion)
	w.WriteHeader(http.StatusOK)
}

// proc is one service process.
type proc struct {
	name string
	cmd  *exec.Cmd
	url  string
	log  *syncBuffer
	done chan struct{}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) tail(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	lines := strings.Split(strings.TrimRight(s.b.String(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// startProc starts a service binary on a free port and waits until it answers /health.
func startProc(t *testing.T, bin, name string, env func(...string) []string, portVar string) *proc {
	t.Helper()
	port := freePort(t)
	p := &proc{name: name, url: "http://127.0.0.1:" + strconv.Itoa(port), log: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin)
	p.cmd.Env = env(portVar + "=" + strconv.Itoa(port))
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	require.NoError(t, p.cmd.Start(), name)
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		if !p.exited() {
			_ = p.cmd.Process.Signal(os.Interrupt)
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			t.Logf("%s log (last 40 lines):\n%s", p.name, p.log.tail(40))
		}
	})
	require.Eventually(t, func() bool {
		if p.exited() {
			return true
		}
		res, err := http.Get(p.url + "/health")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}, 60*time.Second, 50*time.Millisecond, "%s starts", name)
	require.False(t, p.exited(), "%s exited at start:\n%s", name, p.log.tail(40))
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// buildServices builds the admin and main backend binaries from this workspace.
func buildServices(t *testing.T) map[string]string {
	t.Helper()
	root := workspaceRoot(t)
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "paygate.dev/services/admin-backend", "paygate.dev/services/main-backend")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return map[string]string{"admin-backend": filepath.Join(dir, "admin-backend"), "main-backend": filepath.Join(dir, "main-backend")}
}

func workspaceRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "go.work not found above the test's directory")
		dir = parent
	}
}

// run runs a service binary's subcommand to completion.
func run(bin string, env []string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return lastLines(out.String(), 20), err
}

func lastLines(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
