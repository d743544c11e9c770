package dudaapp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/riverqueue/river"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/duda"
	"paygate.dev/pkg/platform"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/store"
)

// lifecycleCallTimeout bounds what an install or uninstall spends calling Duda: Duda waits 60 s
// for our answer and never retries.
const lifecycleCallTimeout = 25 * time.Second

// lifecycleDigest names a signed lifecycle call: the digest of its signed text (timestamp and body).
func lifecycleDigest(r *http.Request, body []byte) string {
	sum := sha256.Sum256(append([]byte(r.Header.Get(duda.HeaderSignatureTimestamp)+"."), body...))
	return hex.EncodeToString(sum[:])
}

// firstDelivery remembers a signed lifecycle call as processed and reports whether this is its
// first delivery: a replay within the signature's freshness window is answered without acting
// again (an old install would put back tokens Duda has since rotated, an old uninstall would
// undo a reinstall). Calls are remembered well beyond that window.
func (a *App) firstDelivery(ctx context.Context, conn *store.DudaConnection, digest, kind, siteName string) (bool, error) {
	tol := a.tolerance
	if tol <= 0 {
		tol = duda.DefaultSignatureTolerance
	}
	keep := max(24*time.Hour, 4*tol)
	first, err := a.store.RememberDudaLifecycleCall(ctx, &store.DudaLifecycleCall{ConnectionID: conn.ID, Digest: digest, Kind: kind, SiteName: siteName},
		a.svc.Now().Add(-keep))
	if err == nil && !first {
		a.log.WarnContext(ctx, "a replayed Duda lifecycle call was ignored", "connection_id", conn.ID, "kind", kind, "site_name", siteName)
	}
	return first, err
}

// forgetDelivery lets a lifecycle call whose processing failed be delivered again.
func (a *App) forgetDelivery(ctx context.Context, conn *store.DudaConnection, digest string) {
	if err := a.store.ForgetDudaLifecycleCall(context.WithoutCancel(ctx), conn.ID, digest); err != nil {
		a.log.ErrorContext(ctx, "forget Duda lifecycle call", "connection_id", conn.ID, "error", err)
	}
}

// verifiedLifecycle loads the connection and checks Duda's signature on the call; it answers
// the request itself (and returns nil, nil) when the call is refused.
func (a *App) verifiedLifecycle(c echo.Context) (*platform.DudaApp, []byte, error) {
	ctx := c.Request().Context()
	app, err := a.connection(ctx, c.Param("connectionId"))
	if domain.IsNotFound(err) {
		return nil, nil, answer(c, http.StatusNotFound, errorBody("unknown connection"))
	}
	if err != nil {
		return nil, nil, err
	}
	body, err := duda.VerifyRequest(c.Request(), app.Credentials.AppSecret, a.svc.Now(), a.tolerance)
	if err != nil {
		if errors.Is(err, duda.ErrBadSignature) || errors.Is(err, duda.ErrStaleTimestamp) {
			a.metrics.WebhookFailures.WithLabelValues("duda").Inc()
			a.log.WarnContext(ctx, "Duda lifecycle call rejected", "connection_id", app.Connection.ID, "error", err)
			return nil, nil, answer(c, http.StatusUnauthorized, errorBody("invalid signature"))
		}
		return nil, nil, err
	}
	return app, body, nil
}

