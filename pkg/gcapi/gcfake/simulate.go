package gcfake

import (
	"context"
	"fmt"
	"net/http"
	"sort"
)

// Scenario simulators the fake implements, by name (the simulator id in the URL).
const (
	ScenarioBillingRequestFulfilled                  = "billing_request_fulfilled"
	ScenarioBillingRequestFulfilledAndPaymentFailed  = "billing_request_fulfilled_and_payment_failed"
	ScenarioBillingRequestFulfilledAndPaymentPaidOut = "billing_request_fulfilled_and_payment_paid_out"
	ScenarioPaymentConfirmed                         = "payment_confirmed"
	ScenarioPaymentPaidOut                           = "payment_paid_out"
	ScenarioPaymentFailed                            = "payment_failed"
	ScenarioPaymentChargedBack                       = "payment_charged_back"
	ScenarioPaymentCancelled                         = "payment_cancelled"
	ScenarioMandateActivated                         = "mandate_activated"
	ScenarioMandateFailed                            = "mandate_failed"
	ScenarioRefundPaid                               = "refund_paid"
	ScenarioRefundBounced                            = "refund_bounced"
)

// simError is a refused transition; the HTTP handler turns it into an error envelope.
type simError struct {
	status           int
	typ, reason, msg string
}

func (e *simError) Error() string { return fmt.Sprintf("gcfake: %d %s: %s", e.status, e.typ, e.msg) }

func notFound(kind, id string) error {
	return &simError{http.StatusNotFound, "invalid_api_usage", "resource_not_found", fmt.Sprintf("%s %s not found", kind, id)}
}

func wrongState(kind, id, status, scenario string) error {
	return &simError{http.StatusUnprocessableEntity, "invalid_state", "invalid_state",
		fmt.Sprintf("%s %s is %s, which scenario %s cannot start from", kind, id, status, scenario)}
}

