package dudaconn

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/duda"
)

// DudaConnectionInput creates or edits a Duda connection; nil fields keep their value. The
// app password and app secret are write-only.
type DudaConnectionInput struct {
	SiteID      *string
	AppUUID     *string
	AppUser     *string
	AppPassword *string
	AppSecret   *string
	// IPNURL receives the merchant notifications of the checkouts made for Duda (optional).
	IPNURL  *string
	Enabled *bool
}

// DudaConnection is a connection as operators see it: secrets masked, the URLs to paste into
// Duda's developer portal, and the Duda sites the app was installed on.
type DudaConnection struct {
	*domain.DudaConnection
	CredentialsHint map[string]string // masked app password and app secret
	IPNURL          string
	URLs            DudaURLs
	Sites           []domain.DudaSite
}

// DudaURLs are the main-backend endpoints a Duda app is configured with.
type DudaURLs struct {
	Install            string
	Uninstall          string
	PaymentMethodsLive string
	PaymentMethodsTest string
}

// DudaApp is what the Duda integration needs to act for a connection: its row and its
// decrypted credentials and settings.
type DudaApp struct {
	Connection  *domain.DudaConnection
	Credentials duda.AppCredentials
	IPNURL      string
}

// dudaSecrets is the sealed JSON of a connection: the app's secrets and its settings.
type dudaSecrets struct {
	AppPassword string `json:"appPassword"`
	AppSecret   string `json:"appSecret"`
	IPNURL      string `json:"ipnUrl,omitempty"`
}

// dudaTokens is the sealed JSON of a Duda site's tokens.
type dudaTokens struct {
	AccessToken  string    `json:"accessToken"`
	RefreshToken string    `json:"refreshToken"`
	ExpiresAt    time.Time `json:"expiresAt,omitzero"`
}

func dudaConnectionPurpose(id string) string { return "duda_connection:" + id + ":credentials" }

// Connection ids never hold a colon, so connection and site name cannot be confused.
func dudaTokensPurpose(connectionID, siteName string) string {
	return "duda_site:" + connectionID + ":" + siteName + ":tokens"
}

// dudaActor is the platform acting on Duda's behalf (lifecycle calls, token refreshes).
func dudaActor(orgID string) domain.Actor {
	return domain.Actor{Type: domain.ActorSystem, ID: "duda", Label: "duda", OrganizationID: orgID}
}

// DudaBaseURL is where a connection's Duda endpoints live on the main backend.
func (s *Service) DudaBaseURL(connectionID string) string {
	return s.Hosts().MainBackendURL() + "/duda/" + connectionID
}

// DudaURLs are a connection's endpoints, as pasted into Duda's developer portal.
func (s *Service) DudaURLs(connectionID string) DudaURLs {
	base := s.DudaBaseURL(connectionID)
	return DudaURLs{Install: base + "/lifecycle/install", Uninstall: base + "/lifecycle/uninstall",
		PaymentMethodsLive: base + "/payment-methods/live", PaymentMethodsTest: base + "/payment-methods/test"}
}

