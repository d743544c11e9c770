package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"paygate.dev/pkg/app"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/secrets"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/tenancy"
)

// BenchmarkSQLiteTwoProcesses measures the embedded default as `make run` runs it: the real
// admin-backend and main-backend binaries, built from this tree, as two processes sharing one
// SQLite file (APP_ENV=development, no DATABASE_URL), the main backend's background work
// running. 16 clients create checkouts through the Admin API (POST /v1/checkouts/{siteId}/create
// with an Idempotency-Key and three items) until SQLITE_BENCH_REQUESTS (default 4000) have
// been answered, and it reports p50/p95/p99/max and the CPU each process used.
//
// It also reports the main backend's CPU while the platform is idle (its background polling)
// and, as a sub-benchmark, the same load with the main backend's workers off (WORKERS=false)
// to show what its background work costs the Admin API's latency. Extra variables for both
// services can be given in SQLITE_BENCH_ENV ("NAME=value NAME=value") to try settings.
//
//	go test -run '^$' -bench SQLiteTwoProcesses -benchtime 1x paygate.dev/pkg/bench
func BenchmarkSQLiteTwoProcesses(b *testing.B) {
	bin := buildServices(b)
	for _, tc := range []struct {
		name    string
		workers bool
	}{{"workers", true}, {"no-workers", false}} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				runSQLiteTwoProcesses(b, bin, tc.workers)
			}
		})
	}
}

