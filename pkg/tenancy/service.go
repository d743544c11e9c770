// Package tenancy holds the tenancy use cases: organisations, users and their sign-in,
// members, API keys, sites and provider configurations, the demo seed, and the e-mail those
// flows send. Each use case authorises its actor, validates before writing, writes in one
// database transaction (with its audit entry), and returns domain structs and *domain.Error
// values. It reaches storage only through its Store port.
//
// The organisations' data keys live here too: Seal and Open encrypt the secrets other
// capabilities keep for an organisation (provider credentials, Duda tokens, stored answers).
package tenancy

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/netguard"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/secrets"
)

// Deps are what the service needs.
type Deps struct {
	Store  Store
	Keys   *secrets.Keyring
	Hosts  config.Hosts
	Log    *slog.Logger
	Mailer Mailer
	Now    func() time.Time
	// EventTargets is the SSRF policy a site's eventsUrl must pass: the checkouts' ipnUrl
	// policy (IPN_ALLOW_PRIVATE_TARGETS, the resolver), which the notifier applies again on
	// every delivery.
	EventTargets netguard.Policy
}

// Service carries out the tenancy use cases.
type Service struct {
	store  Store
	keys   *secrets.Keyring
	hosts  config.Hosts
	log    *slog.Logger
	mailer Mailer
	now    func() time.Time
	// eventTargets: see Deps.EventTargets.
	eventTargets netguard.Policy

	dataKeys *sync.Map // organisation id → *secrets.DataKey
	// providers are the payment providers built for the payment service (UseProviders): they
	// check a configuration's credentials and test its connection.
	providers *providerSet

	onKeyChange func(keyID string)
}

type providerSet struct{ providers.Set }

// New builds the service.
func New(d Deps) *Service {
	s := &Service{store: d.Store, keys: d.Keys, hosts: d.Hosts, log: d.Log, mailer: d.Mailer, now: d.Now,
		eventTargets: d.EventTargets, dataKeys: &sync.Map{}, providers: &providerSet{}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.mailer == nil {
		// Never a logging mailer: a link in a log is a credential anyone reading logs can use.
		s.mailer = DisabledMailer{}
	}
	return s
}

// UseProviders hands the service the providers built for the payment service (they are built
// on the payment service, which needs this one: wiring builds both, then calls this).
func (s *Service) UseProviders(set providers.Set) { s.providers.Set = set }

// WithStore returns the service acting on st (a transaction's store): what it writes commits
// with that transaction.
func (s *Service) WithStore(st Store) *Service {
	c := *s
	c.store = st
	return &c
}

// InTx runs fn with the service bound to one database transaction.
func (s *Service) InTx(ctx context.Context, fn func(*Service) error) error {
	return s.store.InTx(ctx, func(tx Store) error { return fn(s.WithStore(tx)) })
}

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

// Seal encrypts a secret of an organisation for one purpose (one field of one row): it opens
// only with the same purpose.
func (s *Service) Seal(ctx context.Context, orgID, purpose string, plaintext []byte) (string, error) {
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

// Open decrypts what Seal wrote.
func (s *Service) Open(ctx context.Context, orgID, purpose, sealed string) ([]byte, error) {
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
	return s.Seal(ctx, orgID, answerPurpose(ref), body)
}

// OpenAnswer opens what SealAnswer sealed.
func (s *Service) OpenAnswer(ctx context.Context, orgID, ref, sealed string) ([]byte, error) {
	return s.Open(ctx, orgID, answerPurpose(ref), sealed)
}

func answerPurpose(ref string) string { return "idempotency:" + ref }

// SealJSON seals v's JSON.
func (s *Service) SealJSON(ctx context.Context, orgID, purpose string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", domain.Internal(err, "encode secret")
	}
	return s.Seal(ctx, orgID, purpose, b)
}

// OpenJSON opens what SealJSON sealed into v.
func (s *Service) OpenJSON(ctx context.Context, orgID, purpose, sealed string, v any) error {
	b, err := s.Open(ctx, orgID, purpose, sealed)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return domain.Internal(err, "decode secret")
	}
	return nil
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }
