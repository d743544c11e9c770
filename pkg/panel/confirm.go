package panel

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/money"
)

// confirmField is the form field a page's action form sends to ask for the confirm step
// first: confirm=ask renders what will happen, and a form (the same fields, without it) that
// does it. The step needs no script. A POST without the field acts at once (the API-like
// callers and the confirm form itself).
const confirmField = "confirm"

// asksConfirmation reports whether the POST asks for the confirm step.
func asksConfirmation(c echo.Context) bool { return c.FormValue(confirmField) == "ask" }

// confirmation is a confirm step: what will happen, in words, and the form that does it.
type confirmation struct {
	Heading string
	// Lines say what will happen, one statement each.
	Lines  []string
	Action string
	Fields []confirmHidden
	Button string
	Danger bool
	// Cancel is where "Cancel" goes back to.
	Cancel string
}

type confirmHidden struct{ Name, Value string }

// confirmStep renders the confirm step.
func (p *Panel) confirmStep(c echo.Context, r *request, nav string, cf confirmation) error {
	return p.render(c, r, http.StatusOK, "confirm", cf.Heading, nav, cf)
}

// graceWords says how long an old API key keeps working, in days/hours/minutes.
func graceWords(minutes int) string {
	if minutes <= 0 {
		return "stops working at once"
	}
	return "keeps working for " + durationWords(time.Duration(minutes)*time.Minute)
}

// durationWords renders a duration as "7 days", "1 hour", "1 day 2 hours", "30 minutes".
func durationWords(d time.Duration) string {
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	out := ""
	add := func(n int, unit string) {
		if n == 0 {
			return
		}
		if out != "" {
			out += " "
		}
		out += strconv.Itoa(n) + " " + unit
		if n != 1 {
			out += "s"
		}
	}
	add(days, "day")
	add(hours, "hour")
	add(mins, "minute")
	if out == "" {
		return "less than a minute"
	}
	return out
}

// refundAmountText reads a refund form's amount (empty: everything refundable) as minor
// units, or says in words what is wrong with it.
func refundAmountText(amount string, currency string, refundable int64) (int64, string) {
	if amount == "" {
		return refundable, ""
	}
	cur, _ := money.Lookup(currency)
	v, err := money.ParseDecimal(amount, cur)
	switch {
	case err != nil || v <= 0:
		return 0, "Enter an amount like 10.50 (at most " + strconv.Itoa(cur.Exponent) + " decimal places), or leave it empty to refund everything."
	case v > refundable:
		return 0, "The amount must be at most " + formatMoney(refundable, currency) + ", what is left to refund."
	}
	return v, ""
}

// confirmMarkPaid is the confirm step of marking a transfer paid; ok is false when the
// transaction cannot be marked paid (the action then reports why).
func (p *Panel) confirmMarkPaid(c echo.Context, r *request) (bool, error) {
	if err := authorize(r, "transaction:update"); err != nil {
		return false, err
	}
	d, err := p.loadTransaction(c, r)
	if err != nil || !d.CanMarkPaid {
		return false, err
	}
	t, note := d.Txn, c.FormValue("note")
	amount := formatMoney(t.GrossAmount, t.Currency)
	lines := []string{"Transaction " + t.ID + " will be recorded as paid: " + amount + " received by bank transfer" + refWords(t.PaymentReference) + "."}
	if note != "" {
		lines = append(lines, "Note: “"+note+"”.")
	}
	lines = append(lines, "The checkout is completed and the merchant's site is notified that it was paid. This cannot be undone.")
	return true, p.confirmStep(c, r, "transactions", confirmation{Heading: "Mark " + amount + " as paid?", Lines: lines,
		Action: "/transactions/" + t.ID + "/mark-paid", Fields: []confirmHidden{{"note", note}},
		Button: "Yes, mark " + amount + " as paid", Cancel: "/transactions/" + t.ID})
}

func refWords(ref *string) string {
	if ref == nil || *ref == "" {
		return ""
	}
	return " with the reference " + *ref
}