// CreateDudaConnection connects a Duda gateway app to one of the organisation's sites. The app
// password and secret are sealed under the organisation's data key and shown masked from then on.
//
// Errors: 400 VALIDATION_ERROR for a missing or malformed field (siteId must be one of the
// organisation's sites; appSecret must be base64, as Duda hands it out).
func (s *Service) CreateDudaConnection(ctx context.Context, actor domain.Actor, orgID string, in DudaConnectionInput) (*DudaConnection, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "duda", "create"); err != nil {
		return nil, err
	}
	c := &domain.DudaConnection{ID: domain.NewID(domain.PrefixDudaConn), OrganizationID: orgID, Enabled: true}
	sec := dudaSecrets{}
	// Every mistake is reported at once (domain.Invalids): a missing field is "required", the
	// others are checked as an update checks them.
	var bad domain.Invalids
	for _, f := range []struct {
		name string
		v    **string
	}{{"siteId", &in.SiteID}, {"appUuid", &in.AppUUID}, {"appUser", &in.AppUser}, {"appPassword", &in.AppPassword}, {"appSecret", &in.AppSecret}} {
		if *f.v == nil || strings.TrimSpace(**f.v) == "" {
			bad.Add(f.name, "%s is required", f.name)
			*f.v = nil
		}
	}
	if err := bad.Collect(s.applyDudaInput(ctx, c, &sec, in)); err != nil {
		return nil, err
	}
	if err := bad.Collect(s.checkouts.CheckIPNTarget(ctx, sec.IPNURL)); err != nil {
		return nil, err
	}
	if bad.Failed() {
		return nil, bad.Err()
	}
	sealed, err := s.tenancy.SealJSON(ctx, orgID, dudaConnectionPurpose(c.ID), sec)
	if err != nil {
		return nil, err
	}
	c.Credentials = sealed
	err = s.store.InTx(ctx, func(tx Store) error {
		if err := tx.CreateDudaConnection(ctx, c); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "duda_connection.create", "duda_connection", c.ID, map[string]any{
			"siteId": c.SiteID, "appUuid": c.AppUUID, "appUser": c.AppUser, "enabled": c.Enabled, "credentials": dudaHint(sec)})
	})
	if err != nil {
		return nil, err
	}
	return s.dudaConnectionView(ctx, c, sec)
}

// applyDudaInput validates the fields present in in and writes them to c and sec. Every
// invalid field is reported (the first as the error, the others in its Also), so that a form
// shows them all at once; an error that is not about the input (a failed read) wins alone.
func (s *Service) applyDudaInput(ctx context.Context, c *domain.DudaConnection, sec *dudaSecrets, in DudaConnectionInput) error {
	var bad domain.Invalids
	if in.SiteID != nil {
		id := strings.TrimSpace(*in.SiteID)
		if _, err := s.store.GetSite(ctx, c.OrganizationID, id); err != nil {
			if !domain.IsNotFound(err) {
				return err
			}
			bad.Add("siteId", "siteId must be one of the organisation's sites")
		}
		c.SiteID = id
	}
	if in.AppUUID != nil {
		v := strings.TrimSpace(*in.AppUUID)
		if v == "" || len(v) > 200 || strings.ContainsAny(v, "/?#%\\ \t\r\n") || v == "." || v == ".." {
			bad.Add("appUuid", "appUuid must be the app's UUID from Duda's developer portal")
		}
		c.AppUUID = v
	}
	if in.AppUser != nil {
		v := strings.TrimSpace(*in.AppUser)
		if v == "" || len(v) > 200 || strings.ContainsAny(v, ":\r\n") {
			bad.Add("appUser", "appUser must be the app's API user (at most 200 characters, no colon)")
		}
		c.AppUser = v
	}
	if in.AppPassword != nil {
		v := strings.TrimSpace(*in.AppPassword)
		if v == "" || len(v) > 4000 {
			bad.Add("appPassword", "appPassword must be the app's API password")
		}
		sec.AppPassword = v
	}
	if in.AppSecret != nil {
		v := strings.TrimSpace(*in.AppSecret)
		// Sign answers "" exactly when the secret is not base64: then no signature could verify.
		if v == "" || len(v) > 4000 || duda.Sign(v, "0", nil) == "" {
			bad.Add("appSecret", "appSecret must be the app's base64 secret from Duda's developer portal")
		}
		sec.AppSecret = v
	}
	if in.IPNURL != nil {
		v, err := s.checkDudaIPNURL(*in.IPNURL)
		if err := bad.Collect(err); err != nil {
			return err
		}
		sec.IPNURL = v
	}
	if in.Enabled != nil {
		c.Enabled = *in.Enabled
	}
	return bad.Err()
}