// Scenarios lists the scenario simulators the fake implements.
func Scenarios() []string {
	out := make([]string, 0, len(scenarios))
	for k := range scenarios {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var scenarios = map[string]func(s *Server, scenario, id string) error{
	ScenarioBillingRequestFulfilled: func(s *Server, sc, id string) error {
		return s.fulfilByIDLocked(sc, id, nil)
	},
	ScenarioBillingRequestFulfilledAndPaymentFailed: func(s *Server, sc, id string) error {
		return s.fulfilByIDLocked(sc, id, func(p *Payment) error { return s.failPaymentLocked(p, sc) })
	},
	ScenarioBillingRequestFulfilledAndPaymentPaidOut: func(s *Server, sc, id string) error {
		return s.fulfilByIDLocked(sc, id, func(p *Payment) error { return s.payOutPaymentLocked(p, sc) })
	},
	ScenarioPaymentConfirmed: withPayment((*Server).confirmPaymentLocked),
	ScenarioPaymentPaidOut:   withPayment((*Server).payOutPaymentLocked),
	ScenarioPaymentFailed:    withPayment((*Server).failPaymentLocked),
	ScenarioPaymentChargedBack: withPayment(func(s *Server, p *Payment, sc string) error {
		if err := s.payOutPaymentLocked(p, sc); err != nil {
			return err
		}
		s.setPaymentStatusLocked(p, "charged_back", "charged_back", EventDetails{Origin: "bank", Cause: "payment_charged_back",
			Description: "The customer has disputed the payment with their bank.", Scheme: p.Scheme, ReasonCode: reasonCode(p.Scheme, "chargeback")}, nil)
		return nil
	}),
	ScenarioPaymentCancelled: withPayment(func(s *Server, p *Payment, sc string) error {
		if p.Status != "pending_submission" && p.Status != "pending_customer_approval" {
			return wrongState("payment", p.ID, p.Status, sc)
		}
		s.setPaymentStatusLocked(p, "cancelled", "cancelled", EventDetails{Origin: "api", Cause: "payment_cancelled",
			Description: "The payment was cancelled."}, nil)
		return nil
	}),
	ScenarioMandateActivated: withMandate(func(s *Server, m *Mandate, sc string) error {
		if m.Status != "pending_submission" && m.Status != "submitted" {
			return wrongState("mandate", m.ID, m.Status, sc)
		}
		if m.Status == "pending_submission" {
			s.setMandateStatusLocked(m, "submitted", "submitted", EventDetails{Origin: "gocardless", Cause: "mandate_submitted",
				Description: "The mandate has been submitted to the banks."})
		}
		s.setMandateStatusLocked(m, "active", "active", EventDetails{Origin: "gocardless", Cause: "mandate_activated",
			Description: "The time window after submission for the banks to refuse a mandate has ended without any errors being received, so this mandate is now active."})
		return nil
	}),
	ScenarioMandateFailed: withMandate(func(s *Server, m *Mandate, sc string) error {
		if m.Status != "pending_submission" && m.Status != "submitted" {
			return wrongState("mandate", m.ID, m.Status, sc)
		}
		s.setMandateStatusLocked(m, "failed", "failed", EventDetails{Origin: "bank", Cause: "invalid_bank_details",
			Description: "The specified bank account does not exist or was closed.", Scheme: m.Scheme, ReasonCode: reasonCode(m.Scheme, "mandate")})
		// Payments waiting on a mandate that failed can never be collected.
		for _, p := range s.paymentsSorted() {
			if p.Links["mandate"] == m.ID && (p.Status == "pending_submission" || p.Status == "pending_customer_approval") {
				s.setPaymentStatusLocked(p, "cancelled", "cancelled", EventDetails{Origin: "gocardless", Cause: "mandate_failed",
					Description: "The mandate for this payment failed."}, nil)
			}
		}
		return nil
	}),
	ScenarioRefundPaid: withRefund(func(s *Server, rf *Refund, sc string) error {
		if rf.Status != "created" && rf.Status != "pending_submission" && rf.Status != "submitted" {
			return wrongState("refund", rf.ID, rf.Status, sc)
		}
		s.setRefundStatusLocked(rf, "paid", "paid", EventDetails{Origin: "gocardless", Cause: "refund_paid",
			Description: "The refund has been paid to your customer."})
		return nil
	}),
	// GoCardless reports a bounced refund with a refunds "failed" event (the action the platform
	// listens for) while the refund's status reads "bounced"; the money goes back on the payment.
	ScenarioRefundBounced: withRefund(func(s *Server, rf *Refund, sc string) error {
		if rf.Status != "created" && rf.Status != "pending_submission" && rf.Status != "submitted" && rf.Status != "paid" {
			return wrongState("refund", rf.ID, rf.Status, sc)
		}
		if p := s.payments[rf.Links["payment"]]; p != nil {
			p.AmountRefunded -= rf.Amount
		}
		s.setRefundStatusLocked(rf, "bounced", "failed", EventDetails{Origin: "bank", Cause: "refund_bounced",
			Description: "The refund could not be paid to your customer and has bounced."})
		return nil
	}),
}

func withPayment(f func(*Server, *Payment, string) error) func(*Server, string, string) error {
	return func(s *Server, sc, id string) error {
		p := s.payments[id]
		if p == nil {
			return notFound("payment", id)
		}
		return f(s, p, sc)
	}
}

func withMandate(f func(*Server, *Mandate, string) error) func(*Server, string, string) error {
	return func(s *Server, sc, id string) error {
		m := s.mandates[id]
		if m == nil {
			return notFound("mandate", id)
		}
		return f(s, m, sc)
	}
}

func withRefund(f func(*Server, *Refund, string) error) func(*Server, string, string) error {
	return func(s *Server, sc, id string) error {
		rf := s.refunds[id]
		if rf == nil {
			return notFound("refund", id)
		}
		return f(s, rf, sc)
	}
}

// Simulate runs a scenario simulator from Go, exactly as
// POST /scenario_simulators/{scenario}/actions/run would. With WithAutoDeliver the resulting
// events are delivered (under ctx) before it returns. It fails when the resource does not exist
// or is not in a state the scenario starts from.
func (s *Server) Simulate(ctx context.Context, scenario, resourceID string) error {
	s.mu.Lock()
	err := s.simulateLocked(scenario, resourceID)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.deliverNow(ctx)
	return nil
}

func (s *Server) simulateLocked(scenario, id string) error {
	f, ok := scenarios[scenario]
	if !ok {
		return &simError{http.StatusNotFound, "invalid_api_usage", "resource_not_found", fmt.Sprintf("scenario simulator %q not found", scenario)}
	}
	return f(s, scenario, id)
}

func (s *Server) fulfilByIDLocked(scenario, id string, then func(*Payment) error) error {
	br := s.billingRequests[id]
	if br == nil {
		return notFound("billing request", id)
	}
	if br.Status != "pending" && br.Status != "ready_to_fulfil" {
		return wrongState("billing request", id, br.Status, scenario)
	}
	if then != nil && br.PaymentRequest == nil {
		return wrongState("billing request", id, "without a payment request", scenario)
	}
	p := s.fulfilLocked(br, nil)
	if then != nil {
		return then(p)
	}
	return nil
}

// fulfilLocked completes a billing request as the payer would: customer, bank account, mandate
// (a Direct Debit one for mandate_request, a consumed one-off one for an instant payment), and
// payment in pending_submission. It returns the payment, if any.
func (s *Server) fulfilLocked(br *BillingRequest, flow *BillingRequestFlow) *Payment {
	now := s.nowUTC()
	cust := s.customers[br.Links.Customer]
	if cust == nil {
		cust = &Customer{ID: s.newIDLocked("CU"), CreatedAt: now, GivenName: "Test", FamilyName: "Payer", Email: "payer@example.com", CountryCode: "GB"}
		if flow != nil && flow.PrefilledCustomer != nil {
			pc := flow.PrefilledCustomer
			cust.GivenName, cust.FamilyName, cust.Email = or(pc.GivenName, cust.GivenName), or(pc.FamilyName, cust.FamilyName), or(pc.Email, cust.Email)
			cust.AddressLine1, cust.City, cust.PostalCode, cust.CountryCode = pc.AddressLine1, pc.City, pc.PostalCode, or(pc.CountryCode, cust.CountryCode)
		}
		s.customers[cust.ID] = cust
	}
	br.Links.Customer = cust.ID
	br.Links.CustomerBillingDetail = s.newIDLocked("CBD")
	br.Links.CustomerBankAccount = s.newIDLocked("BA")
	mandateLinks := func() map[string]string {
		return map[string]string{"creditor": br.Links.Creditor, "customer": cust.ID, "customer_bank_account": br.Links.CustomerBankAccount}
	}

	var mandateID string
	if mr := br.MandateRequest; mr != nil {
		m := &Mandate{ID: s.newIDLocked("MD"), CreatedAt: now, Status: "pending_submission", Scheme: mr.Scheme,
			Reference: "PAYGATE-" + s.tag, NextPossibleChargeDate: now.AddDate(0, 0, 5).Format("2006-01-02"),
			Metadata: cloneMap(mr.Metadata), Links: mandateLinks()}
		s.mandates[m.ID] = m
		mr.Links["mandate"] = m.ID
		br.Links.MandateRequestMandate = m.ID
		mandateID = m.ID
		s.recordEventLocked("mandates", "created", map[string]string{"mandate": m.ID},
			EventDetails{Origin: "api", Cause: "mandate_created", Description: "Mandate created via a billing request."},
			nil, m.Metadata)
	}

	var p *Payment
	if pr := br.PaymentRequest; pr != nil {
		if mandateID == "" {
			// Instant bank payments are authorised per payment: their mandate is used up at once.
			m := &Mandate{ID: s.newIDLocked("MD"), CreatedAt: now, Status: "consumed", Scheme: pr.Scheme,
				Reference: "PAYGATE-" + s.tag, Metadata: map[string]string{}, Links: mandateLinks()}
			s.mandates[m.ID] = m
			mandateID = m.ID
		}
		p = &Payment{ID: s.newIDLocked("PM"), CreatedAt: now, ChargeDate: now.Format("2006-01-02"), Amount: pr.Amount,
			Currency: pr.Currency, Status: "pending_submission", Description: pr.Description, Scheme: pr.Scheme,
			Metadata: cloneMap(pr.Metadata), Links: map[string]string{"mandate": mandateID, "creditor": br.Links.Creditor}}
		s.payments[p.ID] = p
		br.Links.PaymentRequestPayment = p.ID
		s.recordEventLocked("payments", "created", map[string]string{"payment": p.ID},
			EventDetails{Origin: "api", Cause: "payment_created", Description: "Payment created via a billing request."},
			nil, p.Metadata)
	}

	br.Status = "fulfilled"
	for i := range br.Actions {
		br.Actions[i].Status = "completed"
	}
	links := map[string]string{"billing_request": br.ID, "customer": cust.ID, "customer_bank_account": br.Links.CustomerBankAccount}
	if br.Links.PaymentRequestPayment != "" {
		links["payment_request_payment"] = br.Links.PaymentRequestPayment
	}
	if br.Links.MandateRequestMandate != "" {
		links["mandate_request_mandate"] = br.Links.MandateRequestMandate
	}
	s.recordEventLocked("billing_requests", "fulfilled", links,
		EventDetails{Origin: "payer", Cause: "billing_request_fulfilled", Description: "This billing request has been fulfilled, and the resources have been created."},
		nil, br.Metadata)
	return p
}

func (s *Server) confirmPaymentLocked(p *Payment, scenario string) error {
	switch p.Status {
	case "pending_submission":
		s.setPaymentStatusLocked(p, "submitted", "submitted", EventDetails{Origin: "gocardless", Cause: "payment_submitted",
			Description: "Payment submitted to the banks. As a result, it can no longer be cancelled."}, nil)
	case "submitted":
	default:
		return wrongState("payment", p.ID, p.Status, scenario)
	}
	s.setPaymentStatusLocked(p, "confirmed", "confirmed", EventDetails{Origin: "gocardless", Cause: "payment_confirmed",
		Description: "Enough time has passed since the payment was submitted for the banks to return an error, so this payment is now confirmed."}, nil)
	return nil
}

func (s *Server) payOutPaymentLocked(p *Payment, scenario string) error {
	switch p.Status {
	case "pending_submission", "submitted":
		if err := s.confirmPaymentLocked(p, scenario); err != nil {
			return err
		}
	case "confirmed":
	default:
		return wrongState("payment", p.ID, p.Status, scenario)
	}
	payout := s.newIDLocked("PO")
	p.Links["payout"] = payout
	s.setPaymentStatusLocked(p, "paid_out", "paid_out", EventDetails{Origin: "gocardless", Cause: "payment_paid_out",
		Description: "The payment has been paid out by GoCardless."}, map[string]string{"payout": payout})
	return nil
}

func (s *Server) failPaymentLocked(p *Payment, scenario string) error {
	switch p.Status {
	case "pending_submission":
		s.setPaymentStatusLocked(p, "submitted", "submitted", EventDetails{Origin: "gocardless", Cause: "payment_submitted",
			Description: "Payment submitted to the banks. As a result, it can no longer be cancelled."}, nil)
	case "submitted", "confirmed":
	default:
		return wrongState("payment", p.ID, p.Status, scenario)
	}
	s.setPaymentStatusLocked(p, "failed", "failed", EventDetails{Origin: "bank", Cause: "insufficient_funds",
		Description: "The customer's account had insufficient funds to make this payment.", Scheme: p.Scheme,
		ReasonCode: reasonCode(p.Scheme, "payment"), WillAttemptRetry: false}, nil)
	return nil
}

func (s *Server) setPaymentStatusLocked(p *Payment, status, action string, d EventDetails, extraLinks map[string]string) {
	p.Status = status
	links := map[string]string{"payment": p.ID}
	for k, v := range extraLinks {
		links[k] = v
	}
	s.recordEventLocked("payments", action, links, d, nil, p.Metadata)
}

func (s *Server) setMandateStatusLocked(m *Mandate, status, action string, d EventDetails) {
	m.Status = status
	s.recordEventLocked("mandates", action, map[string]string{"mandate": m.ID}, d, nil, m.Metadata)
}

func (s *Server) setRefundStatusLocked(rf *Refund, status, action string, d EventDetails) {
	rf.Status = status
	s.recordEventLocked("refunds", action, map[string]string{"refund": rf.ID, "payment": rf.Links["payment"]}, d, nil, rf.Metadata)
}

func (s *Server) paymentsSorted() []*Payment {
	out := make([]*Payment, 0, len(s.payments))
	for _, p := range s.payments {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// reasonCode returns a plausible scheme reason code; only bacs and SEPA have well-known ones.
func reasonCode(scheme, what string) string {
	codes := map[string]map[string]string{
		"bacs":      {"payment": "ARUDD-0", "chargeback": "DDICA-1", "mandate": "ADDACS-B"},
		"sepa_core": {"payment": "AM04", "chargeback": "MD01", "mandate": "AC01"},
	}
	return codes[scheme][what]
}

func or(v, fallback string) string {
	if v != "" {
		return v
	}
	return fallback
}
