package duda

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"paygate.dev/pkg/domain"
	dudaapi "paygate.dev/pkg/duda"
	"paygate.dev/pkg/integration/dudaconn"
)

// lifecycleCallTimeout bounds what an install or uninstall spends calling Duda: Duda waits 60 s
// for our answer and never retries.
const lifecycleCallTimeout = 25 * time.Second

// lifecycleDigest names a signed lifecycle call: the digest of its signed text (timestamp and body).
func lifecycleDigest(timestamp string, body []byte) string {
	sum := sha256.Sum256(append([]byte(timestamp+"."), body...))
	return hex.EncodeToString(sum[:])
}

// firstDelivery remembers a signed lifecycle call as processed and reports whether this is its
// first delivery: a replay within the signature's freshness window is answered without acting
// again (an old install would put back tokens Duda has since rotated, an old uninstall would
// undo a reinstall). Calls are remembered well beyond that window.
func (uc *Service) firstDelivery(ctx context.Context, conn *domain.DudaConnection, digest, kind, siteName string) (bool, error) {
	tol := uc.tolerance
	if tol <= 0 {
		tol = dudaapi.DefaultSignatureTolerance
	}
	keep := max(24*time.Hour, 4*tol)
	first, err := uc.store.RememberDudaLifecycleCall(ctx, &domain.DudaLifecycleCall{ConnectionID: conn.ID, Digest: digest, Kind: kind, SiteName: siteName},
		uc.payments.Now().Add(-keep))
	if err == nil && !first {
		uc.log.WarnContext(ctx, "a replayed Duda lifecycle call was ignored", "connection_id", conn.ID, "kind", kind, "site_name", siteName)
	}
	return first, err
}

// forgetDelivery lets a lifecycle call whose processing failed be delivered again.
func (uc *Service) forgetDelivery(ctx context.Context, conn *domain.DudaConnection, digest string) {
	if err := uc.store.ForgetDudaLifecycleCall(context.WithoutCancel(ctx), conn.ID, digest); err != nil {
		uc.log.ErrorContext(ctx, "forget Duda lifecycle call", "connection_id", conn.ID, "error", err)
	}
}

// installRecord is the site's record of an install call, and its tokens: the API endpoint
// (checked before), and the rest of the payload without its tokens. A domain INVALID error
// refuses a payload without site name or access token.
func installRecord(p dudaapi.InstallPayload) (*domain.DudaSite, dudaapi.Tokens, error) {
	if strings.TrimSpace(p.SiteName) == "" || len(p.SiteName) > 255 {
		return nil, dudaapi.Tokens{}, domain.Invalid("site_name", "site_name is required")
	}
	t := p.Tokens()
	if t.AccessToken == "" {
		return nil, t, domain.Invalid("auth.authorization_code", "auth.authorization_code is required")
	}
	kept := p
	kept.Auth.AuthorizationCode, kept.Auth.RefreshToken = "", ""
	data, err := json.Marshal(kept)
	if err != nil {
		return nil, t, domain.Internal(err, "encode install data")
	}
	return &domain.DudaSite{SiteName: p.SiteName, APIEndpoint: strings.TrimRight(strings.TrimSpace(p.APIEndpoint), "/"), InstallData: string(data)}, t, nil
}

// ErrUnknownAPIEndpoint refuses an install whose api_endpoint is not a known Duda API origin.
var ErrUnknownAPIEndpoint = errors.New("api_endpoint is not a known Duda API origin")

// Caller is the connection a lifecycle call names; Verify makes it a signed call.
type Caller struct {
	app    *dudaconn.DudaApp
	digest string // of the verified call; "" until verified
}

// LifecycleCaller loads the connection a lifecycle call names: ErrUnknownLink when there is none.
func (uc *Service) LifecycleCaller(ctx context.Context, connectionID string) (*Caller, error) {
	app, err := uc.connection(ctx, connectionID)
	if domain.IsNotFound(err) {
		return nil, ErrUnknownLink
	}
	if err != nil {
		return nil, err
	}
	return &Caller{app: app}, nil
}