// checkDudaIPNURL accepts an absolute https URL (http only for localhost, which only test-mode
// checkouts will use); each checkout checks it again for its own mode. An IP literal or
// localhost name is judged by the SSRF policy here (400 IPN_URL_PRIVATE); callers look other
// names up with CheckIPNTarget.
func (s *Service) checkDudaIPNURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || len(raw) > checkout.MaxURLLength {
		return "", domain.Invalid("ipnUrl", "ipnUrl must be an absolute https URL")
	}
	if _, err := s.ipnTargets.CheckLiteral(strings.ToLower(u.Hostname())); err != nil {
		return "", domain.IPNURLPrivate(err.Error())
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && checkout.IsLocalhost(strings.ToLower(u.Hostname()))) {
		return "", domain.Invalid("ipnUrl", "ipnUrl must use https")
	}
	return raw, nil
}

func dudaHint(sec dudaSecrets) map[string]string {
	return map[string]string{"appPassword": domain.MaskSecret(sec.AppPassword), "appSecret": domain.MaskSecret(sec.AppSecret)}
}

func (s *Service) openDudaSecrets(ctx context.Context, c *domain.DudaConnection) (dudaSecrets, error) {
	var sec dudaSecrets
	err := s.tenancy.OpenJSON(ctx, c.OrganizationID, dudaConnectionPurpose(c.ID), c.Credentials, &sec)
	return sec, err
}

func (s *Service) dudaConnectionView(ctx context.Context, c *domain.DudaConnection, sec dudaSecrets) (*DudaConnection, error) {
	sites, err := s.store.ListDudaSites(ctx, c.OrganizationID, c.ID)
	if err != nil {
		return nil, err
	}
	return &DudaConnection{DudaConnection: c, CredentialsHint: dudaHint(sec), IPNURL: sec.IPNURL, URLs: s.DudaURLs(c.ID), Sites: sites}, nil
}

// GetDudaConnection returns a connection with its Duda sites; NOT_FOUND for another
// organisation's.
func (s *Service) GetDudaConnection(ctx context.Context, actor domain.Actor, orgID, id string) (*DudaConnection, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "duda", "read"); err != nil {
		return nil, err
	}
	c, err := s.store.GetDudaConnection(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	sec, err := s.openDudaSecrets(ctx, c)
	if err != nil {
		return nil, err
	}
	return s.dudaConnectionView(ctx, c, sec)
}

// ListDudaConnections lists the organisation's connections, oldest first.
func (s *Service) ListDudaConnections(ctx context.Context, actor domain.Actor, orgID string) ([]*DudaConnection, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "duda", "read"); err != nil {
		return nil, err
	}
	list, err := s.store.ListDudaConnections(ctx, orgID)
	if err != nil {
		return nil, err
	}
	out := make([]*DudaConnection, 0, len(list))
	for i := range list {
		sec, err := s.openDudaSecrets(ctx, &list[i])
		if err != nil {
			return nil, err
		}
		v, err := s.dudaConnectionView(ctx, &list[i], sec)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// UpdateDudaConnection edits a connection: secrets sent replace the stored ones, an empty
// ipnUrl removes it.
func (s *Service) UpdateDudaConnection(ctx context.Context, actor domain.Actor, orgID, id string, in DudaConnectionInput) (*DudaConnection, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "duda", "update"); err != nil {
		return nil, err
	}
	// ipnErr is the ipnUrl's mistake, reported with the other fields' (domain.Invalids).
	var ipnErr error
	if in.IPNURL != nil {
		// Looked up before the transaction, not while it holds the connection's row.
		v, err := s.checkDudaIPNURL(*in.IPNURL)
		if err == nil {
			err = s.checkouts.CheckIPNTarget(ctx, v)
		}
		if domain.ErrorKind(err) != domain.KindInvalid && err != nil {
			return nil, err
		}
		if ipnErr = err; ipnErr != nil {
			in.IPNURL = nil // reported once, not again by applyDudaInput
		}
	}
	var c *domain.DudaConnection
	var sec dudaSecrets
	err := s.store.InTx(ctx, func(tx Store) error {
		var err error
		if c, err = tx.GetDudaConnection(ctx, orgID, id); err != nil {
			return err
		}
		if sec, err = s.openDudaSecrets(ctx, c); err != nil {
			return err
		}
		// Blank secrets keep the stored ones (forms send every field).
		for _, p := range []**string{&in.AppPassword, &in.AppSecret} {
			if *p != nil && strings.TrimSpace(**p) == "" {
				*p = nil
			}
		}
		var bad domain.Invalids
		_ = bad.Collect(ipnErr) // only ever a field's error
		if err := bad.Collect(s.applyDudaInput(ctx, c, &sec, in)); err != nil {
			return err
		}
		if bad.Failed() {
			return bad.Err()
		}
		if c.Credentials, err = s.tenancy.SealJSON(ctx, orgID, dudaConnectionPurpose(c.ID), sec); err != nil {
			return err
		}
		if err := tx.UpdateDudaConnection(ctx, c); err != nil {
			return err
		}
		changed := []string{}
		if in.AppPassword != nil {
			changed = append(changed, "appPassword")
		}
		if in.AppSecret != nil {
			changed = append(changed, "appSecret")
		}
		return tx.Audit(ctx, actor, "duda_connection.update", "duda_connection", c.ID, map[string]any{
			"siteId": c.SiteID, "appUuid": c.AppUUID, "appUser": c.AppUser, "enabled": c.Enabled, "credentialsChanged": changed})
	})
	if err != nil {
		return nil, err
	}
	return s.dudaConnectionView(ctx, c, sec)
}

