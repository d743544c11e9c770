package dudaapp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/duda"
	"paygate.dev/pkg/money"
	"paygate.dev/pkg/providers/wire"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/store"
)

// outcome is what a checkout's state says to confirm to Duda.
type outcome struct {
	state   duda.ConfirmState // "" when there is nothing to confirm yet
	txn     *domain.Transaction
	failure *duda.ConfirmError
}

// rank orders the confirm states: a session is never confirmed lower than it already was
// (PROCESSED after PENDING is fine, PENDING after PROCESSED never). FAILED sits between: money
// that arrives after a failure was confirmed (a late transfer) is still reported as PROCESSED.
func rank(s duda.ConfirmState) int {
	switch s {
	case duda.StatePending:
		return 1
	case duda.StateFailed:
		return 2
	case duda.StateProcessed:
		return 3
	}
	return 0
}

// outcomeOf decides what to confirm from a checkout and its attempts (oldest first):
//
//   - PROCESSED once an attempt took the money (even if it was refunded since), a paid
//     duplicate aside: it is not the order's payment;
//   - PENDING while a wire transfer or direct debit waits for the money;
//   - FAILED once the checkout ended (expired or cancelled) with no money taken and none on the
//     way. That is the only final failure: a failed card attempt on an open checkout is not,
//     since the shopper can try again on the page, and a pending transfer on an expired checkout
//     is not either, since the money may still arrive.
func outcomeOf(c *domain.Checkout, txns []domain.Transaction) outcome {
	for i := len(txns) - 1; i >= 0; i-- {
		if t := txns[i]; !t.Duplicate && (t.Status.Paid() || t.Status == domain.TxnRefunded) {
			return outcome{state: duda.StateProcessed, txn: &txns[i]}
		}
	}
	for i := len(txns) - 1; i >= 0; i-- {
		t := txns[i]
		if t.Status == domain.TxnPendingProvider && (t.ProviderType == domain.ProviderWireTransfer || t.ProviderType == domain.ProviderGoCardless) {
			return outcome{state: duda.StatePending, txn: &txns[i]}
		}
	}
	if c.Status != domain.CheckoutExpired && c.Status != domain.CheckoutCancelled {
		return outcome{}
	}
	var last *domain.Transaction
	for i := range txns {
		if txns[i].Status == domain.TxnPendingProvider {
			return outcome{} // money on the way
		}
		if txns[i].Status.Final() {
			last = &txns[i]
		}
	}
	o := outcome{state: duda.StateFailed, txn: last, failure: &duda.ConfirmError{Code: "checkout_expired", Message: "The payment was not completed in time."}}
	if c.Status == domain.CheckoutCancelled {
		o.failure = &duda.ConfirmError{Code: "checkout_cancelled", Message: "The payment was cancelled."}
	}
	if last != nil && last.FailureMessage != "" {
		o.failure.Message = clip(last.FailureMessage, 500)
	}
	return o
}

// due reports whether o still has to be confirmed to a session.
func due(sess *store.DudaSession, o outcome) bool {
	if o.state == "" {
		return false
	}
	have, want := rank(duda.ConfirmState(sess.ConfirmedState)), rank(o.state)
	if want != have {
		return want > have
	}
	// A second pending attempt (the shopper switched from transfer to direct debit) is news.
	return o.state == duda.StatePending && o.txn != nil && (sess.ConfirmedTransactionID == nil || *sess.ConfirmedTransactionID != o.txn.ID)
}

// Hook is the outbox hook: a state change of a checkout that came from Duda queues its
// confirmation, one job per checkout, state and transaction. The job decides again when it runs.
func (a *App) Hook(ctx context.Context, tx *store.Store, e domain.Event) error {
	if e.CheckoutID == nil || !(strings.HasPrefix(e.Type, "transaction.") ||
		e.Type == domain.EventCheckoutExpired || e.Type == domain.EventCheckoutCancelled || e.Type == domain.EventCheckoutCompleted) {
		return nil
	}
	sess, err := tx.GetDudaSession(ctx, *e.CheckoutID)
	if domain.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	o, err := a.outcome(ctx, tx, sess)
	if err != nil || !due(sess, o) {
		return err
	}
	key := sess.CheckoutID + ":" + string(o.state)
	if o.txn != nil {
		key += ":" + o.txn.ID
	}
	_, err = queue.Insert(ctx, tx, ConfirmArgs{CheckoutID: sess.CheckoutID, Key: key, OrganizationID: sess.OrganizationID}, nil)
	return err
}

