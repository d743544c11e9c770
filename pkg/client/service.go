// Package client holds the clients' use cases: the buyers of an organisation in one mode, known
// by their e-mail (created or updated by every checkout, and through the Admin API and the
// panel), their lifetime value and payments, and the customer risk holds an operator places on
// them, which refuse or narrow new checkouts. Each use case authorises its actor (organisation,
// permission, mode), validates before writing, writes in one database transaction with its audit
// entry, and returns domain structs and *domain.Error values. It reaches storage only through
// its Store port.
//
// Deleting a client: a client whose checkouts have payment attempts is part of the books
// (receipts, and later invoices and credit notes, name it) and is never deleted: 409
// CLIENT_HAS_TRANSACTIONS. A held client is not deleted either (409 CLIENT_HAS_ACTIVE_HOLD):
// the hold would go with it. Anything else (a client with checkouts but no payment attempt)
// is deleted; its checkouts lose the link.
package client

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
)

// Deps are what the service needs.
type Deps struct {
	Store Store
	Log   *slog.Logger
	Now   func() time.Time
}

// Service carries out the client use cases.
type Service struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
}

// New builds the service.
func New(d Deps) *Service {
	s := &Service{store: d.Store, log: d.Log, now: d.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// WithStore returns the service acting on st (a transaction's store): what it writes commits
// with that transaction.
func (s *Service) WithStore(st Store) *Service {
	c := *s
	c.store = st
	return &c
}

// allowed checks the actor's organisation and permission.
func allowed(actor domain.Actor, orgID, resource, action string) error {
	if err := auth.InOrg(actor, orgID); err != nil {
		return err
	}
	return auth.Authorize(actor, resource, action)
}

// seen loads a client the actor may see (another mode's is NOT_FOUND for an API key).
func (s *Service) seen(ctx context.Context, st Store, actor domain.Actor, orgID, id string) (*domain.Client, error) {
	c, err := st.GetClient(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	if !actor.Sees(c.Mode) {
		return nil, domain.NotFound("client")
	}
	return c, nil
}

// CreateClient creates a client of mode (an API key's own mode; a dashboard user names it).
// 409 CLIENT_EMAIL_TAKEN when the organisation already has a client of that mode with the e-mail.
func (s *Service) CreateClient(ctx context.Context, actor domain.Actor, orgID string, mode domain.Mode, in domain.ClientInput) (*domain.Client, error) {
	if err := allowed(actor, orgID, "client", "create"); err != nil {
		return nil, err
	}
	if actor.Type == domain.ActorAPIKey && mode == "" {
		mode = actor.Mode // an API key's own mode; another is MODE_MISMATCH below
	}
	if !mode.Valid() {
		return nil, domain.Invalid("mode", "mode must be test or live")
	}
	if err := auth.AuthorizeMode(actor, mode); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	c := &domain.Client{ID: domain.NewID(domain.PrefixClient), OrganizationID: orgID, Mode: mode, CreatedAt: now, UpdatedAt: now}
	if err := in.Apply(c); err != nil {
		return nil, err
	}
	err := s.store.InTx(ctx, func(tx Store) error {
		if err := tx.CreateClient(ctx, c); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "client.create", "client", c.ID, map[string]any{"mode": c.Mode})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// GetClient returns one of the organisation's clients.
func (s *Service) GetClient(ctx context.Context, actor domain.Actor, orgID, id string) (*domain.Client, error) {
	if err := allowed(actor, orgID, "client", "read"); err != nil {
		return nil, err
	}
	return s.seen(ctx, s.store, actor, orgID, id)
}

// UpdateClient changes a client's fields (nil input fields stay).
func (s *Service) UpdateClient(ctx context.Context, actor domain.Actor, orgID, id string, in domain.ClientInput) (*domain.Client, error) {
	if err := allowed(actor, orgID, "client", "update"); err != nil {
		return nil, err
	}
	var out *domain.Client
	err := s.store.InTx(ctx, func(tx Store) error {
		c, err := s.seen(ctx, tx, actor, orgID, id)
		if err != nil {
			return err
		}
		if err := in.Apply(c); err != nil {
			return err
		}
		if err := tx.UpdateClient(ctx, c); err != nil {
			return err
		}
		out = c
		return tx.Audit(ctx, actor, "client.update", "client", c.ID, map[string]any{"fields": changedFields(in)})
	})
	return out, err
}

func changedFields(in domain.ClientInput) []string {
	var out []string
	for name, set := range map[string]bool{"email": in.Email != nil, "name": in.Name != nil, "company": in.Company != nil,
		"billingAddress": in.BillingAddress != nil, "vatId": in.VATID != nil, "notes": in.Notes != nil} {
		if set {
			out = append(out, name)
		}
	}
	return out
}

// DeleteClient deletes a client that is not part of the books: 409 CLIENT_HAS_TRANSACTIONS
// when its checkouts have payment attempts, 409 CLIENT_HAS_ACTIVE_HOLD while it is held.
func (s *Service) DeleteClient(ctx context.Context, actor domain.Actor, orgID, id string) error {
	if err := allowed(actor, orgID, "client", "delete"); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx Store) error {
		c, err := s.seen(ctx, tx, actor, orgID, id)
		if err != nil {
			return err
		}
		has, err := tx.ClientHasTransactions(ctx, orgID, id)
		if err != nil {
			return err
		}
		if has {
			return domain.Conflict(domain.CodeClientHasTransactions,
				"the client has payments on record and stays for the books; it cannot be deleted (change its details instead)")
		}
		h, err := tx.ActiveClientHold(ctx, orgID, id)
		if err != nil {
			return err
		}
		if h != nil {
			return domain.Conflict(domain.CodeClientHasActiveHold, "the client is under an active hold; release the hold before deleting the client")
		}
		if err := tx.DeleteClient(ctx, orgID, id); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "client.delete", "client", id, map[string]any{"mode": c.Mode})
	})
}

// ListClients lists clients newest first (a search matches the e-mail, name or company), with
// whether there is more.
func (s *Service) ListClients(ctx context.Context, actor domain.Actor, f domain.ClientFilter) ([]domain.Client, bool, error) {
	if err := allowed(actor, f.OrganizationID, "client", "read"); err != nil {
		return nil, false, err
	}
	if f.Limit < 1 || f.Limit > 100 {
		return nil, false, domain.Invalid("limit", "limit must be from 1 to 100")
	}
	if f.Mode != "" && !f.Mode.Valid() {
		return nil, false, domain.Invalid("mode", "mode must be test or live")
	}
	if len(f.Search) > 200 {
		return nil, false, domain.Invalid("q", "q must be at most 200 characters")
	}
	if !auth.ModeFilter(actor, &f.Mode) {
		return nil, false, nil
	}
	out, err := s.store.ListClients(ctx, f)
	if err != nil {
		return nil, false, err
	}
	out, more := domain.CutPage(out, f.Limit)
	return out, more, nil
}

// Detail is a client with its lifetime value per currency, its latest payment attempts, its
// holds (released ones too) and the audit entries about it.
type Detail struct {
	Client       *domain.Client
	Values       []domain.ClientValue
	Transactions []domain.Transaction
	Holds        []domain.ClientHold
	History      []domain.AuditEntry
}

// ActiveHold is the client's active hold, if any.
func (d *Detail) ActiveHold() *domain.ClientHold {
	for i := range d.Holds {
		if d.Holds[i].Active() {
			return &d.Holds[i]
		}
	}
	return nil
}

// ClientDetail returns what the client page shows.
func (s *Service) ClientDetail(ctx context.Context, actor domain.Actor, orgID, id string) (*Detail, error) {
	c, err := s.GetClient(ctx, actor, orgID, id)
	if err != nil {
		return nil, err
	}
	d := &Detail{Client: c}
	if d.Values, err = s.store.ClientValues(ctx, orgID, id); err != nil {
		return nil, err
	}
	if auth.Can(actor, "transaction", "read") {
		if d.Transactions, err = s.store.ListClientTransactions(ctx, orgID, id, 50); err != nil {
			return nil, err
		}
	}
	if auth.Can(actor, "client_hold", "read") {
		if d.Holds, err = s.store.ListClientHolds(ctx, orgID, id); err != nil {
			return nil, err
		}
		all, err := s.store.ListAudit(ctx, domain.AuditFilter{OrganizationID: orgID, TargetID: id, Limit: 100})
		if err != nil {
			return nil, err
		}
		for _, e := range all {
			if strings.HasPrefix(e.Action, "client_hold.") {
				d.History = append(d.History, e)
			}
		}
	}
	return d, nil
}