// DeleteDudaConnection removes a connection. One still installed on a Duda site, or with
// checkouts from Duda, cannot be deleted (CONFLICT): uninstall the app, or disable it.
func (s *Service) DeleteDudaConnection(ctx context.Context, actor domain.Actor, orgID, id string) error {
	if err := auth.InOrg(actor, orgID); err != nil {
		return err
	}
	if err := auth.Authorize(actor, "duda", "delete"); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx Store) error {
		if err := tx.DeleteDudaConnection(ctx, orgID, id); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "duda_connection.delete", "duda_connection", id, nil)
	})
}

// OpenDudaConnection decrypts a connection's credentials for the integration (never shown).
func (s *Service) OpenDudaConnection(ctx context.Context, c *domain.DudaConnection) (*DudaApp, error) {
	sec, err := s.openDudaSecrets(ctx, c)
	if err != nil {
		return nil, err
	}
	return &DudaApp{Connection: c, IPNURL: sec.IPNURL, Credentials: duda.AppCredentials{
		AppUser: c.AppUser, AppPassword: sec.AppPassword, AppUUID: c.AppUUID, AppSecret: sec.AppSecret}}, nil
}

// RecordDudaInstall records the app's install on a Duda site (a record the Duda use cases made
// from the install call, its API endpoint checked): the site's tokens sealed into it, the row
// inserted or, on a reinstall, updated, and the install audited. site is reloaded as stored.
func (s *Service) RecordDudaInstall(ctx context.Context, c *domain.DudaConnection, site *domain.DudaSite, t duda.Tokens) error {
	sealed, err := s.sealDudaTokens(ctx, c, site.SiteName, t)
	if err != nil {
		return err
	}
	site.OrganizationID, site.ConnectionID, site.Tokens, site.TokenExpiresAt = c.OrganizationID, c.ID, sealed, timePtr(t.ExpiresAt)
	return s.store.InTx(ctx, func(tx Store) error {
		if err := tx.UpsertDudaSite(ctx, site); err != nil {
			return err
		}
		return tx.Audit(ctx, dudaActor(c.OrganizationID), "duda_site.install", "duda_site", site.ID, map[string]any{
			"connectionId": c.ID, "siteName": site.SiteName, "apiEndpoint": site.APIEndpoint})
	})
}