func (a *App) outcome(ctx context.Context, st *store.Store, sess *store.DudaSession) (outcome, error) {
	c, err := st.GetCheckout(ctx, sess.OrganizationID, sess.CheckoutID)
	if err != nil {
		return outcome{}, err
	}
	txns, err := st.ListCheckoutTransactions(ctx, sess.OrganizationID, sess.CheckoutID)
	if err != nil {
		return outcome{}, err
	}
	o := outcomeOf(c, txns)
	if o.state == duda.StateFailed && c.Status == domain.CheckoutCancelled && sess.CancelledBy == store.DudaCancelledByShopper {
		f := shopperCancelled
		o.failure = &f
	}
	return o, nil
}

// runConfirm is the confirmation job: retried with backoff until Duda accepts.
func (a *App) runConfirm(ctx context.Context, checkoutID string) error {
	_, err := a.Confirm(ctx, checkoutID)
	return jobError(err)
}

// Confirm reports a Duda checkout's outcome to Duda if it has not been yet, and returns the
// session as it stands (with Duda's return URL once it answered one). Confirmations of one
// session never overlap: on PostgreSQL the session's row is locked for the call, on SQLite
// (one process) a lock in memory serialises them. Nothing due means nothing is sent.
func (a *App) Confirm(ctx context.Context, checkoutID string) (*store.DudaSession, error) {
	var out *store.DudaSession
	err := a.withSession(ctx, checkoutID, func(st *store.Store, sess *store.DudaSession) error {
		out = sess
		o, err := a.outcome(ctx, st, sess)
		if err != nil || !due(sess, o) {
			return err
		}
		app, err := a.connection(ctx, sess.ConnectionID)
		if err != nil {
			return err
		}
		site, err := st.GetDudaSiteByID(ctx, sess.DudaSiteID)
		if err != nil {
			return err
		}
		req, err := a.confirmRequest(ctx, st, sess, o)
		if err != nil {
			return err
		}
		if req.TransactionID != "" {
			req.Links.Refunds = a.refundsURL(app.Connection.ID, app.Credentials.AppSecret, req.TransactionID)
		}
		cl, err := a.siteClient(app, site)
		if err != nil {
			return err
		}
		res, err := cl.ConfirmPaymentSession(ctx, sess.SiteName, sess.SessionID, req)
		if err != nil {
			a.log.WarnContext(ctx, "Duda did not accept the confirmation", "checkout_id", checkoutID, "state", req.State, "error", err)
			return err
		}
		var txnID *string
		if o.txn != nil {
			txnID = &o.txn.ID
		}
		ret := returnURLFrom(res.ReturnURL)
		if err := st.SetDudaSessionConfirmed(ctx, checkoutID, string(o.state), txnID, ret); err != nil {
			return err
		}
		sess.ConfirmedState, sess.ConfirmedTransactionID = string(o.state), txnID
		if ret != "" {
			sess.ReturnURL = ret
		}
		a.log.InfoContext(ctx, "confirmed to Duda", "checkout_id", checkoutID, "state", o.state, "session_id", sess.SessionID)
		return nil
	})
	return out, err
}

// withSession runs fn with the checkout's Duda session locked against other confirmations.
func (a *App) withSession(ctx context.Context, checkoutID string, fn func(st *store.Store, sess *store.DudaSession) error) error {
	return a.store.WithDudaSessionLocked(ctx, checkoutID, fn)
}