// confirmRefund is the confirm step of a refund, with the amount formatted; a form error (an
// amount that is not one, or more than is left) is shown on the transaction page instead.
func (p *Panel) confirmRefund(c echo.Context, r *request, rf refundForm) error {
	if err := authorize(r, "refund:create"); err != nil {
		return err
	}
	d, err := p.loadTransaction(c, r)
	if err != nil {
		return err
	}
	t := d.Txn
	amount, msg := refundAmountText(rf.Amount, t.Currency, d.Refundable)
	if d.Refundable == 0 {
		msg = "Nothing is left to refund on this transaction."
	}
	if msg != "" {
		d.RefundForm = refundForm{formState: formState{Message: "The refund was not made: " + msg}, Amount: rf.Amount, Reason: rf.Reason}
		d.RefundForm.set("amount", msg)
		return p.render(c, r, http.StatusUnprocessableEntity, "transaction", "Transaction "+t.ID, "transactions", d)
	}
	words := formatMoney(amount, t.Currency)
	lines := []string{words + " of transaction " + t.ID + " (" + formatMoney(t.GrossAmount, t.Currency) + ") goes back to the payer."}
	if t.ProviderType == "wire_transfer" {
		lines = append(lines, "Wire transfers are refunded by you from the bank account: this records that you did.")
	} else {
		lines = append(lines, "The refund is sent through "+label(t.ProviderType)+".")
	}
	lines = append(lines, "Afterwards "+formatMoney(d.Refundable-amount, t.Currency)+" can still be refunded. This cannot be undone.")
	if rf.Reason != "" {
		lines = append(lines, "Reason: “"+rf.Reason+"”.")
	}
	return p.confirmStep(c, r, "transactions", confirmation{Heading: "Refund " + words + "?", Lines: lines,
		Action: "/transactions/" + t.ID + "/refund", Fields: []confirmHidden{{"amount", formatDecimal(amount, t.Currency)}, {"reason", rf.Reason}},
		Button: "Yes, refund " + words, Danger: true, Cancel: "/transactions/" + t.ID})
}

