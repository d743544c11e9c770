// Package invoice holds the invoicing use cases: invoicing settings and number layouts, draft
// invoices, issuing (a gapless number allocated in the issuing transaction, every snapshot
// frozen), the payment state computed from settlements, automatic invoices for checkout
// payments (an outbox consumer) and payment links. It declares its storage port in ports.go.
package invoice

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/money"
)

// Options configure a Service.
type Options struct {
	Store Store
	Log   *slog.Logger
	Now   func() time.Time // the clock (default time.Now)
	// Mailer sends issued invoices to their clients; nil (a process without e-mail) refuses a
	// send with 503 MAIL_DISABLED.
	Mailer Mailer
}

// Service holds the invoice use cases.
type Service struct {
	store  Store
	log    *slog.Logger
	now    func() time.Time
	mailer Mailer
}

// New builds the service.
func New(opts Options) *Service {
	s := &Service{store: opts.Store, log: opts.Log, now: opts.Now, mailer: opts.Mailer}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// With returns the service acting on another store (a caller's transaction).
func (s *Service) With(st Store) *Service {
	c := *s
	c.store = st
	return &c
}

// LineInput is one line of a draft as the merchant enters it.
type LineInput struct {
	Description string `json:"description"`
	Quantity    int64  `json:"quantity"`
	UnitPrice   int64  `json:"unitPrice"`
	Type        string `json:"type"`
	VATRate     *int64 `json:"vatRate"`
}

// DraftInput is what a draft invoice is made of. Mode is the invoice's (an API key's own when
// empty; required of users). Unset fields of an update keep their values (see DraftPatch).
type DraftInput struct {
	Mode     domain.Mode
	SiteID   *string
	Currency string
	Language string
	ClientID *string
	Client   domain.Party
	Lines    []LineInput
	Notes    string
	DueAt    *time.Time
}

// maxLines bounds an invoice's lines.
const maxLines = 200

// lines validates the entered lines into invoice lines (amounts not yet computed).
func lines(in []LineInput) ([]domain.InvoiceLine, error) {
	if len(in) == 0 || len(in) > maxLines {
		return nil, domain.Invalid("lines", "an invoice has 1 to %d lines", maxLines)
	}
	out := make([]domain.InvoiceLine, len(in))
	for i, l := range in {
		field := "lines[" + strconv.Itoa(i) + "]"
		d := strings.TrimSpace(l.Description)
		if d == "" || len(d) > 500 {
			return nil, domain.Invalid(field+".description", "a line has a description of 1 to 500 characters")
		}
		t, ok := domain.ParseItemType(l.Type)
		if !ok || t == domain.ItemTax {
			return nil, domain.Invalid(field+".type", "type must be goods, digital_service, shipping or discount")
		}
		if l.Quantity < 1 || l.Quantity > 1_000_000 {
			return nil, domain.Invalid(field+".quantity", "quantity is 1 to 1000000")
		}
		if (t == domain.ItemDiscount) != (l.UnitPrice < 0) && l.UnitPrice != 0 {
			return nil, domain.Invalid(field+".unitPrice", "only a discount line has a negative unit price")
		}
		if l.VATRate != nil && (*l.VATRate < 0 || *l.VATRate > 10000) {
			return nil, domain.Invalid(field+".vatRate", "vatRate is in hundredths of a percent, 0 to 10000")
		}
		out[i] = domain.InvoiceLine{Description: d, Quantity: l.Quantity, UnitPrice: l.UnitPrice, ItemType: t, VATRate: l.VATRate}
	}
	return out, nil
}

// validate checks a draft's fields and builds the invoice they describe (amounts not computed).
func (in *DraftInput) validate(actor domain.Actor) (*domain.Invoice, error) {
	if in.Mode == "" {
		in.Mode = actor.Mode
	}
	if !in.Mode.Valid() {
		return nil, domain.Invalid("mode", "mode must be test or live")
	}
	if err := auth.AuthorizeMode(actor, in.Mode); err != nil {
		return nil, err
	}
	in.Currency = strings.ToUpper(strings.TrimSpace(in.Currency))
	if _, ok := money.Lookup(in.Currency); !ok {
		return nil, domain.Invalid("currency", "currency must be an ISO 4217 code")
	}
	in.Language = strings.TrimSpace(in.Language)
	if in.Language == "" {
		in.Language = "en"
	}
	if len(in.Language) > 10 {
		return nil, domain.Invalid("language", "language is a language tag such as en or pt-BR")
	}
	if err := in.Client.Validate("client"); err != nil {
		return nil, err
	}
	if len(in.Notes) > 2000 {
		return nil, domain.Invalid("notes", "notes have at most 2000 characters")
	}
	ls, err := lines(in.Lines)
	if err != nil {
		return nil, err
	}
	return &domain.Invoice{Mode: in.Mode, SiteID: in.SiteID, Status: domain.InvoiceDraft, Currency: in.Currency, Language: in.Language,
		ClientID: in.ClientID, Client: in.Client, Lines: ls, Notes: in.Notes, DueAt: in.DueAt}, nil
}

// prepare computes a draft's amounts (a preview at the current rates) and checks its site.
func (s *Service) prepare(ctx context.Context, tx Store, orgID string, inv *domain.Invoice) error {
	if inv.SiteID != nil {
		if _, err := tx.GetSite(ctx, orgID, *inv.SiteID); err != nil {
			return err
		}
	}
	org, err := tx.GetOrganization(ctx, orgID)
	if err != nil {
		return err
	}
	return computeTax(ctx, org, inv, s.now())
}

// CreateDraft records a draft invoice (invoice:create), audited. The amounts are a preview;
// issuing computes them again at the rates of its day. A clientId must name one of the
// organisation's clients in the invoice's mode (422 CLIENT_NOT_FOUND); without a client block
// the draft takes that client's (name, company, e-mail, billing address, VAT id).
func (s *Service) CreateDraft(ctx context.Context, actor domain.Actor, orgID string, in DraftInput) (*domain.Invoice, error) {
	if err := allowed(actor, orgID, "create"); err != nil {
		return nil, err
	}
	inv, err := in.validate(actor)
	if err != nil {
		return nil, err
	}
	inv.OrganizationID, inv.CreatedBy = orgID, actor.ID
	err = s.store.InTx(ctx, func(tx Store) error {
		if err := clientOf(ctx, tx, orgID, inv, inv.Client == (domain.Party{})); err != nil {
			return err
		}
		if err := s.prepare(ctx, tx, orgID, inv); err != nil {
			return err
		}
		if err := tx.CreateInvoice(ctx, inv); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "invoice.create", "invoice", inv.ID, map[string]any{"mode": inv.Mode})
	})
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// DraftPatch changes a draft: nil fields keep their values; an empty SiteID or ClientID
// removes the draft's.
type DraftPatch struct {
	SiteID   *string
	Currency *string
	Language *string
	ClientID *string
	Client   *domain.Party
	Lines    []LineInput // nil keeps the lines
	Notes    *string
	DueAt    *time.Time
}

// UpdateDraft changes a draft (invoice:update), audited. An issued invoice is CONFLICT
// INVOICE_ISSUED; another organisation's, or one of a mode the actor does not see, NOT_FOUND.
func (s *Service) UpdateDraft(ctx context.Context, actor domain.Actor, orgID, id string, p DraftPatch) (*domain.Invoice, error) {
	if err := allowed(actor, orgID, "update"); err != nil {
		return nil, err
	}
	var out *domain.Invoice
	err := s.store.InTx(ctx, func(tx Store) error {
		cur, err := s.lockVisible(ctx, tx, actor, orgID, id)
		if err != nil {
			return err
		}
		if cur.Status != domain.InvoiceDraft {
			return domain.Conflict(domain.CodeInvoiceIssued, "the invoice is issued: it can no longer change (credit it instead)")
		}
		in := p.apply(cur)
		inv, err := in.validate(actor)
		if err != nil {
			return err
		}
		inv.ID, inv.OrganizationID, inv.CreatedBy, inv.CreatedAt = cur.ID, orgID, cur.CreatedBy, cur.CreatedAt
		// A new client without a client block brings its own.
		relinked := p.ClientID != nil && (cur.ClientID == nil || *cur.ClientID != *p.ClientID)
		if err := clientOf(ctx, tx, orgID, inv, p.Client == nil && (relinked || inv.Client == (domain.Party{}))); err != nil {
			return err
		}
		if err := s.prepare(ctx, tx, orgID, inv); err != nil {
			return err
		}
		if err := tx.UpdateDraftInvoice(ctx, inv); err != nil {
			return err
		}
		out = inv
		return tx.Audit(ctx, actor, "invoice.update", "invoice", inv.ID, nil)
	})
	return out, err
}

// apply returns the draft input cur becomes with the patch.
func (p DraftPatch) apply(cur *domain.Invoice) DraftInput {
	in := DraftInput{Mode: cur.Mode, SiteID: cur.SiteID, Currency: cur.Currency, Language: cur.Language, ClientID: cur.ClientID,
		Client: cur.Client, Notes: cur.Notes, DueAt: cur.DueAt}
	for _, l := range cur.Lines {
		in.Lines = append(in.Lines, LineInput{Description: l.Description, Quantity: l.Quantity, UnitPrice: l.UnitPrice, Type: string(l.ItemType), VATRate: l.VATRate})
	}
	if p.SiteID != nil {
		in.SiteID = p.SiteID
		if *p.SiteID == "" {
			in.SiteID = nil
		}
	}
	set(&in.Currency, p.Currency)
	set(&in.Language, p.Language)
	set(&in.Notes, p.Notes)
	if p.ClientID != nil {
		in.ClientID = p.ClientID
		if *p.ClientID == "" {
			in.ClientID = nil
		}
	}
	if p.Client != nil {
		in.Client = *p.Client
	}
	if p.Lines != nil {
		in.Lines = p.Lines
	}
	if p.DueAt != nil {
		in.DueAt = p.DueAt
	}
	return in
}

func set(dst, src *string) {
	if src != nil {
		*dst = *src
	}
}

// DeleteDraft deletes a draft (invoice:delete), audited; an issued invoice is never deleted
// (CONFLICT INVOICE_ISSUED).
func (s *Service) DeleteDraft(ctx context.Context, actor domain.Actor, orgID, id string) error {
	if err := allowed(actor, orgID, "delete"); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx Store) error {
		if _, err := s.lockVisible(ctx, tx, actor, orgID, id); err != nil {
			return err
		}
		if err := tx.DeleteDraftInvoice(ctx, orgID, id); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "invoice.delete", "invoice", id, nil)
	})
}

// lockVisible reads and locks an invoice the actor may see: NOT_FOUND otherwise.
func (s *Service) lockVisible(ctx context.Context, tx Store, actor domain.Actor, orgID, id string) (*domain.Invoice, error) {
	inv, err := tx.LockInvoice(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	if !actor.Sees(inv.Mode) {
		return nil, domain.NotFound("invoice")
	}
	return inv, nil
}

// allowed checks the actor's organisation and its invoice:<action> permission.
func allowed(actor domain.Actor, orgID, action string) error {
	if err := inOrg(actor, orgID); err != nil {
		return err
	}
	return authorize(actor, "invoice", action)
}

func inOrg(actor domain.Actor, orgID string) error {
	if actor.Type == domain.ActorSystem || actor.PlatformAdmin || actor.OrganizationID == orgID {
		return nil
	}
	return domain.NotFound("organization")
}

var authorize = auth.Authorize