// confirmRequest builds the confirm body: the transaction, the payment method's name and icon,
// what the shopper reads on Duda's confirmation page, and the error of a failure. The refunds
// link is added by the caller.
func (a *App) confirmRequest(ctx context.Context, st *store.Store, sess *store.DudaSession, o outcome) (duda.ConfirmRequest, error) {
	req := duda.ConfirmRequest{State: o.state, Name: "Payment", Icon: a.iconURL("gateway"), Error: o.failure}
	if o.txn != nil {
		t := o.txn
		p, err := st.GetProvider(ctx, sess.OrganizationID, t.ProviderID)
		if err != nil {
			return req, err
		}
		req.TransactionID, req.Name, req.Icon = t.ID, p.Name, a.iconURL(string(p.Type))
		switch o.state {
		case duda.StatePending:
			req.Instructions = pendingInstructions(p, t)
		case duda.StateProcessed:
			req.Instructions = fmt.Sprintf("Payment of %s received, thank you.", formatMoney(t.GrossAmount, t.Currency))
		}
	}
	if o.failure != nil {
		req.Instructions = o.failure.Message
	}
	return req, nil
}

// pendingInstructions tells the shopper how the payment completes.
func pendingInstructions(p *domain.Provider, t *domain.Transaction) string {
	switch t.ProviderType {
	case domain.ProviderWireTransfer:
		ref := ""
		if t.PaymentReference != nil {
			ref = *t.PaymentReference
		}
		w := wire.Instructions(p, t, ref)
		var b strings.Builder
		fmt.Fprintf(&b, "Please transfer %s to %s", formatMoney(t.GrossAmount, t.Currency), w.AccountHolder)
		if w.BankName != "" {
			fmt.Fprintf(&b, " (%s)", w.BankName)
		}
		fmt.Fprintf(&b, ", IBAN %s", w.IBANGrouped)
		if w.BIC != "" {
			fmt.Fprintf(&b, ", BIC %s", w.BIC)
		}
		if ref != "" {
			fmt.Fprintf(&b, ", with the payment reference %s", wire.FormatReference(ref))
		}
		b.WriteString(". Your order is confirmed once the transfer arrives.")
		if w.Instructions != "" {
			b.WriteString(" " + w.Instructions)
		}
		return b.String()
	case domain.ProviderGoCardless:
		return "Direct debit payment is being processed."
	}
	return "The payment is being processed."
}

func formatMoney(minor int64, currency string) string {
	c, ok := money.Lookup(currency)
	if !ok {
		return fmt.Sprintf("%d %s", minor, currency)
	}
	return c.Code + " " + money.FormatDecimal(minor, c)
}

// returnURLFrom keeps Duda's return URL if it is one a browser may be sent to.
func returnURLFrom(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || len(s) > 4096 {
		return ""
	}
	return u.String()
}

// returnURL is the checkout origin's return rule: Duda's return URL once a confirmation got
// one, until then our trampoline, which confirms and then sends the shopper there.
func (a *App) returnURL(ctx context.Context, c *domain.Checkout, _ *domain.Transaction) (string, error) {
	sess, err := a.store.GetDudaSession(ctx, c.ID)
	if err != nil {
		return "", err
	}
	if sess.ReturnURL != "" {
		return sess.ReturnURL, nil
	}
	return a.base(sess.ConnectionID) + "/return/" + url.PathEscape(c.ID), nil
}

// returnCallTimeout bounds how long the shopper waits on the trampoline for Duda.
const returnCallTimeout = 15 * time.Second

// returnToStore is the trampoline: it makes sure the outcome is confirmed (waiting for a
// confirmation in flight, or making it), then sends the shopper to Duda's return URL. While
// Duda cannot be reached, the page tries again by itself.
func (a *App) returnToStore(c echo.Context) error {
	ctx := c.Request().Context()
	sess, err := a.store.GetDudaSession(ctx, c.Param("checkoutId"))
	if err != nil || sess.ConnectionID != c.Param("connectionId") {
		if err != nil && !domain.IsNotFound(err) {
			return err
		}
		return page(c, http.StatusNotFound, "Order not found", "This link is not known here.", "", "", false)
	}
	cctx, cancel := context.WithTimeout(ctx, returnCallTimeout)
	confirmed, err := a.Confirm(cctx, sess.CheckoutID)
	cancel()
	if err != nil {
		a.log.WarnContext(ctx, "confirming on the shopper's return failed; the job keeps trying", "checkout_id", sess.CheckoutID, "error", err)
	} else {
		sess = confirmed
	}
	if sess.ReturnURL != "" {
		return redirect(c, sess.ReturnURL)
	}
	return page(c, http.StatusOK, "Returning to the store", "We are letting the store know about your payment. This page continues by itself.", "", "", true)
}