func runSQLiteTwoProcesses(b *testing.B, bin string, workers bool) {
	requests := 4000
	if v := os.Getenv("SQLITE_BENCH_REQUESTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			b.Fatalf("SQLITE_BENCH_REQUESTS must be a number >= 100, got %q", v)
		}
		requests = n
	}
	dir := b.TempDir()
	adminPort, mainPort := freePort(b), freePort(b)
	env := append(os.Environ(),
		"APP_ENV=development", "IPN_ALLOW_PRIVATE_TARGETS=true", "DATA_DIR="+filepath.Join(dir, "var"), "DATABASE_URL=",
		"MASTER_KEY="+secrets.GenerateKey(), "SEED_DEMO=false", "LOG_LEVEL=info", "INTERNAL_LISTEN=",
		"ADMIN_BACKEND_PORT="+strconv.Itoa(adminPort), "MAIN_BACKEND_PORT="+strconv.Itoa(mainPort),
		"ADMIN_BACKEND_DOMAIN=127.0.0.1:"+strconv.Itoa(adminPort), "MAIN_BACKEND_DOMAIN=127.0.0.1:"+strconv.Itoa(mainPort),
		"API_RATE_LIMIT=100000", "RUNTIME_RATE_LIMIT=100000", "WORKERS="+strconv.FormatBool(workers))
	env = append(env, strings.Fields(os.Getenv("SQLITE_BENCH_ENV"))...)

	if out, err := command(bin, "admin-backend", env, "migrate").CombinedOutput(); err != nil {
		b.Fatalf("admin-backend migrate: %v\n%s", err, out)
	}
	siteID, key := sqliteTenant(b, env)

	mainProc := startService(b, bin, "main-backend", env, dir)
	adminProc := startService(b, bin, "admin-backend", env, dir)
	adminURL, mainURL := fmt.Sprintf("http://127.0.0.1:%d", adminPort), fmt.Sprintf("http://127.0.0.1:%d", mainPort)
	waitReady(b, adminURL, adminProc)
	waitReady(b, mainURL, mainProc)
	healthcheck(b, bin, env, true)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency}, Timeout: 60 * time.Second}
	target := adminURL + "/v1/checkouts/" + siteID + "/create"
	run := domain.RandomString(6)
	body := func(n int64) []byte {
		b, _ := json.Marshal(map[string]any{
			"amount": 4497, "currency": "EUR", "email": "buyer@example.com", "externalReference": fmt.Sprintf("bench-%d", n),
			"returnUrl": "https://shop.example.com/thanks?tx={transactionId}", "cancelUrl": "https://shop.example.com/cart",
			"items": []map[string]any{
				{"name": "Item A", "quantity": 1, "unitPrice": 1499, "itemType": "goods"},
				{"name": "Item B", "quantity": 2, "unitPrice": 999, "itemType": "goods"},
				{"name": "Shipping", "quantity": 1, "unitPrice": 1000, "itemType": "shipping"},
			}})
		return b
	}
	for i := 0; i < 50; i++ {
		post(b, client, target, key, body(int64(-i-1)), fmt.Sprintf("warm-%s-%d", run, i))
	}

	// The main backend's background work while nothing else happens: its pollers alone.
	idle := 5 * time.Second
	idle0 := pidCPU(mainProc.Process.Pid)
	time.Sleep(idle)
	idleCPU := pidCPU(mainProc.Process.Pid) - idle0

	var seq atomic.Int64
	lat := make([]time.Duration, 0, requests)
	var mu sync.Mutex
	var wg sync.WaitGroup
	admin0, main0 := pidCPU(adminProc.Process.Pid), pidCPU(mainProc.Process.Pid)
	client0, machine0 := processCPU(), machineCPU()
	load, _ := os.ReadFile("/proc/loadavg")
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, requests/concurrency+1)
			for {
				n := seq.Add(1)
				if n > int64(requests) {
					break
				}
				t0 := time.Now()
				post(b, client, target, key, body(n), "bench-"+run+"-"+strconv.FormatInt(n, 10))
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	adminCPU, mainCPU := pidCPU(adminProc.Process.Pid)-admin0, pidCPU(mainProc.Process.Pid)-main0
	clientCPU, machineUsed := processCPU()-client0, machineCPU()-machine0
	busy := 100 * machineUsed.Seconds() / (elapsed.Seconds() * float64(runtime.NumCPU()))
	others := 100 * (machineUsed - adminCPU - mainCPU - clientCPU).Seconds() / (elapsed.Seconds() * float64(runtime.NumCPU()))
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p int) time.Duration { return lat[min(len(lat)-1, len(lat)*p/100)] }
	p50, p95, p99, worst := pct(50), pct(95), pct(99), lat[len(lat)-1]

	var walMB float64
	if fi, err := os.Stat(filepath.Join(dir, "var", "paygate.db-wal")); err == nil {
		walMB = float64(fi.Size()) / (1 << 20)
	}
	stopService(b, adminProc)
	stopService(b, mainProc)
	healthcheck(b, bin, env, false)
	slow, locked := scanLogs(b, dir)

	rps := float64(len(lat)) / elapsed.Seconds()
	b.ReportMetric(rps, "req/s")
	b.ReportMetric(ms(p50), "p50_ms")
	b.ReportMetric(ms(p95), "p95_ms")
	b.ReportMetric(ms(p99), "p99_ms")
	b.ReportMetric(ms(worst), "max_ms")
	b.ReportMetric(µs(adminCPU, len(lat)), "admin_cpu_µs/req")
	b.ReportMetric(µs(mainCPU, len(lat)), "main_cpu_µs/req")
	b.ReportMetric(float64(idleCPU.Microseconds())/1000/idle.Seconds(), "main_idle_cpu_ms/s")
	b.ReportMetric(busy, "machine_busy_%")
	b.ReportMetric(others, "other_work_%")
	workersNote := "main backend's workers on"
	if !workers {
		workersNote = "main backend's workers off (WORKERS=false)"
	}
	fmt.Printf("\nSQLite, admin-backend + main-backend processes on one file, %s; %d checkout creates at concurrency %d:\n"+
		"  %.0f req/s, p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms (target p99 < 50 ms)\n"+
		"  CPU per create: admin backend %.0f µs, main backend %.0f µs, load generator %.0f µs; main backend idle: %.1f ms CPU per s\n"+
		"  machine (%d cores) busy %.0f%% during the run, %.0f%% of it other work (load average before: %s)\n"+
		"  WAL file after the run: %.1f MiB; log lines: %d slow-query warnings, %d 'database is locked'\n\n",
		workersNote, len(lat), concurrency, rps, ms(p50), ms(p95), ms(p99), ms(worst),
		µs(adminCPU, len(lat)), µs(mainCPU, len(lat)), µs(clientCPU, len(lat)), float64(idleCPU.Microseconds())/1000/idle.Seconds(),
		runtime.NumCPU(), busy, others, strings.Join(strings.Fields(string(load))[:3], " "), walMB, slow, locked)
}

// buildServices builds the two backends from this tree (the Go build cache makes repeats cheap).
func buildServices(b *testing.B) string {
	dir := b.TempDir()
	cmd := exec.Command("go", "build", "-trimpath", "-o", dir+string(os.PathSeparator),
		"paygate.dev/services/admin-backend", "paygate.dev/services/main-backend")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

func command(bin, service string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(bin, service), args...)
	cmd.Env = env
	return cmd
}

