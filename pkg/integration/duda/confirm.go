package duda

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"paygate.dev/pkg/domain"
	dudaapi "paygate.dev/pkg/duda"
	"paygate.dev/pkg/money"
	"paygate.dev/pkg/providers/wire"
)

// outcome is what a checkout's state says to confirm to Duda.
type outcome struct {
	state   dudaapi.ConfirmState // "" when there is nothing to confirm yet
	txn     *domain.Transaction
	failure *dudaapi.ConfirmError
}

// rank orders the confirm states: a session is never confirmed lower than it already was
// (PROCESSED after PENDING is fine, PENDING after PROCESSED never). FAILED sits between: money
// that arrives after a failure was confirmed (a late transfer) is still reported as PROCESSED.
func rank(s dudaapi.ConfirmState) int {
	switch s {
	case dudaapi.StatePending:
		return 1
	case dudaapi.StateFailed:
		return 2
	case dudaapi.StateProcessed:
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
			return outcome{state: dudaapi.StateProcessed, txn: &txns[i]}
		}
	}
	for i := len(txns) - 1; i >= 0; i-- {
		t := txns[i]
		if t.Status == domain.TxnPendingProvider && (t.ProviderType == domain.ProviderWireTransfer || t.ProviderType == domain.ProviderGoCardless) {
			return outcome{state: dudaapi.StatePending, txn: &txns[i]}
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
	o := outcome{state: dudaapi.StateFailed, txn: last, failure: &dudaapi.ConfirmError{Code: "checkout_expired", Message: "The payment was not completed in time."}}
	if c.Status == domain.CheckoutCancelled {
		o.failure = &dudaapi.ConfirmError{Code: "checkout_cancelled", Message: "The payment was cancelled."}
	}
	if last != nil && last.FailureMessage != "" {
		o.failure.Message = clip(last.FailureMessage, 500)
	}
	return o
}

// due reports whether o still has to be confirmed to a session.
func due(sess *domain.DudaSession, o outcome) bool {
	if o.state == "" {
		return false
	}
	have, want := rank(dudaapi.ConfirmState(sess.ConfirmedState)), rank(o.state)
	if want != have {
		return want > have
	}
	// A second pending attempt (the shopper switched from transfer to direct debit) is news.
	return o.state == dudaapi.StatePending && o.txn != nil && (sess.ConfirmedTransactionID == nil || *sess.ConfirmedTransactionID != o.txn.ID)
}

func (uc *Service) outcome(ctx context.Context, st Store, sess *domain.DudaSession) (outcome, error) {
	c, err := st.GetCheckout(ctx, sess.OrganizationID, sess.CheckoutID)
	if err != nil {
		return outcome{}, err
	}
	txns, err := st.ListCheckoutTransactions(ctx, sess.OrganizationID, sess.CheckoutID)
	if err != nil {
		return outcome{}, err
	}
	o := outcomeOf(c, txns)
	if o.state == dudaapi.StateFailed && c.Status == domain.CheckoutCancelled && sess.CancelledBy == domain.DudaCancelledByShopper {
		f := shopperCancelled
		o.failure = &f
	}
	return o, nil
}

// Confirm reports a Duda checkout's outcome to Duda if it has not been yet, and returns the
// session as it stands (with Duda's return URL once it answered one). Confirmations of one
// session never overlap: the call runs under the store's lock of the session (Store's
// WithSessionLocked). Nothing due means nothing is sent.
func (uc *Service) Confirm(ctx context.Context, checkoutID string) (*domain.DudaSession, error) {
	var out *domain.DudaSession
	err := uc.store.WithSessionLocked(ctx, checkoutID, func(st Store, sess *domain.DudaSession) error {
		out = sess
		o, err := uc.outcome(ctx, st, sess)
		if err != nil || !due(sess, o) {
			return err
		}
		app, err := uc.connection(ctx, sess.ConnectionID)
		if err != nil {
			return err
		}
		site, err := st.GetDudaSiteByID(ctx, sess.DudaSiteID)
		if err != nil {
			return err
		}
		req, err := uc.confirmRequest(ctx, st, sess, o)
		if err != nil {
			return err
		}
		if req.TransactionID != "" {
			req.Links.Refunds = uc.refundsURL(app.Connection.ID, app.Credentials.AppSecret, req.TransactionID)
		}
		cl, err := uc.siteClient(app, site)
		if err != nil {
			return err
		}
		res, err := cl.ConfirmPaymentSession(ctx, sess.SiteName, sess.SessionID, req)
		if err != nil {
			uc.log.WarnContext(ctx, "Duda did not accept the confirmation", "checkout_id", checkoutID, "state", req.State, "error", err)
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
		uc.log.InfoContext(ctx, "confirmed to Duda", "checkout_id", checkoutID, "state", o.state, "session_id", sess.SessionID)
		return nil
	})
	return out, err
}

// confirmRequest builds the confirm body: the transaction, the payment method's name and icon,
// what the shopper reads on Duda's confirmation page, and the error of a failure. The refunds
// link is added by the caller.
func (uc *Service) confirmRequest(ctx context.Context, st Store, sess *domain.DudaSession, o outcome) (dudaapi.ConfirmRequest, error) {
	req := dudaapi.ConfirmRequest{State: o.state, Name: "Payment", Icon: uc.iconURL("gateway"), Error: o.failure}
	if o.txn != nil {
		t := o.txn
		p, err := st.GetProvider(ctx, sess.OrganizationID, t.ProviderID)
		if err != nil {
			return req, err
		}
		req.TransactionID, req.Name, req.Icon = t.ID, p.Name, uc.iconURL(string(p.Type))
		switch o.state {
		case dudaapi.StatePending:
			req.Instructions = pendingInstructions(p, t)
		case dudaapi.StateProcessed:
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
func (uc *Service) returnURL(ctx context.Context, c *domain.Checkout, _ *domain.Transaction) (string, error) {
	sess, err := uc.store.GetDudaSession(ctx, c.ID)
	if err != nil {
		return "", err
	}
	if sess.ReturnURL != "" {
		return sess.ReturnURL, nil
	}
	return uc.BaseURL(sess.ConnectionID) + "/return/" + url.PathEscape(c.ID), nil
}

// ReturnCallTimeout bounds how long the shopper waits for Duda on the way back (the
// trampoline, the cancel link).
const ReturnCallTimeout = 15 * time.Second

// ReturnToStore is the trampoline's use case: it makes sure a checkout's outcome is confirmed
// (waiting for a confirmation in flight, or making it, for at most ReturnCallTimeout) and says
// Duda's return URL, or "" while Duda cannot be reached (the page then tries again by itself).
// ErrUnknownLink when the checkout is not one of the connection's.
func (uc *Service) ReturnToStore(ctx context.Context, connectionID, checkoutID string) (string, error) {
	sess, err := uc.store.GetDudaSession(ctx, checkoutID)
	if err != nil || sess.ConnectionID != connectionID {
		if err != nil && !domain.IsNotFound(err) {
			return "", err
		}
		return "", ErrUnknownLink
	}
	cctx, cancel := context.WithTimeout(ctx, ReturnCallTimeout)
	confirmed, err := uc.Confirm(cctx, sess.CheckoutID)
	cancel()
	if err != nil {
		uc.log.WarnContext(ctx, "confirming on the shopper's return failed; the job keeps trying", "checkout_id", sess.CheckoutID, "error", err)
	} else {
		sess = confirmed
	}
	return sess.ReturnURL, nil
}
