package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mattn/go-isatty"

	"paygate.dev/pkg/tenancy"
)

// DemoSecretsFile is where, off a terminal, the demo's secrets are written (in DATA_DIR).
const DemoSecretsFile = "demo-credentials.txt"

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// announceDemo shows a new demo's secrets once. On a terminal it prints the banner, a box
// a person reads. Anywhere else (`make run | tee`, docker logs, a log collector) it logs a
// structured "demo ready" line with what is not secret — the sign-in URL, the administrator's
// e-mail address, the organisation's, site's and provider's ids — and writes the banner, with
// the password, API key and IPN signing secret, to DATA_DIR/demo-credentials.txt (mode 0600),
// which the line names: secrets never go into a log line. If that file cannot be written the
// banner is printed as before, once, so that the demo stays usable.
func (a *AdminBackend) announceDemo(ctx context.Context, d *tenancy.Demo) {
	w := a.DemoOut
	if w == nil {
		w = os.Stdout
	}
	banner := d.Banner(a.Config.Hosts.AdminURL())
	terminal := a.isTerminal
	if terminal == nil {
		terminal = isTerminal
	}
	if terminal(w) {
		fmt.Fprint(w, banner)
		return
	}
	attrs := []any{"login_url", a.Config.Hosts.AdminURL() + "/login", "admin_email", d.AdminEmail,
		"org_id", d.Organization.ID, "site_id", d.Site.ID, "provider_id", d.Provider.ID}
	path := filepath.Join(a.Config.DataDir, DemoSecretsFile)
	if err := writeSecretFile(path, banner); err != nil {
		a.Log.WarnContext(ctx, "the demo's secrets cannot be written to a file; they are printed once instead", "path", path, "error", err)
		fmt.Fprint(w, banner)
		a.Log.InfoContext(ctx, "demo ready", attrs...)
		return
	}
	a.Log.InfoContext(ctx, "demo ready", append(attrs, "secrets_file", path,
		"note", "the administrator's password, the test API key and the IPN signing secret are in secrets_file")...)
}

// writeSecretFile writes text to path, readable by its owner only.
func writeSecretFile(path, text string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil { // an older file keeps its mode otherwise
		f.Close()
		return err
	}
	if _, err := io.WriteString(f, text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
