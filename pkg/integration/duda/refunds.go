package duda

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"time"

	"paygate.dev/pkg/domain"
	dudaapi "paygate.dev/pkg/duda"
	"paygate.dev/pkg/integration/dudaconn"
	"paygate.dev/pkg/payment"
)

// refundClaim is how long one handling of a refund notification holds it: a second delivery of
// the same refund meanwhile is answered 409, never applied twice.
const refundClaim = 2 * time.Minute

// refundsLinkKey derives the key of a connection's refunds links from its app secret.
func refundsLinkKey(appSecret string) []byte {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write([]byte("paygate/duda/refunds-link/v1"))
	return m.Sum(nil)
}

// refundsToken is the capability in a transaction's refunds link: an HMAC of the connection and
// transaction ids. Duda does not sign its refund POST, so the link itself is the credential.
func refundsToken(appSecret, connectionID, transactionID string) string {
	m := hmac.New(sha256.New, refundsLinkKey(appSecret))
	m.Write([]byte(connectionID + "\x00" + transactionID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// refundsURL is the links.refunds we give Duda for a transaction.
func (uc *Service) refundsURL(connectionID, appSecret, transactionID string) string {
	return uc.BaseURL(connectionID) + "/refunds/" + url.PathEscape(transactionID) + "/" + refundsToken(appSecret, connectionID, transactionID)
}

// RefundAnswer is what Duda gets back for a refund it asked for.
type RefundAnswer struct {
	RefundID string `json:"refundId,omitempty"`
	Status   string `json:"status"`
	Amount   int64  `json:"amount,omitempty"`
	Currency string `json:"currency,omitempty"`
	Error    string `json:"error,omitempty"`
}

// RefundOutcome is how a refund notification ended.
type RefundOutcome int

// Refund outcomes.
const (
	// RefundRecorded: the refund is recorded (now, or by an earlier delivery).
	RefundRecorded RefundOutcome = iota
	// RefundBadSignature: a signature came with the notification and it is wrong.
	RefundBadSignature
	// RefundUnknownTransaction: the link's transaction is not one of the connection's checkouts'.
	RefundUnknownTransaction
	// RefundMalformed: the body is not JSON; the notification is rejected for good.
	RefundMalformed
	// RefundRejected: the notification will never apply (another order, currency or amount).
	RefundRejected
	// RefundConflict: the notification is held (being handled, or the app is not installed on
	// the site) or was sent for another transaction.
	RefundConflict
	// RefundNotYet: it could not be carried out yet (Duda or the provider unreachable); the
	// next delivery tries again.
	RefundNotYet
)

// RefundResult is a refund notification's outcome and the answer Duda gets.
type RefundResult struct {
	Outcome RefundOutcome
	Answer  RefundAnswer
}

// refundRejection is a refund notification we will not apply, and the outcome that says why.
type refundRejection struct {
	outcome RefundOutcome
	msg     string
}

func (r *refundRejection) Error() string { return r.msg }

func reject(o RefundOutcome, msg string) error { return &refundRejection{outcome: o, msg: msg} }

// RefundLink is a transaction's checked refunds link.
type RefundLink struct {
	app   *dudaconn.DudaApp
	txnID string
}

// OpenRefundLink checks a refunds link (connection, transaction and token): ErrUnknownLink
// when it is not one we gave Duda.
func (uc *Service) OpenRefundLink(ctx context.Context, connectionID, transactionID, token string) (*RefundLink, error) {
	app, err := uc.connection(ctx, connectionID)
	if err != nil && !domain.IsNotFound(err) {
		return nil, err
	}
	if err != nil || !hmac.Equal([]byte(token), []byte(refundsToken(app.Credentials.AppSecret, app.Connection.ID, transactionID))) {
		return nil, ErrUnknownLink
	}
	return &RefundLink{app: app, txnID: transactionID}, nil
}

// RefundDelivery is one refund notification Duda POSTed to a refunds link: its raw body and
// the signature headers, if it sent any (its documents publish none).
type RefundDelivery struct {
	Timestamp, Signature string
	Body                 []byte
}

// Refund handles Duda's refund notification for a link's transaction. The body, whose shape
// Duda has not published, is kept raw before anything else; the refund is matched to the
// transaction (through the refund intent when the body names one), carried out through the
// provider and RefundRecorded only once recorded. The same refund delivered again gets the
// recorded answer.
func (uc *Service) Refund(ctx context.Context, link *RefundLink, d RefundDelivery) (RefundResult, error) {
	app, txnID, body := link.app, link.txnID, d.Body
	conn := app.Connection
	// Duda documents no signature here; one it sends anyway must be right.
	if d.Signature != "" {
		if err := dudaapi.VerifySignature(app.Credentials.AppSecret, d.Timestamp, d.Signature, body, uc.payments.Now(), uc.tolerance); err != nil {
			return RefundResult{Outcome: RefundBadSignature}, nil //nolint:nilerr // a bad signature is an answer (401), not a failure
		}
	}
	txn, err := uc.store.GetTransaction(ctx, conn.OrganizationID, txnID)
	if err != nil {
		if domain.IsNotFound(err) {
			return RefundResult{Outcome: RefundUnknownTransaction}, nil
		}
		return RefundResult{}, err
	}
	sess, err := uc.store.GetDudaSession(ctx, txn.CheckoutID)
	if err != nil || sess.ConnectionID != conn.ID {
		if err != nil && !domain.IsNotFound(err) {
			return RefundResult{}, err
		}
		return RefundResult{Outcome: RefundUnknownTransaction}, nil
	}
	note, perr := dudaapi.ParseRefundNotification(body)
	uc.log.InfoContext(ctx, "Duda refund notification", "connection_id", conn.ID, "transaction_id", txnID, "body", clip(string(body), 8<<10))

	rec := &domain.DudaRefund{ConnectionID: conn.ID, RefundKey: refundKey(note.RefundIntentID, body), OrganizationID: conn.OrganizationID,
		TransactionID: txnID, RawBody: string(body)}
	created, err := uc.store.InsertDudaRefund(ctx, rec)
	if err != nil {
		return RefundResult{}, err
	}
	if !created {
		if res, done, err := uc.redelivered(ctx, rec, txnID); done || err != nil {
			return res, err
		}
	}
	r, err := uc.applyRefund(ctx, app, sess, txn, rec.RefundKey, note, perr)
	if err != nil {
		return uc.refundFailed(ctx, rec, err)
	}
	if err := uc.store.FinishDudaRefund(ctx, conn.ID, rec.RefundKey, domain.DudaRefundRecorded, &r.ID, ""); err != nil {
		return RefundResult{}, err
	}
	return RefundResult{Outcome: RefundRecorded, Answer: RefundAnswer{RefundID: r.ID, Status: string(r.Status), Amount: r.Amount, Currency: r.Currency}}, nil
}

// redelivered answers a notification already kept (rec as stored): with its recorded answer,
// or its rejection, or 409 while another handling holds it; done is false when this delivery
// has claimed it and carries it out.
func (uc *Service) redelivered(ctx context.Context, rec *domain.DudaRefund, txnID string) (RefundResult, bool, error) {
	if rec.TransactionID != txnID {
		return RefundResult{Outcome: RefundConflict, Answer: RefundAnswer{Status: domain.DudaRefundRejected, Error: "this refund was sent for another transaction"}}, true, nil
	}
	switch rec.Status {
	case domain.DudaRefundRecorded:
		return RefundResult{Outcome: RefundRecorded, Answer: uc.recordedAnswer(ctx, rec)}, true, nil
	case domain.DudaRefundRejected:
		return RefundResult{Outcome: RefundRejected, Answer: RefundAnswer{Status: rec.Status, Error: rec.Error}}, true, nil
	}
	claimed, err := uc.store.ClaimDudaRefund(ctx, rec.ConnectionID, rec.RefundKey, uc.payments.Now().Add(-refundClaim))
	if err != nil {
		return RefundResult{}, true, err
	}
	if !claimed {
		return RefundResult{Outcome: RefundConflict, Answer: RefundAnswer{Status: domain.DudaRefundReceived, Error: "this refund is being processed; try again shortly"}}, true, nil
	}
	return RefundResult{}, false, nil
}

// refundFailed records why a notification was not applied: held until a reinstall, rejected
// for good, or released for the next delivery.
func (uc *Service) refundFailed(ctx context.Context, rec *domain.DudaRefund, err error) (RefundResult, error) {
	connID, txnID := rec.ConnectionID, rec.TransactionID
	var rej *refundRejection
	switch {
	case errors.Is(err, errNotInstalled):
		// Kept, not rejected: the same notification after a reinstall is carried out.
		if rerr := uc.store.ReleaseDudaRefund(ctx, connID, rec.RefundKey, err.Error()); rerr != nil {
			uc.log.ErrorContext(ctx, "release Duda refund", "error", rerr)
		}
		uc.log.WarnContext(ctx, "Duda refund held: the app is not installed on the Duda site", "transaction_id", txnID, "refund_key", rec.RefundKey)
		return RefundResult{Outcome: RefundConflict, Answer: RefundAnswer{Status: domain.DudaRefundReceived, Error: err.Error()}}, nil
	case errors.As(err, &rej):
		if ferr := uc.store.FinishDudaRefund(ctx, connID, rec.RefundKey, domain.DudaRefundRejected, nil, rej.msg); ferr != nil {
			return RefundResult{}, ferr
		}
		uc.log.WarnContext(ctx, "Duda refund rejected", "transaction_id", txnID, "refund_key", rec.RefundKey, "reason", rej.msg)
		return RefundResult{Outcome: rej.outcome, Answer: RefundAnswer{Status: domain.DudaRefundRejected, Error: rej.msg}}, nil
	}
	// Perhaps passing (Duda or the provider unreachable): the next delivery tries again.
	if rerr := uc.store.ReleaseDudaRefund(ctx, connID, rec.RefundKey, clip(err.Error(), 500)); rerr != nil {
		uc.log.ErrorContext(ctx, "release Duda refund", "error", rerr)
	}
	uc.log.ErrorContext(ctx, "Duda refund not applied", "transaction_id", txnID, "refund_key", rec.RefundKey, "error", err)
	return RefundResult{Outcome: RefundNotYet, Answer: RefundAnswer{Status: domain.DudaRefundReceived, Error: "the refund could not be carried out yet; try again later"}}, nil
}

// refundKey names a refund for deduplication: its refund intent, else the body's digest.
func refundKey(intentID string, body []byte) string {
	if intentID != "" && len(intentID) <= 200 {
		return "intent:" + intentID
	}
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (uc *Service) recordedAnswer(ctx context.Context, rec *domain.DudaRefund) RefundAnswer {
	out := RefundAnswer{Status: domain.DudaRefundRecorded}
	if rec.RefundID != nil {
		if r, err := uc.store.GetRefund(ctx, rec.OrganizationID, *rec.RefundID); err == nil {
			out = RefundAnswer{RefundID: r.ID, Status: string(r.Status), Amount: r.Amount, Currency: r.Currency}
		}
	}
	return out
}

// errNotInstalled holds a refund notification while the app is not installed on the order's
// Duda site: whether it names a refund intent (which cannot be fetched without the site's
// tokens) or only an amount, it is kept and answered alike, and carried out when Duda sends it
// again after a reinstall.
var errNotInstalled = errors.New("the app is not installed on the Duda site: the refund is kept and carried out when Duda sends it again after the app is reinstalled (or refund the payment in the Admin Panel)")

// applyRefund works out the amount Duda asks back and refunds it. A *refundRejection says the
// notification will never apply; errNotInstalled that it waits for a reinstall; other errors may pass.
func (uc *Service) applyRefund(ctx context.Context, app *dudaconn.DudaApp, sess *domain.DudaSession, txn *domain.Transaction, key string, n dudaapi.RefundNotification, parseErr error) (*domain.Refund, error) {
	if parseErr != nil {
		return nil, reject(RefundMalformed, "malformed refund notification: the body is not JSON")
	}
	site, err := uc.store.GetDudaSiteByID(ctx, sess.DudaSiteID)
	if err != nil {
		return nil, err
	}
	if !site.Installed() {
		return nil, errNotInstalled
	}
	if n.OriginalTransactionID != "" && n.OriginalTransactionID != txn.ID {
		return nil, reject(RefundRejected, "original_transaction_id names another transaction")
	}
	amountOf := func(d dudaapi.Decimal, currency string) (int64, error) {
		if currency != "" && !strings.EqualFold(currency, txn.Currency) {
			return 0, reject(RefundRejected, "the refund is in "+strings.ToUpper(currency)+", the payment in "+txn.Currency)
		}
		v, err := d.Minor(txn.Currency)
		if err != nil || v <= 0 {
			return 0, reject(RefundRejected, "the refund amount is not a positive amount in "+txn.Currency)
		}
		return v, nil
	}
	var amount int64
	reason := n.Reason
	switch intent, ierr := uc.refundIntent(ctx, app, site, sess, n.RefundIntentID); {
	case ierr != nil:
		return nil, ierr
	case intent != nil:
		if intent.OriginalTransactionID != txn.ID && (intent.PurchaseID == "" || intent.PurchaseID != sess.PurchaseID) {
			return nil, reject(RefundRejected, "the refund intent belongs to another order")
		}
		if intent.Mode != "" && intent.Mode.IsTest() != (txn.Mode == domain.ModeTest) {
			return nil, reject(RefundRejected, "the refund intent is for "+string(intent.Mode)+" payments")
		}
		if amount, err = amountOf(intent.Total, intent.Currency); err != nil {
			return nil, err
		}
		if intent.Reason != "" {
			reason = intent.Reason
		}
	case n.Amount.IsSet():
		if amount, err = amountOf(n.Amount, n.Currency); err != nil {
			return nil, err
		}
	default:
		return nil, reject(RefundRejected, "the notification names no refund intent and no amount")
	}
	tag := " [duda " + key + "]"
	reason = clip(strings.TrimSpace(reason), 500-len(tag)) + tag
	// A refund made by an earlier handling of this notification that never got recorded.
	if done, err := uc.store.ListRefunds(ctx, txn.OrganizationID, txn.ID); err == nil {
		for i := range done {
			if done[i].Source == "duda" && strings.HasSuffix(done[i].Reason, tag) && done[i].Status != domain.RefundFailed {
				return &done[i], nil
			}
		}
	}
	r, err := uc.payments.Refund(ctx, domain.SystemActor(txn.OrganizationID), txn.OrganizationID, txn.ID,
		payment.RefundInput{Amount: &amount, Reason: strings.TrimSpace(reason), Source: "duda"})
	if err != nil {
		switch domain.ErrorKind(err) {
		case domain.KindInvalid, domain.KindConflict, domain.KindUnprocessable, domain.KindNotFound:
			return nil, reject(RefundRejected, err.Error())
		}
		return nil, err
	}
	return r, nil
}

// refundIntent fetches the refund intent a notification names: nil when it names none, or when
// Duda does not know the id (then the notification's own amount is all there is).
func (uc *Service) refundIntent(ctx context.Context, app *dudaconn.DudaApp, site *domain.DudaSite, sess *domain.DudaSession, id string) (*dudaapi.RefundIntent, error) {
	if id == "" {
		return nil, nil
	}
	cl, err := uc.siteClient(app, site)
	if err != nil {
		return nil, err
	}
	ri, err := cl.GetRefundIntent(ctx, sess.SiteName, id)
	if dudaapi.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		if errors.Is(err, dudaapi.ErrNoTokens) {
			return nil, errNotInstalled // uninstalled meanwhile
		}
		return nil, err
	}
	return &ri, nil
}
