package dudaapp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/duda"
	"paygate.dev/pkg/platform"
	"paygate.dev/pkg/store"
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
func (a *App) refundsURL(connectionID, appSecret, transactionID string) string {
	return a.base(connectionID) + "/refunds/" + url.PathEscape(transactionID) + "/" + refundsToken(appSecret, connectionID, transactionID)
}

// refundAnswer is what Duda gets back for a refund it asked for.
type refundAnswer struct {
	RefundID string `json:"refundId,omitempty"`
	Status   string `json:"status"`
	Amount   int64  `json:"amount,omitempty"`
	Currency string `json:"currency,omitempty"`
	Error    string `json:"error,omitempty"`
}

// refundRejection is a refund notification we will not apply, and the status that says why.
type refundRejection struct {
	status int
	msg    string
}

func (r *refundRejection) Error() string { return r.msg }

func reject(status int, msg string) error { return &refundRejection{status: status, msg: msg} }

// refund receives Duda's POST to a transaction's links.refunds. The body, whose shape Duda has not
// published, is kept raw before anything else; the refund is matched to the transaction (through
// the refund intent when the body names one), carried out through the provider and answered 200
// only once recorded. The same refund delivered again gets the recorded answer.
func (a *App) refund(c echo.Context) error {
	ctx := c.Request().Context()
	txnID := c.Param("transactionId")
	app, err := a.connection(ctx, c.Param("connectionId"))
	if err != nil && !domain.IsNotFound(err) {
		return err
	}
	if err != nil || !hmac.Equal([]byte(c.Param("token")), []byte(refundsToken(app.Credentials.AppSecret, app.Connection.ID, txnID))) {
		a.metrics.WebhookFailures.WithLabelValues("duda").Inc()
		return answer(c, http.StatusNotFound, errorBody("unknown refunds link"))
	}
	conn := app.Connection
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		return answer(c, http.StatusRequestEntityTooLarge, errorBody("body too large"))
	}
	// Duda documents no signature here; one it sends anyway must be right.
	if sig := c.Request().Header.Get(duda.HeaderSignature); sig != "" {
		if err := duda.VerifySignature(app.Credentials.AppSecret, c.Request().Header.Get(duda.HeaderSignatureTimestamp), sig, body, a.svc.Now(), a.tolerance); err != nil {
			a.metrics.WebhookFailures.WithLabelValues("duda").Inc()
			return answer(c, http.StatusUnauthorized, errorBody("invalid signature"))
		}
	}
	txn, err := a.store.GetTransaction(ctx, conn.OrganizationID, txnID)
	if err != nil {
		if domain.IsNotFound(err) {
			return answer(c, http.StatusNotFound, errorBody("unknown transaction"))
		}
		return err
	}
	sess, err := a.store.GetDudaSession(ctx, txn.CheckoutID)
	if err != nil || sess.ConnectionID != conn.ID {
		if err != nil && !domain.IsNotFound(err) {
			return err
		}
		return answer(c, http.StatusNotFound, errorBody("unknown transaction"))
	}
	note, perr := duda.ParseRefundNotification(body)
	a.log.InfoContext(ctx, "Duda refund notification", "connection_id", conn.ID, "transaction_id", txnID, "body", clip(string(body), 8<<10))

	rec := &store.DudaRefund{ConnectionID: conn.ID, RefundKey: refundKey(note.RefundIntentID, body), OrganizationID: conn.OrganizationID,
		TransactionID: txnID, RawBody: string(body)}
	created, err := a.store.InsertDudaRefund(ctx, rec)
	if err != nil {
		return err
	}
	if !created {
		if rec.TransactionID != txnID {
			return answer(c, http.StatusConflict, refundAnswer{Status: store.DudaRefundRejected, Error: "this refund was sent for another transaction"})
		}
		switch rec.Status {
		case store.DudaRefundRecorded:
			return a.recordedAnswer(c, rec)
		case store.DudaRefundRejected:
			return answer(c, http.StatusUnprocessableEntity, refundAnswer{Status: rec.Status, Error: rec.Error})
		}
		claimed, err := a.store.ClaimDudaRefund(ctx, conn.ID, rec.RefundKey, a.svc.Now().Add(-refundClaim))
		if err != nil {
			return err
		}
		if !claimed {
			return answer(c, http.StatusConflict, refundAnswer{Status: store.DudaRefundReceived, Error: "this refund is being processed; try again shortly"})
		}
	}

	r, err := a.applyRefund(ctx, app, sess, txn, rec.RefundKey, note, perr)
	var rej *refundRejection
	switch {
	case errors.Is(err, errNotInstalled):
		// Kept, not rejected: the same notification after a reinstall is carried out.
		if rerr := a.store.ReleaseDudaRefund(ctx, conn.ID, rec.RefundKey, err.Error()); rerr != nil {
			a.log.ErrorContext(ctx, "release Duda refund", "error", rerr)
		}
		a.log.WarnContext(ctx, "Duda refund held: the app is not installed on the Duda site", "transaction_id", txnID, "refund_key", rec.RefundKey)
		return answer(c, http.StatusConflict, refundAnswer{Status: store.DudaRefundReceived, Error: err.Error()})
	case errors.As(err, &rej):
		if ferr := a.store.FinishDudaRefund(ctx, conn.ID, rec.RefundKey, store.DudaRefundRejected, nil, rej.msg); ferr != nil {
			return ferr
		}
		a.log.WarnContext(ctx, "Duda refund rejected", "transaction_id", txnID, "refund_key", rec.RefundKey, "reason", rej.msg)
		return answer(c, rej.status, refundAnswer{Status: store.DudaRefundRejected, Error: rej.msg})
	case err != nil:
		// Perhaps passing (Duda or the provider unreachable): the next delivery tries again.
		if rerr := a.store.ReleaseDudaRefund(ctx, conn.ID, rec.RefundKey, clip(err.Error(), 500)); rerr != nil {
			a.log.ErrorContext(ctx, "release Duda refund", "error", rerr)
		}
		a.log.ErrorContext(ctx, "Duda refund not applied", "transaction_id", txnID, "refund_key", rec.RefundKey, "error", err)
		return answer(c, http.StatusServiceUnavailable, refundAnswer{Status: store.DudaRefundReceived, Error: "the refund could not be carried out yet; try again later"})
	}
	if err := a.store.FinishDudaRefund(ctx, conn.ID, rec.RefundKey, store.DudaRefundRecorded, &r.ID, ""); err != nil {
		return err
	}
	return answer(c, http.StatusOK, refundAnswer{RefundID: r.ID, Status: string(r.Status), Amount: r.Amount, Currency: r.Currency})
}

