package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

const (
	concurrency = 16
	duration    = 10 * time.Second
)

// BenchmarkCheckoutCreate drives POST /v1/checkouts/{siteId}/create (with an Idempotency-Key
// and three items) at fixed concurrency against PostgreSQL for a fixed time, then runs the
// equivalent SQL transaction (idempotency row + checkout + 3 items) with `pgbench -M prepared`
// on the same database and machine, and reports both and their ratio.
func BenchmarkCheckoutCreate(b *testing.B) {
	s := storetest.Fresh(b, store.Postgres)
	if _, err := s.Migrate(context.Background(), -1); err != nil {
		b.Fatal(err)
	}
	env := apptest.Start(b, s, apptest.Options{NoFrontend: true, NoMain: true, RateLimit: 1_000_000})
	tn := env.NewTenant(b)
	target := env.AdminURL + "/v1/checkouts/" + tn.Site.ID + "/create"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency}, Timeout: 30 * time.Second}

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
	// Warm up connections and caches.
	for i := 0; i < 50; i++ {
		post(b, client, target, tn.TestKey, body(int64(-i-1)), fmt.Sprintf("warm-%d", i))
	}

	var seq atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	start := time.Now()
	machine0, process0 := machineCPU(), processCPU()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			for time.Now().Before(deadline) {
				n := seq.Add(1)
				t0 := time.Now()
				post(b, client, target, tn.TestKey, body(n), "bench-"+strconv.FormatInt(n, 10))
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	machineUsed, processUsed := machineCPU()-machine0, processCPU()-process0
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	rps := float64(len(lat)) / elapsed.Seconds()
	p50, p99 := lat[len(lat)*50/100], lat[len(lat)*99/100]

	pg := runPgbench(b, s, tn.Org.ID, tn.Site.ID)
	tps := pg.tps
	ratio := rps / tps
	b.ReportMetric(rps, "http_req/s")
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99_ms")
	b.ReportMetric(tps, "pgbench_tps")
	b.ReportMetric(ms(pg.p99), "pgbench_p99_ms")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(µs(machineUsed, len(lat)), "cpu_µs/req")
	b.ReportMetric(pg.cpuPerTx, "pgbench_cpu_µs/tx")
	fmt.Printf("\ncheckout create over HTTP (concurrency %d, %s, PostgreSQL): %.0f req/s, p50 %.2f ms, p99 %.2f ms\n",
		concurrency, duration, rps, ms(p50), ms(p99))
	fmt.Printf("pgbench -M prepared, same SQL transaction, %d clients, %s: %.0f tps, p50 %.2f ms, p99 %.2f ms\n",
		concurrency, duration, tps, ms(pg.p50), ms(pg.p99))
	fmt.Printf("machine CPU per operation: HTTP %.0f µs (this process, service and load generator: %.0f µs; PostgreSQL and the rest: %.0f µs), pgbench %.0f µs\n",
		µs(machineUsed, len(lat)), µs(processUsed, len(lat)), µs(machineUsed-processUsed, len(lat)), pg.cpuPerTx)
	fmt.Printf("ratio HTTP/pgbench: %.2f (target >= 0.5); p99 %.2f ms (target < 25 ms), %.2fx the bare SQL's p99\n\n",
		ratio, ms(p99), float64(p99)/float64(pg.p99))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func post(b *testing.B, c *http.Client, url, key string, body []byte, idem string) {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Idempotency-Key", idem)
	res, err := c.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b.Errorf("status %d", res.StatusCode)
	}
}

// pgbenchScript is the SQL of one checkout creation: the idempotency row, the checkout and
// three items, in one transaction, as the API writes them.
const pgbenchScript = `\set n random(1, 2000000000)
BEGIN;
INSERT INTO idempotency_keys (organization_id, idem_key, request_hash, state, status_code, response_body, content_type, created_at, completed_at, expires_at)
  VALUES (:org, 'pgb-' || :client_id || '-' || :n || '-' || md5(random()::text), md5(random()::text), 'completed', 200, '{"id":"x"}', 'application/json', now(), now(), now() + interval '48 hours');
INSERT INTO checkouts (id, organization_id, site_id, mode, short_code, session_public_id, status, amount, currency, email, external_reference, return_url, cancel_url, metadata, origin, expires_at, created_at, updated_at)
  VALUES ('chk_pgb' || :client_id || '_' || :n || md5(random()::text), :org, :site, 'test', md5(random()::text), 'cs_' || md5(random()::text), 'open', 4497, 'EUR', 'buyer@example.com', 'bench-' || :n, 'https://shop.example.com/thanks', 'https://shop.example.com/cart', '{}', 'api', now() + interval '1 day', now(), now())
  RETURNING id \gset chk_
INSERT INTO checkout_items (checkout_id, position, organization_id, name, description, quantity, unit_price, item_type) VALUES (:chk_id, 0, :org, 'Item A', '', 1, 1499, 'goods');
INSERT INTO checkout_items (checkout_id, position, organization_id, name, description, quantity, unit_price, item_type) VALUES (:chk_id, 1, :org, 'Item B', '', 2, 999, 'goods');
INSERT INTO checkout_items (checkout_id, position, organization_id, name, description, quantity, unit_price, item_type) VALUES (:chk_id, 2, :org, 'Shipping', '', 1, 1000, 'shipping');
COMMIT;
`