// UninstallDudaSite records Duda's uninstall call: the site's tokens and gateway id are wiped.
func (s *Service) UninstallDudaSite(ctx context.Context, site *domain.DudaSite) error {
	return s.store.InTx(ctx, func(tx Store) error {
		if err := tx.MarkDudaSiteUninstalled(ctx, site.ID); err != nil {
			return err
		}
		return tx.Audit(ctx, dudaActor(site.OrganizationID), "duda_site.uninstall", "duda_site", site.ID, map[string]any{
			"connectionId": site.ConnectionID, "siteName": site.SiteName, "gatewayId": site.GatewayID})
	})
}

// SetDudaGateway keeps the id of the payment gateway registered on a Duda site.
func (s *Service) SetDudaGateway(ctx context.Context, site *domain.DudaSite, gatewayID string) error {
	return s.store.InTx(ctx, func(tx Store) error {
		if err := tx.SetDudaSiteGateway(ctx, site.ID, gatewayID); err != nil {
			return err
		}
		return tx.Audit(ctx, dudaActor(site.OrganizationID), "duda_site.gateway", "duda_site", site.ID, map[string]any{
			"siteName": site.SiteName, "gatewayId": gatewayID})
	})
}

// DudaTokens decrypts an installed site's tokens; duda.ErrNoTokens (wrapped) when the app is
// not installed there.
func (s *Service) DudaTokens(ctx context.Context, site *domain.DudaSite) (duda.Tokens, error) {
	if !site.Installed() || site.Tokens == "" {
		return duda.Tokens{}, duda.ErrNoTokens
	}
	var t dudaTokens
	if err := s.tenancy.OpenJSON(ctx, site.OrganizationID, dudaTokensPurpose(site.ConnectionID, site.SiteName), site.Tokens, &t); err != nil {
		return duda.Tokens{}, err
	}
	return duda.Tokens{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, ExpiresAt: t.ExpiresAt}, nil
}

// SaveDudaTokens seals and stores a site's refreshed tokens.
func (s *Service) SaveDudaTokens(ctx context.Context, c *domain.DudaConnection, site *domain.DudaSite, t duda.Tokens) error {
	sealed, err := s.sealDudaTokens(ctx, c, site.SiteName, t)
	if err != nil {
		return err
	}
	return s.store.SetDudaSiteTokens(ctx, site.ID, sealed, timePtr(t.ExpiresAt))
}

func (s *Service) sealDudaTokens(ctx context.Context, c *domain.DudaConnection, siteName string, t duda.Tokens) (string, error) {
	return s.tenancy.SealJSON(ctx, c.OrganizationID, dudaTokensPurpose(c.ID, siteName),
		dudaTokens{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, ExpiresAt: t.ExpiresAt.UTC()})
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// ErrDudaSessionTaken says a Duda payment session already has its checkout (a concurrent
// arrival made it first): CreateDudaCheckout made none.
var ErrDudaSessionTaken = errors.New("the Duda payment session already has a checkout")

// CreateDudaCheckout makes the checkout of a Duda payment session together with the session's
// record (sess, whose CheckoutID and Mode it fills in), in one transaction. A session that
// already has a checkout makes none: ErrDudaSessionTaken (wrapped).
func (s *Service) CreateDudaCheckout(ctx context.Context, actor domain.Actor, orgID, siteID string, in checkout.CheckoutInput, sess *domain.DudaSession) (*domain.Checkout, error) {
	var co *domain.Checkout
	err := s.store.InTx(ctx, func(tx Store) error {
		var err error
		if co, err = s.checkouts.WithStore(s.checkoutStore(tx)).CreateCheckout(ctx, actor, orgID, siteID, in); err != nil {
			return err
		}
		sess.CheckoutID, sess.Mode = co.ID, string(co.Mode)
		return tx.CreateDudaSession(ctx, sess)
	})
	if domain.IsConstraint(err, "duda_sessions_session_key") || domain.IsConstraint(err, "checkouts_origin_ref_key") {
		return nil, fmt.Errorf("%w: %w", ErrDudaSessionTaken, err)
	}
	if err != nil {
		return nil, err
	}
	return co, nil
}