// Verify checks Duda's signature on a lifecycle call to the caller's connection (the
// x-duda-signature-timestamp and x-duda-signature headers and the raw body): an error wrapping
// dudaapi.ErrBadSignature or dudaapi.ErrStaleTimestamp refuses it.
func (uc *Service) Verify(ctx context.Context, c *Caller, timestamp, signature string, body []byte) error {
	if err := dudaapi.VerifySignature(c.app.Credentials.AppSecret, timestamp, signature, body, uc.payments.Now(), uc.tolerance); err != nil {
		if errors.Is(err, dudaapi.ErrBadSignature) || errors.Is(err, dudaapi.ErrStaleTimestamp) {
			uc.log.WarnContext(ctx, "Duda lifecycle call rejected", "connection_id", c.app.Connection.ID, "error", err)
		}
		return err
	}
	c.digest = lifecycleDigest(timestamp, body)
	return nil
}

// InstallResult is how an install went.
type InstallResult struct {
	// Replayed: the call was processed before and changed nothing now.
	Replayed bool
	// GatewayPending: registering the gateway failed and a job retries it.
	GatewayPending bool
	GatewayID      string
}

// Install records the app's install on a Duda site (a verified call) and registers our payment
// gateway there. A registration that fails is retried by a job: the install itself is never lost
// (Duda does not repeat it). ErrUnknownAPIEndpoint, or a domain INVALID error, refuses the payload.
func (uc *Service) Install(ctx context.Context, c *Caller, p dudaapi.InstallPayload) (InstallResult, error) {
	app := c.app
	if c.digest == "" {
		return InstallResult{}, dudaapi.ErrBadSignature
	}
	if err := dudaapi.CheckAPIEndpoint(p.APIEndpoint, uc.origins...); err != nil {
		uc.log.WarnContext(ctx, "Duda install with an unknown api_endpoint refused", "connection_id", app.Connection.ID, "site_name", p.SiteName, "api_endpoint", p.APIEndpoint)
		return InstallResult{}, ErrUnknownAPIEndpoint
	}
	if first, err := uc.firstDelivery(ctx, app.Connection, c.digest, "install", p.SiteName); err != nil || !first {
		return InstallResult{Replayed: true}, err
	}
	site, tokens, err := installRecord(p)
	if err == nil {
		err = uc.conns.RecordDudaInstall(ctx, app.Connection, site, tokens)
	}
	if err != nil {
		uc.forgetDelivery(ctx, app.Connection, c.digest)
		return InstallResult{}, err
	}
	installKey := site.ID + ":" + strconv.FormatInt(site.InstalledAt.UnixMicro(), 10)
	// Outcomes owed to Duda while the app was away (a payment completed meanwhile) are
	// confirmed now that it is back.
	if err := uc.store.InsertJob(ctx, ResumeArgs{SiteID: site.ID, Key: installKey, OrganizationID: site.OrganizationID}); err != nil {
		return InstallResult{}, err
	}
	gctx, cancel := context.WithTimeout(ctx, lifecycleCallTimeout)
	gwErr := uc.ensureGateway(gctx, app, site)
	cancel()
	if gwErr != nil {
		uc.log.WarnContext(ctx, "registering the Duda payment gateway failed; a job retries it", "connection_id", app.Connection.ID,
			"site_name", site.SiteName, "error", gwErr)
		// The first retry runs at once; the job backs off from there.
		now := uc.payments.Now()
		if err := uc.store.SetDudaSiteGatewayState(ctx, site.ID, domain.DudaGatewayRetrying, gatewayErrorText(gwErr), 1, &now); err != nil {
			return InstallResult{}, err
		}
		if err := uc.store.InsertJob(ctx, GatewayArgs{SiteID: site.ID, Key: installKey, OrganizationID: site.OrganizationID}); err != nil {
			return InstallResult{}, err
		}
		return InstallResult{GatewayPending: true}, nil
	}
	if err := uc.store.SetDudaSiteGatewayState(ctx, site.ID, domain.DudaGatewayRegistered, "", 1, nil); err != nil {
		return InstallResult{}, err
	}
	return InstallResult{GatewayID: site.GatewayID}, nil
}

// gatewayErrorText is Duda's refusal as the operator reads it on the Duda page.
func gatewayErrorText(err error) string {
	var ae *dudaapi.APIError
	if errors.As(err, &ae) {
		msg := "no answer from Duda (" + ae.Method + " " + ae.Path + ")"
		if ae.StatusCode != 0 {
			msg = fmt.Sprintf("Duda answered %d %s to %s %s", ae.StatusCode, http.StatusText(ae.StatusCode), ae.Method, ae.Path)
		}
		if ae.Message != "" {
			msg += ": " + ae.Message
		}
		return clip(msg, 500)
	}
	return clip(err.Error(), 500)
}