// install records the app's install on a Duda site and registers our payment gateway there.
// A registration that fails is retried by a job: the install itself is never lost (Duda does
// not repeat it).
func (a *App) install(c echo.Context) error {
	ctx := c.Request().Context()
	app, body, err := a.verifiedLifecycle(c)
	if app == nil {
		return err
	}
	var p duda.InstallPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return answer(c, http.StatusBadRequest, errorBody("malformed install payload: not valid JSON"))
	}
	if err := duda.CheckAPIEndpoint(p.APIEndpoint, a.origins...); err != nil {
		a.log.WarnContext(ctx, "Duda install with an unknown api_endpoint refused", "connection_id", app.Connection.ID, "site_name", p.SiteName, "api_endpoint", p.APIEndpoint)
		return answer(c, http.StatusBadRequest, errorBody("api_endpoint is not a known Duda API origin"))
	}
	digest := lifecycleDigest(c.Request(), body)
	if first, err := a.firstDelivery(ctx, app.Connection, digest, "install", p.SiteName); err != nil || !first {
		if err != nil {
			return err
		}
		return answer(c, http.StatusOK, map[string]any{"installed": true, "replayed": true})
	}
	site, err := a.svc.InstallDudaSite(ctx, app.Connection, p)
	if err != nil {
		a.forgetDelivery(ctx, app.Connection, digest)
		if domain.ErrorKind(err) == domain.KindInvalid {
			return answer(c, http.StatusBadRequest, errorBody(err.Error()))
		}
		return err
	}
	installKey := site.ID + ":" + strconv.FormatInt(site.InstalledAt.UnixMicro(), 10)
	// Outcomes owed to Duda while the app was away (a payment completed meanwhile) are
	// confirmed now that it is back.
	if _, err := queue.Insert(ctx, a.store, ResumeArgs{SiteID: site.ID, Key: installKey, OrganizationID: site.OrganizationID}, nil); err != nil {
		return err
	}
	gctx, cancel := context.WithTimeout(ctx, lifecycleCallTimeout)
	gwErr := a.ensureGateway(gctx, app, site)
	cancel()
	if gwErr != nil {
		a.log.WarnContext(ctx, "registering the Duda payment gateway failed; a job retries it", "connection_id", app.Connection.ID,
			"site_name", site.SiteName, "error", gwErr)
		// The first retry runs at once; the job backs off from there.
		now := a.svc.Now()
		if err := a.store.SetDudaSiteGatewayState(ctx, site.ID, store.DudaGatewayRetrying, gatewayErrorText(gwErr), 1, &now); err != nil {
			return err
		}
		if _, err := queue.Insert(ctx, a.store, GatewayArgs{SiteID: site.ID, Key: installKey, OrganizationID: site.OrganizationID}, nil); err != nil {
			return err
		}
		return answer(c, http.StatusOK, map[string]any{"installed": true, "gatewayPending": true})
	}
	if err := a.store.SetDudaSiteGatewayState(ctx, site.ID, store.DudaGatewayRegistered, "", 1, nil); err != nil {
		return err
	}
	return answer(c, http.StatusOK, map[string]any{"installed": true, "gatewayId": site.GatewayID})
}

