// Package platform is the application layer: the domain functions the Admin API, the Admin
// Panel, the checkout runtime and the workers all call. Each function authorises its actor,
// validates its input before writing, writes in one database transaction (with its audit
// entry and outbox events), and returns domain structs and *domain.Error values.
package platform

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/metrics"
	"paygate.dev/pkg/netguard"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/secrets"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/tax"
)

// Deps are what the service needs.
type Deps struct {
	Store   *store.Store
	Keys    *secrets.Keyring
	Hosts   config.Hosts
	Log     *slog.Logger
	Metrics *metrics.Registry
	Mailer  Mailer
	// Dev relaxes URL rules for local development (http://localhost return URLs in test mode).
	Dev bool
	Now func() time.Time
	// Providers are the payment providers this process can use, built for the service.
	Providers providers.Registry
	// VIES checks EU VAT ids for sites that ask for it (nil: format checks only).
	VIES tax.VATChecker
	// IPNAllowPrivate accepts ipnUrls on loopback, private and other internal addresses
	// (IPN_ALLOW_PRIVATE_TARGETS, the same setting the main backend's notifier obeys). Each
	// checkout records it (Checkout.IPNAllowPrivate): its deliveries may reach an internal
	// address only if it was on when the checkout was created and still is when sending.
	IPNAllowPrivate bool
	// IPNResolver resolves ipnUrl host names for that check (default: the system resolver).
	IPNResolver netguard.Resolver
}

// Service carries out the platform's use cases.
type Service struct {
	store   *store.Store
	keys    *secrets.Keyring
	hosts   config.Hosts
	log     *slog.Logger
	metrics *metrics.Registry
	mailer  Mailer
	dev     bool
	now     func() time.Time

	dataKeys  *sync.Map // organisation id → *secrets.DataKey
	providers providers.Set
	vies      tax.VATChecker
	// ipnTargets is the SSRF policy applied to every ipnUrl a merchant gives.
	ipnTargets netguard.Policy
	// returnURLs lets integrations decide where a buyer goes after paying (by checkout origin).
	returnURLs map[domain.CheckoutOrigin]ReturnURLFunc
	// cancelURLs lets integrations decide where the page's cancel link goes (by checkout origin).
	cancelURLs map[domain.CheckoutOrigin]CancelURLFunc
	// returnOnPending names the origins whose buyers go back once a payment is pending.
	returnOnPending map[domain.CheckoutOrigin]bool
	// refundLocks queues this process's refund calls per transaction (see lockRefunds).
	refundLocks *keyedLocks

	onKeyChange func(keyID string)
}

// New builds the service.
func New(d Deps) *Service {
	s := &Service{store: d.Store, keys: d.Keys, hosts: d.Hosts, log: d.Log, metrics: d.Metrics, mailer: d.Mailer, dev: d.Dev, now: d.Now, dataKeys: &sync.Map{}, refundLocks: newKeyedLocks(),
		vies: d.VIES, returnURLs: map[domain.CheckoutOrigin]ReturnURLFunc{},
		cancelURLs: map[domain.CheckoutOrigin]CancelURLFunc{}, returnOnPending: map[domain.CheckoutOrigin]bool{},
		ipnTargets: netguard.Policy{AllowPrivate: d.IPNAllowPrivate, Resolver: d.IPNResolver}}
	s.providers = d.Providers.Build(providerPort{s})
	if s.now == nil {
		s.now = time.Now
	}
	if s.metrics == nil {
		s.metrics = metrics.New()
	}
	if s.mailer == nil {
		// Never a logging mailer: a link in a log is a credential anyone reading logs can use.
		s.mailer = DisabledMailer{}
	}
	return s
}

// InTx runs fn with a service bound to one database transaction: everything the service writes
// inside fn commits together (used to store an idempotent answer atomically with its effect).
func (s *Service) InTx(ctx context.Context, fn func(*Service) error) error {
	return s.store.InTx(ctx, func(tx *store.Store) error {
		c := *s
		c.store = tx
		return fn(&c)
	})
}

// Store exposes the store to packages that build on the service (workers, adapters).
func (s *Service) Store() *store.Store { return s.store }

