package receipt

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
)

// Codes of the resend's refusals.
const (
	CodeNotPaid      = "RECEIPT_NOT_PAID"
	CodeNoBuyerEmail = "RECEIPT_NO_BUYER_EMAIL"
)

// Options configure a Service.
type Options struct {
	Store  Store
	Mailer Mailer // nil in processes that only queue receipts (the main backend)
	Log    *slog.Logger
}

// Service holds the receipt use cases.
type Service struct {
	store   Store
	mailer  Mailer
	catalog *Catalog
	log     *slog.Logger
}

// New builds the service; it fails only when the embedded catalogs are broken.
func New(opts Options) (*Service, error) {
	c, err := LoadCatalog()
	if err != nil {
		return nil, err
	}
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: opts.Store, mailer: opts.Mailer, catalog: c, log: log}, nil
}

// With returns the service acting on another store (a caller's transaction, adapted).
func (s *Service) With(st Store) *Service {
	c := *s
	c.store = st
	return &c
}

// Catalog is the service's message catalog.
func (s *Service) Catalog() *Catalog { return s.catalog }

// recipient is the buyer's e-mail: the one given when paying, else the checkout's.
func recipient(t *domain.Transaction, c *domain.Checkout) string {
	if e := strings.TrimSpace(t.BillingDetails.Email); e != "" {
		return e
	}
	return strings.TrimSpace(c.Email)
}

// language is the receipt's: the page the buyer paid on, the checkout's, the site's default.
func (s *Service) language(t *domain.Transaction, c *domain.Checkout, site *domain.Site) string {
	return s.catalog.Pick(t.Language, c.Language, site.DefaultLanguage)
}

// Hook is the outbox consumer: for a transaction's success (not a paid duplicate, on a site
// that sends receipts, with a buyer e-mail) it records the automatic receipt and queues its
// job, both in tx, the dispatcher's transaction. A second success event of the transaction
// (a redelivered or repeated event) finds the receipt recorded and queues nothing.
func (s *Service) Hook(ctx context.Context, tx Store, e domain.Event) error {
	if e.TransactionID == nil || e.Type != domain.TransactionEventType(domain.TxnSucceeded) {
		return nil
	}
	txn, err := tx.GetTransaction(ctx, e.OrganizationID, *e.TransactionID)
	if err != nil {
		return err
	}
	if txn.Duplicate {
		return nil // not the order's payment (see payment.ApplyOutcome): its money goes back
	}
	chk, err := tx.GetCheckout(ctx, e.OrganizationID, txn.CheckoutID)
	if err != nil {
		return err
	}
	site, err := tx.GetSite(ctx, e.OrganizationID, chk.SiteID)
	if err != nil {
		return err
	}
	to := recipient(txn, chk)
	if site.ReceiptsDisabled || to == "" {
		return nil
	}
	r := &domain.Receipt{OrganizationID: e.OrganizationID, SiteID: site.ID, CheckoutID: chk.ID, TransactionID: txn.ID,
		Mode: txn.Mode, Kind: domain.ReceiptAutomatic, DedupeKey: domain.AutomaticReceiptKey(txn.ID), Recipient: to,
		Language: s.language(txn, chk, site)}
	created, err := tx.CreateReceipt(ctx, r)
	if err != nil || !created {
		return err
	}
	return tx.InsertJob(ctx, SendArgs{OrganizationID: r.OrganizationID, ReceiptID: r.ID})
}

// Resend queues the transaction's receipt again, to the buyer's address, on a user's explicit
// request: a new receipt (kind resend), whatever the site's switch says, audited. It needs
// transaction:update (editor and up); another organisation's transaction, or one of a mode
// the actor does not see, is not found.
func (s *Service) Resend(ctx context.Context, actor domain.Actor, orgID, transactionID string) (*domain.Receipt, error) {
	if err := inOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "transaction", "update"); err != nil {
		return nil, err
	}
	var r *domain.Receipt
	err := s.store.InTx(ctx, func(tx Store) error {
		txn, err := tx.GetTransaction(ctx, orgID, transactionID)
		if err != nil {
			return err
		}
		if !actor.Sees(txn.Mode) {
			return domain.NotFound("transaction")
		}
		if !txn.Status.Paid() || txn.Duplicate {
			return domain.Conflict(CodeNotPaid, "only a paid transaction has a receipt")
		}
		chk, err := tx.GetCheckout(ctx, orgID, txn.CheckoutID)
		if err != nil {
			return err
		}
		site, err := tx.GetSite(ctx, orgID, chk.SiteID)
		if err != nil {
			return err
		}
		to := recipient(txn, chk)
		if to == "" {
			return domain.Conflict(CodeNoBuyerEmail, "the buyer left no e-mail address to send a receipt to")
		}
		r = &domain.Receipt{OrganizationID: orgID, SiteID: site.ID, CheckoutID: chk.ID, TransactionID: txn.ID, Mode: txn.Mode,
			Kind: domain.ReceiptResend, Recipient: to, Language: s.language(txn, chk, site), RequestedBy: actor.ID}
		if _, err := tx.CreateReceipt(ctx, r); err != nil {
			return err
		}
		if err := tx.InsertJob(ctx, SendArgs{OrganizationID: orgID, ReceiptID: r.ID}); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "receipt.resend", "transaction", txn.ID, map[string]any{"receipt_id": r.ID, "language": r.Language})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// List returns a transaction's receipts (transaction:read).
func (s *Service) List(ctx context.Context, actor domain.Actor, orgID, transactionID string) ([]domain.Receipt, error) {
	if err := inOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "transaction", "read"); err != nil {
		return nil, err
	}
	return s.store.ListReceipts(ctx, orgID, transactionID)
}

// SetEnabled turns a site's buyer receipts on or off (site:update), audited.
func (s *Service) SetEnabled(ctx context.Context, actor domain.Actor, orgID, siteID string, enabled bool) error {
	if err := inOrg(actor, orgID); err != nil {
		return err
	}
	if err := auth.Authorize(actor, "site", "update"); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx Store) error {
		site, err := tx.GetSite(ctx, orgID, siteID)
		if err != nil {
			return err
		}
		if site.ReceiptsDisabled == !enabled {
			return nil
		}
		if err := tx.SetSiteReceiptsDisabled(ctx, orgID, siteID, !enabled); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "site.receipts", "site", siteID, map[string]any{"enabled": enabled})
	})
}

func inOrg(actor domain.Actor, orgID string) error {
	if actor.Type == domain.ActorSystem || actor.PlatformAdmin || actor.OrganizationID == orgID {
		return nil
	}
	return domain.NotFound("organization")
}

var errNoMailer = errors.New("this process has no mailer: receipts are sent by the admin backend")