// gatewayErrorText is Duda's refusal as the operator reads it on the Duda page.
func gatewayErrorText(err error) string {
	var ae *duda.APIError
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

// uninstall deletes our payment gateway from the Duda site and wipes the site's tokens.
func (a *App) uninstall(c echo.Context) error {
	ctx := c.Request().Context()
	app, body, err := a.verifiedLifecycle(c)
	if app == nil {
		return err
	}
	var p duda.UninstallPayload
	if err := json.Unmarshal(body, &p); err != nil || p.SiteName == "" {
		return answer(c, http.StatusBadRequest, errorBody("the uninstall payload needs site_name"))
	}
	digest := lifecycleDigest(c.Request(), body)
	if first, err := a.firstDelivery(ctx, app.Connection, digest, "uninstall", p.SiteName); err != nil || !first {
		if err != nil {
			return err
		}
		return answer(c, http.StatusOK, map[string]any{"uninstalled": true, "replayed": true})
	}
	site, err := a.store.GetDudaSite(ctx, app.Connection.ID, p.SiteName)
	if domain.IsNotFound(err) {
		return answer(c, http.StatusOK, map[string]any{"uninstalled": true})
	}
	if err != nil {
		a.forgetDelivery(ctx, app.Connection, digest)
		return err
	}
	if site.GatewayID != "" && site.Installed() {
		gctx, cancel := context.WithTimeout(ctx, lifecycleCallTimeout)
		err := a.deleteGateway(gctx, app, site)
		cancel()
		if err != nil {
			// The tokens are wiped below, so nothing can try again later: say so.
			a.log.WarnContext(ctx, "deleting the Duda payment gateway failed", "connection_id", app.Connection.ID,
				"site_name", site.SiteName, "gateway_id", site.GatewayID, "error", err)
		}
	}
	if site.Installed() {
		if err := a.svc.UninstallDudaSite(ctx, site); err != nil {
			a.forgetDelivery(ctx, app.Connection, digest)
			return err
		}
	}
	return answer(c, http.StatusOK, map[string]any{"uninstalled": true})
}

func (a *App) deleteGateway(ctx context.Context, app *platform.DudaApp, site *store.DudaSite) error {
	cl, err := a.siteClient(app, site)
	if err != nil {
		return err
	}
	return cl.DeletePaymentGateway(ctx, site.SiteName, site.GatewayID) // a 404 counts as gone
}

// gateway is our payment gateway as registered on a Duda site.
func (a *App) gateway(ctx context.Context, app *platform.DudaApp) duda.PaymentGateway {
	urls := a.svc.DudaURLs(app.Connection.ID)
	name := "Secure checkout"
	if s, err := a.store.GetSite(ctx, app.Connection.OrganizationID, app.Connection.SiteID); err == nil && s.Name != "" {
		name = s.Name
	}
	icon := a.iconURL("gateway")
	return duda.PaymentGateway{LivePaymentMethodsURL: urls.PaymentMethodsLive, TestPaymentMethodsURL: urls.PaymentMethodsTest,
		Name: name, Description: "Pay on a secure hosted checkout page", Image: icon, Icons: []string{icon}}
}

// ensureGateway makes sure the site has our gateway, with current URLs, and keeps its id. It is
// idempotent: a known gateway is updated in place, one registered by an earlier attempt whose
// answer was lost is found by its URL and adopted, and only otherwise is a new one registered.
func (a *App) ensureGateway(ctx context.Context, app *platform.DudaApp, site *store.DudaSite) error {
	cl, err := a.siteClient(app, site)
	if err != nil {
		return err
	}
	gw := a.gateway(ctx, app)
	if site.GatewayID != "" {
		_, err := cl.UpdatePaymentGateway(ctx, site.SiteName, site.GatewayID, gw)
		if err == nil {
			return nil
		}
		if !duda.IsNotFound(err) {
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
				return a.keepGateway(ctx, site, g.ID)
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
	return a.keepGateway(ctx, site, created.ID)
}

func (a *App) keepGateway(ctx context.Context, site *store.DudaSite, id string) error {
	if id == site.GatewayID {
		return nil
	}
	if err := a.svc.SetDudaGateway(ctx, site, id); err != nil {
		return err
	}
	site.GatewayID = id
	return nil
}

// installedSite reads a site job's site: nil (and no error) when the app was uninstalled
// from it meanwhile, which ends the job.
func (a *App) installedSite(ctx context.Context, siteID string) (*store.DudaSite, error) {
	site, err := a.store.GetDudaSiteByID(ctx, siteID)
	if err != nil {
		return nil, jobError(err)
	}
	if !site.Installed() {
		return nil, nil
	}
	return site, nil
}

// runGateway is the job that registers the gateway when the install call could not. Whatever
// Duda answers (a 405 while the store is being set up, a 5xx, a timeout) is retried with
// backoff until the attempts run out; the site's gateway state tells the operator where it
// stands (attempts, Duda's last answer, the next attempt, or that it gave up).
func (a *App) runGateway(ctx context.Context, siteID string) error {
	site, err := a.installedSite(ctx, siteID)
	if site == nil {
		return err // or uninstalled meanwhile
	}
	app, err := a.connection(ctx, site.ConnectionID)
	if err != nil {
		return jobError(err)
	}
	attempts := site.GatewayAttempts + 1
	gwErr := a.ensureGateway(ctx, app, site)
	if gwErr == nil {
		a.log.InfoContext(ctx, "Duda payment gateway registered", "site_name", site.SiteName, "gateway_id", site.GatewayID, "attempts", attempts)
		return a.store.SetDudaSiteGatewayState(ctx, site.ID, store.DudaGatewayRegistered, "", attempts, nil)
	}
	if errors.Is(gwErr, duda.ErrNoTokens) {
		return river.JobCancel(gwErr) // uninstalled meanwhile
	}
	msg := gatewayErrorText(gwErr)
	// The install made the first attempt; the job makes up to gatewayMaxAttempts more.
	if attempts > gatewayMaxAttempts {
		if err := a.store.SetDudaSiteGatewayState(ctx, site.ID, store.DudaGatewayFailed, msg, attempts, nil); err != nil {
			a.log.ErrorContext(ctx, "record Duda gateway state", "error", err)
		}
		return river.JobCancel(gwErr)
	}
	now := a.svc.Now()
	next := now.Add(a.gatewayBackoff(attempts - 1))
	if err := a.store.SetDudaSiteGatewayState(ctx, site.ID, store.DudaGatewayRetrying, msg, attempts, &next); err != nil {
		a.log.ErrorContext(ctx, "record Duda gateway state", "error", err)
	}
	a.log.WarnContext(ctx, "Duda did not register the payment gateway, retrying", "site_name", site.SiteName,
		"attempts", attempts, "next_attempt_at", next, "error", gwErr)
	// The next attempt at the time the site shows: the job waits (snoozes) until then.
	return river.JobSnooze(max(next.Sub(now), 0))
}

// runResume queues the confirmations a reinstalled site is owed: every session of the site made
// before the install and not yet confirmed PROCESSED whose outcome is due (a payment completed while the app was
// uninstalled, whose confirmation job gave up for want of tokens).
func (a *App) runResume(ctx context.Context, siteID string) error {
	site, err := a.installedSite(ctx, siteID)
	if site == nil {
		return err
	}
	install := strconv.FormatInt(site.InstalledAt.UnixMicro(), 10)
	queued := 0
	for after := ""; ; {
		// Sessions made since have their confirmations queued as usual.
		list, err := a.store.ListDudaSessionsNotProcessed(ctx, site.ID, *site.InstalledAt, after, 200)
		if err != nil {
			return err
		}
		for i := range list {
			sess := &list[i]
			after = sess.CheckoutID
			o, err := a.outcome(ctx, a.store, sess)
			if err != nil {
				return err
			}
			if !due(sess, o) {
				continue
			}
			if _, err := queue.Insert(ctx, a.store, ConfirmArgs{CheckoutID: sess.CheckoutID, Key: sess.CheckoutID + ":reinstall:" + install,
				OrganizationID: sess.OrganizationID}, nil); err != nil {
				return err
			}
			queued++
		}
		if len(list) < 200 {
			break
		}
	}
	if queued > 0 {
		a.log.InfoContext(ctx, "confirmations owed to a reinstalled Duda site queued", "site_name", site.SiteName, "count", queued)
	}
	return nil
}

// jobError decides whether a failed call to Duda is worth retrying: answers that cannot change
// (a 4xx other than 401, 408 and 429; a site the app left; an object gone) fail the job for good.
func jobError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, duda.ErrNoTokens) || domain.IsNotFound(err) {
		return river.JobCancel(err)
	}
	var ae *duda.APIError
	if errors.As(err, &ae) && ae.StatusCode != 0 && !duda.IsRetryable(err) && !duda.IsUnauthorized(err) {
		return river.JobCancel(err)
	}
	return err
}