func freePort(b *testing.B) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startService starts a service with its output in dir/<service>.log; the benchmark's cleanup
// kills it if it is still running.
func startService(b *testing.B, bin, service string, env []string, dir string) *exec.Cmd {
	logf, err := os.Create(filepath.Join(dir, service+".log"))
	if err != nil {
		b.Fatal(err)
	}
	cmd := command(bin, service, env)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		b.Fatalf("start %s: %v", service, err)
	}
	b.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		logf.Close()
	})
	return cmd
}

func stopService(b *testing.B, cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			b.Errorf("%s exited with %v", cmd.Path, err)
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		b.Errorf("%s did not stop within 30 s of SIGTERM", cmd.Path)
	}
}

// healthcheck runs each binary's `healthcheck` command (as docker-compose.yml does) against
// the running (or stopped) services: exit 0 and one line, or exit 1 and one line.
func healthcheck(b *testing.B, bin string, env []string, healthy bool) {
	for _, service := range []string{"admin-backend", "main-backend"} {
		out, err := command(bin, service, env, "healthcheck").CombinedOutput()
		lines := strings.Count(strings.TrimSpace(string(out)), "\n") + 1
		switch {
		case healthy && err != nil:
			b.Fatalf("%s healthcheck of a ready service: %v: %s", service, err, out)
		case !healthy && err == nil:
			b.Fatalf("%s healthcheck of a stopped service exited 0: %s", service, out)
		case !healthy && cmdExitCode(err) != 1:
			b.Fatalf("%s healthcheck of a stopped service: %v, want exit status 1", service, err)
		case lines != 1:
			b.Fatalf("%s healthcheck printed %d lines, want one: %s", service, lines, out)
		}
	}
}

func cmdExitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

func waitReady(b *testing.B, base string, cmd *exec.Cmd) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(base + "/ready")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatalf("%s is not ready after 60 s", cmd.Path)
}

// scanLogs counts the services' slow-query warnings and SQLITE_BUSY errors.
func scanLogs(b *testing.B, dir string) (slow, locked int) {
	for _, service := range []string{"admin-backend", "main-backend"} {
		f, err := os.Open(filepath.Join(dir, service+".log"))
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, `"slow query"`) {
				slow++
			}
			if strings.Contains(line, "database is locked") || strings.Contains(line, "SQLITE_BUSY") {
				locked++
			}
		}
		f.Close()
	}
	return slow, locked
}

// sqliteTenant creates an organisation, a site with a wire-transfer provider and a test API key
// in the SQLite file the services will use, through the capability services with their master key.
func sqliteTenant(b *testing.B, env []string) (siteID, apiKey string) {
	lookup := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			lookup[k] = v
		}
	}
	cfg, err := config.LoadAdminBackend(config.NewEnv(config.MapLookup(lookup)))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{SQLitePath: cfg.SQLitePath(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	keys, err := cfg.Keyring()
	if err != nil {
		b.Fatal(err)
	}
	svc := app.NewServices(app.ServiceDeps{Store: s, Keys: keys, Hosts: cfg.Hosts, Dev: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	sys := domain.SystemActor("")
	name, country := "Bench "+domain.RandomString(6), "DE"
	org, err := svc.Tenancy.CreateOrganization(ctx, sys, tenancy.OrganizationInput{Name: &name, SellerCountry: &country})
	if err != nil {
		b.Fatal(err)
	}
	actor := domain.SystemActor(org.ID)
	pname := "Bank transfer"
	prov, err := svc.Tenancy.CreateProvider(ctx, actor, org.ID, tenancy.ProviderInput{Type: "wire_transfer", Mode: "test", Name: &pname,
		Settings: map[string]string{"bankName": "Test Bank", "accountHolder": "Shop GmbH", "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX"}})
	if err != nil {
		b.Fatal(err)
	}
	sname, hosts, ids := "Shop", []string{"shop.example.com"}, []string{prov.ID}
	site, _, err := svc.Tenancy.CreateSite(ctx, actor, org.ID, tenancy.SiteInput{Name: &sname, AllowedHosts: &hosts, ProviderIDs: &ids, DefaultProviderID: &prov.ID})
	if err != nil {
		b.Fatal(err)
	}
	_, key, err := svc.Tenancy.CreateAPIKey(ctx, actor, org.ID, tenancy.APIKeyInput{Name: "bench", Mode: "test", Scopes: []string{"*:*"}})
	if err != nil {
		b.Fatal(err)
	}
	return site.ID, key
}

// pidCPU is the CPU time (user and system) a process has used, from /proc/<pid>/stat.
func pidCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; the fields after its closing parenthesis are
	// state (3), ... utime (14), stime (15).
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