// Hosts are the public host names.
func (s *Service) Hosts() config.Hosts { return s.hosts }

// OnAPIKeyChange registers a callback run when a key is revoked or rotated in this process
// (the authenticator drops it from its cache).
func (s *Service) OnAPIKeyChange(fn func(keyID string)) { s.onKeyChange = fn }

// dataKey returns an organisation's unwrapped data key (cached: it never changes).
func (s *Service) dataKey(ctx context.Context, orgID string) (*secrets.DataKey, error) {
	if v, ok := s.dataKeys.Load(orgID); ok {
		return v.(*secrets.DataKey), nil
	}
	org, err := s.store.GetOrganization(ctx, orgID)
	if err != nil {
		return nil, err
	}
	dk, err := s.keys.UnwrapDataKey(org.DataKey, orgID)
	if err != nil {
		return nil, domain.Internal(err, "cannot open the organisation's data key (wrong MASTER_KEY?)")
	}
	s.dataKeys.Store(orgID, dk)
	return dk, nil
}

// seal encrypts a secret for one field of one row.
func (s *Service) seal(ctx context.Context, orgID, purpose string, plaintext []byte) (string, error) {
	dk, err := s.dataKey(ctx, orgID)
	if err != nil {
		return "", err
	}
	out, err := dk.Seal(plaintext, purpose)
	if err != nil {
		return "", domain.Internal(err, "encrypt secret")
	}
	return out, nil
}

// open decrypts what seal wrote.
func (s *Service) open(ctx context.Context, orgID, purpose, sealed string) ([]byte, error) {
	dk, err := s.dataKey(ctx, orgID)
	if err != nil {
		return nil, err
	}
	pt, err := dk.Open(sealed, purpose)
	if err != nil {
		return nil, domain.Internal(err, "decrypt secret for %s", purpose)
	}
	return pt, nil
}

// SealAnswer seals a stored idempotency answer that carries a secret shown once (a new API
// key, a webhook secret): ref is the record's key, so a sealed answer opens only as its own.
func (s *Service) SealAnswer(ctx context.Context, orgID, ref string, body []byte) (string, error) {
	return s.seal(ctx, orgID, answerPurpose(ref), body)
}

// OpenAnswer opens what SealAnswer sealed.
func (s *Service) OpenAnswer(ctx context.Context, orgID, ref, sealed string) ([]byte, error) {
	return s.open(ctx, orgID, answerPurpose(ref), sealed)
}

func answerPurpose(ref string) string { return "idempotency:" + ref }

func (s *Service) sealJSON(ctx context.Context, orgID, purpose string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", domain.Internal(err, "encode secret")
	}
	return s.seal(ctx, orgID, purpose, b)
}

func (s *Service) openJSON(ctx context.Context, orgID, purpose, sealed string, v any) error {
	b, err := s.open(ctx, orgID, purpose, sealed)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return domain.Internal(err, "decode secret")
	}
	return nil
}

// inOrg rejects an actor acting on another organisation with NOT_FOUND (never reveal it exists).
func inOrg(actor domain.Actor, orgID string) error {
	if actor.Type == domain.ActorSystem || actor.PlatformAdmin || actor.OrganizationID == orgID {
		return nil
	}
	return domain.NotFound("organization")
}

// modeFilter narrows a list's mode filter to what actor sees (see auth.Authorize on modes):
// an API key lists only its own mode's objects. ok is false when the filter asks for the
// other mode, which the key never sees: the list is empty.
func modeFilter(actor domain.Actor, m *domain.Mode) (ok bool) {
	switch {
	case actor.Mode == "":
		return true
	case *m == "":
		*m = actor.Mode
	}
	return *m == actor.Mode
}

// ofModeSeen keeps the objects whose mode actor sees.
func ofModeSeen[T any](actor domain.Actor, list []T, mode func(*T) domain.Mode) []T {
	if actor.Mode == "" {
		return list
	}
	out := list[:0:0]
	for i := range list {
		if actor.Sees(mode(&list[i])) {
			out = append(out, list[i])
		}
	}
	return out
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// Log is the service's logger (adapters log through it).
func (s *Service) Log() *slog.Logger { return s.log }