// confirmRotate is the confirm step of rotating an API key.
func (p *Panel) confirmRotate(c echo.Context, r *request) error {
	k, err := p.d.Tenancy.GetAPIKey(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id"))
	if err != nil {
		return err
	}
	grace, _ := atoi(c.FormValue("graceMinutes"))
	name := keyName(k.Name)
	return p.confirmStep(c, r, "api-keys", confirmation{Heading: "Rotate the API key " + name + "?",
		Lines: []string{"A new key replaces " + name + " (sk_" + string(k.Mode) + "_" + k.ID + "); its secret is shown once.",
			"The current secret " + graceWords(grace) + "; update every integration using it before then."},
		Action: "/api-keys/" + k.ID + "/rotate", Fields: []confirmHidden{{"graceMinutes", strconv.Itoa(grace)}},
		Button: "Yes, rotate " + name, Cancel: "/api-keys"})
}

func keyName(n string) string {
	if n == "" {
		return "(unnamed)"
	}
	return "“" + n + "”"
}

// confirmDelete is the confirm step of deleting something (what: "site “Shop” (site_…)"),
// for those with the permission (perm: "site:delete") only.
func (p *Panel) confirmDelete(c echo.Context, r *request, perm, nav, what, action, cancel string, lines ...string) error {
	if err := authorize(r, perm); err != nil {
		return err
	}
	return p.confirmStep(c, r, nav, confirmation{Heading: "Delete " + what + "?",
		Lines:  append([]string{"The " + what + " is deleted for good. This cannot be undone."}, lines...),
		Action: action, Button: "Yes, delete it", Danger: true, Cancel: cancel})
}

// confirmRevoke is the confirm step of revoking an API key.
func (p *Panel) confirmRevoke(c echo.Context, r *request) error {
	k, err := p.d.Tenancy.GetAPIKey(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id"))
	if err != nil {
		return err
	}
	name := keyName(k.Name)
	return p.confirmStep(c, r, "api-keys", confirmation{Heading: "Revoke the API key " + name + "?",
		Lines: []string{"sk_" + string(k.Mode) + "_" + k.ID + " stops working at once: every integration using it is refused from now on.",
			"The key stays in the list as revoked, and can then be deleted. This cannot be undone."},
		Action: "/api-keys/" + k.ID + "/revoke", Button: "Yes, revoke " + name, Danger: true, Cancel: "/api-keys"})
}

// confirmExpire is the confirm step of ending an open checkout, with its amount formatted.
func (p *Panel) confirmExpire(c echo.Context, r *request) error {
	if err := authorize(r, "checkout:update"); err != nil {
		return err
	}
	det, err := p.d.Checkout.GetCheckout(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id"))
	if err != nil {
		return err
	}
	co := det.Checkout
	amount := formatMoney(co.Amount, co.Currency)
	return p.confirmStep(c, r, "checkouts", confirmation{Heading: "End checkout " + co.Reference() + " for " + amount + " now?",
		Lines: []string{"The payment link of checkout " + co.ID + " (" + amount + ") stops taking payments at once; the buyer sees that it has expired.",
			"It cannot be opened again: create a new checkout if the buyer still wants to pay."},
		Action: "/checkouts/" + co.ID + "/expire", Button: "Yes, end the checkout", Danger: true, Cancel: "/checkouts/" + co.ID})
}

// confirmRemoveMember is the confirm step of taking a member out of the organisation.
func (p *Panel) confirmRemoveMember(c echo.Context, r *request) error {
	if err := authorize(r, "user:delete"); err != nil {
		return err
	}
	members, err := p.d.Tenancy.ListMembers(c.Request().Context(), r.Actor, r.OrgID())
	if err != nil {
		return err
	}
	for _, m := range members {
		if m.User.ID != c.Param("id") {
			continue
		}
		return p.confirmStep(c, r, "users", confirmation{Heading: "Remove " + m.User.Email + " from " + r.Org.Name + "?",
			Lines: []string{m.User.Email + " (" + string(m.Role) + ") can no longer work in " + r.Org.Name + "; their open sessions lose it at once.",
				"The audit log keeps what they did. Invite them again to give access back."},
			Action: "/users/" + m.User.ID + "/remove", Button: "Yes, remove " + m.User.Email, Danger: true, Cancel: "/users"})
	}
	return domain.NotFound("member")
}

// confirmSecret is the confirm step of generating a new IPN signing secret for a site.
func (p *Panel) confirmSecret(c echo.Context, r *request, s *domain.Site) error {
	if err := authorize(r, "site:update"); err != nil {
		return err
	}
	return p.confirmStep(c, r, "sites", confirmation{Heading: "Generate a new signing secret for “" + s.Name + "”?",
		Lines: []string{"The current IPN signing secret of site " + s.ID + " stops working at once: notifications are signed with the new one from now on.",
			"The new secret is shown once; put it into the site's integration straight away, or it will refuse the notifications."},
		Action: "/sites/" + s.ID + "/webhook-secret", Fields: []confirmHidden{{"confirm", "yes"}},
		Button: "Yes, generate a new secret", Danger: true, Cancel: "/sites/" + s.ID})
}

// confirmDudaDelete is the confirm step of deleting a Duda connection.
func (p *Panel) confirmDudaDelete(c echo.Context, r *request) error {
	dc, err := p.d.DudaConn.GetDudaConnection(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id"))
	if err != nil {
		return err
	}
	return p.confirmDelete(c, r, "duda:delete", "duda", "Duda connection of the app "+dc.AppUUID+" ("+dc.ID+")", "/duda/"+dc.ID+"/delete", "/duda/"+dc.ID,
		"Its sealed app credentials are erased and Duda stores stop offering the site's payment methods. "+
			"A connection still installed on a Duda site, or with checkouts from Duda, cannot be deleted; disable it instead.")
}