// Uninstall deletes our payment gateway from the Duda site a verified call names and wipes
// the site's tokens; replayed says the call was processed before and changed nothing now.
func (uc *Service) Uninstall(ctx context.Context, c *Caller, siteName string) (replayed bool, err error) {
	app := c.app
	if c.digest == "" {
		return false, dudaapi.ErrBadSignature
	}
	if first, err := uc.firstDelivery(ctx, app.Connection, c.digest, "uninstall", siteName); err != nil || !first {
		return err == nil, err
	}
	site, err := uc.store.GetDudaSite(ctx, app.Connection.ID, siteName)
	if domain.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		uc.forgetDelivery(ctx, app.Connection, c.digest)
		return false, err
	}
	if site.GatewayID != "" && site.Installed() {
		gctx, cancel := context.WithTimeout(ctx, lifecycleCallTimeout)
		err := uc.deleteGateway(gctx, app, site)
		cancel()
		if err != nil {
			// The tokens are wiped below, so nothing can try again later: say so.
			uc.log.WarnContext(ctx, "deleting the Duda payment gateway failed", "connection_id", app.Connection.ID,
				"site_name", site.SiteName, "gateway_id", site.GatewayID, "error", err)
		}
	}
	if site.Installed() {
		if err := uc.conns.UninstallDudaSite(ctx, site); err != nil {
			uc.forgetDelivery(ctx, app.Connection, c.digest)
			return false, err
		}
	}
	return false, nil
}

func (uc *Service) deleteGateway(ctx context.Context, app *dudaconn.DudaApp, site *domain.DudaSite) error {
	cl, err := uc.siteClient(app, site)
	if err != nil {
		return err
	}
	return cl.DeletePaymentGateway(ctx, site.SiteName, site.GatewayID) // a 404 counts as gone
}

// gateway is our payment gateway as registered on a Duda site.
func (uc *Service) gateway(ctx context.Context, app *dudaconn.DudaApp) dudaapi.PaymentGateway {
	urls := uc.conns.DudaURLs(app.Connection.ID)
	name := "Secure checkout"
	if s, err := uc.store.GetSite(ctx, app.Connection.OrganizationID, app.Connection.SiteID); err == nil && s.Name != "" {
		name = s.Name
	}
	icon := uc.iconURL("gateway")
	return dudaapi.PaymentGateway{LivePaymentMethodsURL: urls.PaymentMethodsLive, TestPaymentMethodsURL: urls.PaymentMethodsTest,
		Name: name, Description: "Pay on a secure hosted checkout page", Image: icon, Icons: []string{icon}}
}

// ensureGateway makes sure the site has our gateway, with current URLs, and keeps its id. It is
// idempotent: a known gateway is updated in place, one registered by an earlier attempt whose
// answer was lost is found by its URL and adopted, and only otherwise is a new one registered.
func (uc *Service) ensureGateway(ctx context.Context, app *dudaconn.DudaApp, site *domain.DudaSite) error {
	cl, err := uc.siteClient(app, site)
	if err != nil {
		return err
	}
	gw := uc.gateway(ctx, app)
	if site.GatewayID != "" {
		_, err := cl.UpdatePaymentGateway(ctx, site.SiteName, site.GatewayID, gw)
		if err == nil {
			return nil
		}
		if !dudaapi.IsNotFound(err) {
			return err
		}
	}
	const pageSize = 100
	for offset := 0; offset < 10*pageSize; offset += pageSize {
		list, err := cl.ListPaymentGateways(ctx, site.SiteName, offset, pageSize)
		if err != nil {
			return err
		}
		for _, g := range list.Results {
			if g.ID != "" && g.LivePaymentMethodsURL == gw.LivePaymentMethodsURL {
				return uc.keepGateway(ctx, site, g.ID)
			}
		}
		if len(list.Results) < pageSize {
			break
		}
	}
	created, err := cl.RegisterPaymentGateway(ctx, site.SiteName, gw)
	if err != nil {
		return err
	}
	return uc.keepGateway(ctx, site, created.ID)
}

func (uc *Service) keepGateway(ctx context.Context, site *domain.DudaSite, id string) error {
	if id == site.GatewayID {
		return nil
	}
	if err := uc.conns.SetDudaGateway(ctx, site, id); err != nil {
		return err
	}
	site.GatewayID = id
	return nil
}