// refundKey names a refund for deduplication: its refund intent, else the body's digest.
func refundKey(intentID string, body []byte) string {
	if intentID != "" && len(intentID) <= 200 {
		return "intent:" + intentID
	}
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (a *App) recordedAnswer(c echo.Context, rec *store.DudaRefund) error {
	out := refundAnswer{Status: store.DudaRefundRecorded}
	if rec.RefundID != nil {
		if r, err := a.store.GetRefund(c.Request().Context(), rec.OrganizationID, *rec.RefundID); err == nil {
			out = refundAnswer{RefundID: r.ID, Status: string(r.Status), Amount: r.Amount, Currency: r.Currency}
		}
	}
	return answer(c, http.StatusOK, out)
}

// errNotInstalled holds a refund notification while the app is not installed on the order's
// Duda site: whether it names a refund intent (which cannot be fetched without the site's
// tokens) or only an amount, it is kept and answered alike, and carried out when Duda sends it
// again after a reinstall.
var errNotInstalled = errors.New("the app is not installed on the Duda site: the refund is kept and carried out when Duda sends it again after the app is reinstalled (or refund the payment in the Admin Panel)")

// applyRefund works out the amount Duda asks back and refunds it. A *refundRejection says the
// notification will never apply; errNotInstalled that it waits for a reinstall; other errors may pass.
func (a *App) applyRefund(ctx context.Context, app *platform.DudaApp, sess *store.DudaSession, txn *domain.Transaction, key string, n duda.RefundNotification, parseErr error) (*domain.Refund, error) {
	if parseErr != nil {
		return nil, reject(http.StatusBadRequest, "malformed refund notification: the body is not JSON")
	}
	site, err := a.store.GetDudaSiteByID(ctx, sess.DudaSiteID)
	if err != nil {
		return nil, err
	}
	if !site.Installed() {
		return nil, errNotInstalled
	}
	if n.OriginalTransactionID != "" && n.OriginalTransactionID != txn.ID {
		return nil, reject(http.StatusUnprocessableEntity, "original_transaction_id names another transaction")
	}
	amountOf := func(d duda.Decimal, currency string) (int64, error) {
		if currency != "" && !strings.EqualFold(currency, txn.Currency) {
			return 0, reject(http.StatusUnprocessableEntity, "the refund is in "+strings.ToUpper(currency)+", the payment in "+txn.Currency)
		}
		v, err := d.Minor(txn.Currency)
		if err != nil || v <= 0 {
			return 0, reject(http.StatusUnprocessableEntity, "the refund amount is not a positive amount in "+txn.Currency)
		}
		return v, nil
	}
	var amount int64
	reason := n.Reason
	switch intent, ierr := a.refundIntent(ctx, app, site, sess, n.RefundIntentID); {
	case ierr != nil:
		return nil, ierr
	case intent != nil:
		if intent.OriginalTransactionID != txn.ID && (intent.PurchaseID == "" || intent.PurchaseID != sess.PurchaseID) {
			return nil, reject(http.StatusUnprocessableEntity, "the refund intent belongs to another order")
		}
		if intent.Mode != "" && intent.Mode.IsTest() != (txn.Mode == domain.ModeTest) {
			return nil, reject(http.StatusUnprocessableEntity, "the refund intent is for "+string(intent.Mode)+" payments")
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
		return nil, reject(http.StatusUnprocessableEntity, "the notification names no refund intent and no amount")
	}
	tag := " [duda " + key + "]"
	reason = clip(strings.TrimSpace(reason), 500-len(tag)) + tag
	// A refund made by an earlier handling of this notification that never got recorded.
	if done, err := a.store.ListRefunds(ctx, txn.OrganizationID, txn.ID); err == nil {
		for i := range done {
			if done[i].Source == "duda" && strings.HasSuffix(done[i].Reason, tag) && done[i].Status != domain.RefundFailed {
				return &done[i], nil
			}
		}
	}
	r, err := a.svc.Refund(ctx, domain.SystemActor(txn.OrganizationID), txn.OrganizationID, txn.ID,
		platform.RefundInput{Amount: &amount, Reason: strings.TrimSpace(reason), Source: "duda"})
	if err != nil {
		switch domain.ErrorKind(err) {
		case domain.KindInvalid, domain.KindConflict, domain.KindUnprocessable, domain.KindNotFound:
			return nil, reject(http.StatusUnprocessableEntity, err.Error())
		}
		return nil, err
	}
	return r, nil
}

// refundIntent fetches the refund intent a notification names: nil when it names none, or when
// Duda does not know the id (then the notification's own amount is all there is).
func (a *App) refundIntent(ctx context.Context, app *platform.DudaApp, site *store.DudaSite, sess *store.DudaSession, id string) (*duda.RefundIntent, error) {
	if id == "" {
		return nil, nil
	}
	cl, err := a.siteClient(app, site)
	if err != nil {
		return nil, err
	}
	ri, err := cl.GetRefundIntent(ctx, sess.SiteName, id)
	if duda.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		if errors.Is(err, duda.ErrNoTokens) {
			return nil, errNotInstalled // uninstalled meanwhile
		}
		return nil, err
	}
	return &ri, nil
}
