package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// HealthcheckTimeout bounds one `healthcheck` (Compose's own timeout should be longer).
const HealthcheckTimeout = 4 * time.Second

// Healthcheck is every service's `healthcheck` command, for container healthchecks in images
// without a shell or curl (docker-compose.yml: test: ["CMD", "/service", "healthcheck"]). It asks
// the service running in this container whether it is ready: GET /ready on INTERNAL_LISTEN when
// one is configured (its answer says why not), else on the service's own listen address
// (0.0.0.0 and :: are asked on loopback). With live, it asks GET /health instead (the process
// answers at all). It writes one line saying what it found and returns nil when the answer is
// 200, an error naming the reason otherwise (the command then exits 1).
//
// Readiness is what Compose's depends_on: service_healthy needs: the backends are ready when
// their database answers with the schema this build expects, the main frontend when the main
// backend is ready.
func Healthcheck(ctx context.Context, listen, internal string, live bool, out io.Writer) error {
	addr := listen
	if internal != "" {
		addr = internal
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("healthcheck: bad listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	path := "/ready"
	if live {
		path = "/health"
	}
	url := "http://" + net.JoinHostPort(host, port) + path
	ctx, cancel := context.WithTimeout(ctx, HealthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	res, err := client.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			err = op
		}
		return fmt.Errorf("unhealthy: %s: %w", url, err)
	}
	defer res.Body.Close()
	var body struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	_ = json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(&body)
	if res.StatusCode != http.StatusOK {
		reason := body.Reason
		if reason == "" {
			reason = body.Status
		}
		if reason == "" {
			reason = http.StatusText(res.StatusCode)
		}
		return fmt.Errorf("unhealthy: %s answered %d: %s", url, res.StatusCode, strings.Join(strings.Fields(reason), " "))
	}
	_, err = fmt.Fprintf(out, "healthy: %s answered %d %s\n", url, res.StatusCode, body.Status)
	return err
}

// HealthcheckArgs reads the `healthcheck` command's arguments: none (readiness) or "live".
func HealthcheckArgs(args []string) (live bool, err error) {
	switch {
	case len(args) == 0:
		return false, nil
	case len(args) == 1 && args[0] == "live":
		return true, nil
	}
	return false, fmt.Errorf("healthcheck takes no argument, or live (GET /health instead of /ready), got %q", strings.Join(args, " "))
}