var tpsRE = regexp.MustCompile(`tps = ([0-9.]+)`)

// pgbenchResult is pgbench's throughput and the latency percentiles of its transactions.
type pgbenchResult struct {
	tps      float64
	p50, p99 time.Duration
	cpuPerTx float64 // µs of machine CPU (PostgreSQL and pgbench) per transaction
}

func runPgbench(b *testing.B, s *store.Store, org, site string) pgbenchResult {
	bin, err := exec.LookPath("pgbench")
	if err != nil {
		b.Fatalf("pgbench is needed for this benchmark (Debian: postgresql-client): %v", err)
	}
	dir := b.TempDir()
	script := filepath.Join(dir, "checkout.sql")
	if err := os.WriteFile(script, []byte(pgbenchScript), 0o600); err != nil {
		b.Fatal(err)
	}
	dsn, err := s.URL()
	if err != nil {
		b.Fatal(err)
	}
	u, _ := url.Parse(dsn)
	args := []string{"-M", "prepared", "-n", "-c", strconv.Itoa(concurrency), "-j", "2", "-T", strconv.Itoa(int(duration.Seconds())),
		"-D", "org=" + org, "-D", "site=" + site, "-f", script, "-l", "--log-prefix", filepath.Join(dir, "txlog"),
		"-h", u.Hostname(), "-p", u.Port(), "-U", u.User.Username(), u.Path[1:]}
	machine0 := machineCPU()
	out, err := exec.Command(bin, args...).CombinedOutput()
	machineUsed := machineCPU() - machine0
	if err != nil {
		b.Fatalf("pgbench: %v\n%s", err, out)
	}
	m := tpsRE.FindSubmatch(out)
	if m == nil {
		b.Fatalf("no tps in pgbench output:\n%s", out)
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	lat := pgbenchLatencies(b, dir)
	return pgbenchResult{tps: tps, p50: lat[len(lat)*50/100], p99: lat[len(lat)*99/100], cpuPerTx: µs(machineUsed, len(lat))}
}

// pgbenchLatencies reads pgbench's per-transaction logs (-l): each line is
// "client_id transaction_no time_us script_no epoch epoch_us", time_us being the latency.
func pgbenchLatencies(b *testing.B, dir string) []time.Duration {
	logs, err := filepath.Glob(filepath.Join(dir, "txlog.*"))
	if err != nil || len(logs) == 0 {
		b.Fatalf("no pgbench transaction logs in %s (%v)", dir, err)
	}
	var lat []time.Duration
	for _, name := range logs {
		data, err := os.ReadFile(name)
		if err != nil {
			b.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			f := strings.Fields(line)
			if len(f) < 3 {
				continue
			}
			us, err := strconv.ParseInt(f[2], 10, 64)
			if err != nil {
				b.Fatalf("pgbench log line %q: %v", line, err)
			}
			lat = append(lat, time.Duration(us)*time.Microsecond)
		}
	}
	if len(lat) == 0 {
		b.Fatal("pgbench logged no transactions")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat
}

// BenchmarkHostedPageFullStack measures, in one run on one database, checkout creation through
// the admin backend (POST /v1/checkouts/{siteId}/create, as BenchmarkCheckoutCreate) and then the
// hosted page of those checkouts through the real main frontend and main backend (the frontend
// reads each checkout over the runtime API), each at fixed concurrency for a fixed time, and
// reports pages/s against creates/s (issue 17: at least 2).
func BenchmarkHostedPageFullStack(b *testing.B) {
	s := storetest.Fresh(b, store.Postgres)
	if _, err := s.Migrate(context.Background(), -1); err != nil {
		b.Fatal(err)
	}
	env := apptest.Start(b, s, apptest.Options{RateLimit: 1_000_000, MainBackend: func(c *config.MainBackend) { c.RateLimit = 1_000_000 }})
	tn := env.NewTenant(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: 2 * concurrency}, Timeout: 30 * time.Second}
	load := loadAverage()

	// Creates: the same requests as BenchmarkCheckoutCreate; the pages visit what they made.
	target := env.AdminURL + "/v1/checkouts/" + tn.Site.ID + "/create"
	var seq atomic.Int64
	var urlsMu sync.Mutex
	var urls []string
	create := func() {
		n := seq.Add(1)
		res := postJSON(b, client, target, tn.TestKey, checkoutBody(n), "page-bench-"+strconv.FormatInt(n, 10))
		if u, _ := res["paymentUrl"].(string); u != "" {
			urlsMu.Lock()
			urls = append(urls, u)
			urlsMu.Unlock()
		}
	}
	for i := 0; i < 50; i++ {
		create()
	}
	creates := drive(create, duration/2)

	get := func(url string) {
		res, err := client.Get(url)
		if err != nil {
			b.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Errorf("status %d", res.StatusCode)
		}
	}
	for i := 0; i < 50; i++ {
		get(urls[i])
	}
	var next atomic.Int64
	pages := drive(func() { get(urls[int(next.Add(1))%len(urls)]) }, duration/2)

	ratio := pages.rate / creates.rate
	b.ReportMetric(pages.rate, "pages/s")
	b.ReportMetric(ms(pages.p50), "p50_ms")
	b.ReportMetric(ms(pages.p99), "p99_ms")
	b.ReportMetric(creates.rate, "creates/s")
	b.ReportMetric(ratio, "pages_per_create")
	b.ReportMetric(pages.cpuPerOp, "page_cpu_µs")
	b.ReportMetric(creates.cpuPerOp, "create_cpu_µs")
	b.ReportMetric(pages.procPerOp, "page_process_cpu_µs")
	b.ReportMetric(creates.procPerOp, "create_process_cpu_µs")
	fmt.Printf("\nhosted page through frontend + backend (concurrency %d, %s, PostgreSQL, %d distinct checkouts): %.0f pages/s, p50 %.2f ms, p99 %.2f ms, CPU %.0f µs/page (machine), %.0f µs/page (Go services and load generator)\n",
		concurrency, duration/2, len(urls), pages.rate, ms(pages.p50), ms(pages.p99), pages.cpuPerOp, pages.procPerOp)
	fmt.Printf("checkout create through the admin backend, same run (concurrency %d, %s): %.0f creates/s, p50 %.2f ms, p99 %.2f ms, CPU %.0f µs/create (machine), %.0f µs/create (Go services and load generator)\n",
		concurrency, duration/2, creates.rate, ms(creates.p50), ms(creates.p99), creates.cpuPerOp, creates.procPerOp)
	fmt.Printf("pages/s : creates/s = %.2f (target >= 2); machine load average before the run: %s\n\n", ratio, load)
}

// driveResult is the throughput and latency of one operation driven at fixed concurrency.
type driveResult struct {
	rate      float64 // operations per second
	p50, p99  time.Duration
	cpuPerOp  float64 // µs of machine CPU per operation
	procPerOp float64 // µs of this process's CPU per operation (the services and the load generator; PostgreSQL not included)
}

// drive runs op from `concurrency` goroutines for d.
func drive(op func(), d time.Duration) driveResult {
	var mu sync.Mutex
	var lat []time.Duration
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start, machine0, process0 := time.Now(), machineCPU(), processCPU()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			for time.Now().Before(deadline) {
				t0 := time.Now()
				op()
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed, machineUsed, processUsed := time.Since(start), machineCPU()-machine0, processCPU()-process0
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return driveResult{rate: float64(len(lat)) / elapsed.Seconds(), p50: lat[len(lat)*50/100], p99: lat[len(lat)*99/100],
		cpuPerOp: µs(machineUsed, len(lat)), procPerOp: µs(processUsed, len(lat))}
}

// checkoutBody is the create request of BenchmarkCheckoutCreate: three items.
func checkoutBody(n int64) []byte {
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

// postJSON posts like post and decodes the answer.
func postJSON(b *testing.B, c *http.Client, url, key string, body []byte, idem string) map[string]any {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Idempotency-Key", idem)
	res, err := c.Do(req)
	if err != nil {
		b.Error(err)
		return nil
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK {
		b.Errorf("status %d: %v", res.StatusCode, err)
	}
	return out
}
