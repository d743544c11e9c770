package gcfake

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
)

// The authorisation pages stand in for GoCardless's hosted payment pages: plain HTML without
// scripts, so a headless browser can click #gc-pay or #gc-exit.

var flowPage = template.Must(template.New("flow").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Title}} - GoCardless (fake)</title></head>
<body>
<main id="gc-flow" data-flow="{{.FlowID}}" data-billing-request="{{.BillingRequestID}}" data-status="{{.Status}}">
<h1>{{.Title}}</h1>
{{if .Creditor}}<p id="gc-creditor">{{.Creditor}}</p>{{end}}
{{if .Amount}}<p id="gc-amount">{{.Amount}}</p>{{end}}
{{if .Description}}<p id="gc-description">{{.Description}}</p>{{end}}
{{if .Message}}<p id="gc-message">{{.Message}}</p>{{end}}
{{if .CanPay}}<form method="post" action="/flow/{{.FlowID}}/pay"><button type="submit" id="gc-pay">{{.PayLabel}}</button></form>{{end}}
{{if .CanExit}}<p><a id="gc-exit" href="/flow/{{.FlowID}}/exit">Cancel / go back</a></p>{{end}}
{{if .ContinueURL}}<p><a id="gc-continue" href="{{.ContinueURL}}">Continue</a></p>{{end}}
</main>
</body>
</html>
`))

type flowView struct {
	Title, FlowID, BillingRequestID, Status string
	Creditor, Amount, Description, Message  string
	PayLabel                                string
	CanPay, CanExit                         bool
	ContinueURL                             string
}

func renderPage(w http.ResponseWriter, status int, v flowView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = flowPage.Execute(w, v)
}

// flowStateLocked finds a flow and its billing request and says whether the payer may act on it.
func (s *Server) flowStateLocked(id string) (*BillingRequestFlow, *BillingRequest, int, string) {
	f := s.flows[id]
	if f == nil {
		return nil, nil, http.StatusNotFound, "This payment link does not exist."
	}
	br := s.billingRequests[f.Links["billing_request"]]
	if !s.nowUTC().Before(f.ExpiresAt) {
		return f, br, http.StatusGone, "This payment link has expired."
	}
	return f, br, http.StatusOK, ""
}

func (s *Server) handleFlowPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f, br, status, msg := s.flowStateLocked(r.PathValue("id"))
	if status != http.StatusOK {
		s.mu.Unlock()
		renderPage(w, status, flowView{Title: "Payment link unavailable", FlowID: r.PathValue("id"), Message: msg})
		return
	}
	v := flowView{FlowID: f.ID, BillingRequestID: br.ID, Status: br.Status, Creditor: s.creditors[0].Name}
	if c := s.creditorLocked(br.Links.Creditor); c != nil {
		v.Creditor = c.Name
	}
	if pr := br.PaymentRequest; pr != nil {
		v.Title, v.PayLabel = "Pay "+v.Creditor, "Pay"
		v.Amount = fmt.Sprintf("%s %d.%02d", pr.Currency, pr.Amount/100, pr.Amount%100)
		v.Description = pr.Description
	} else {
		v.Title, v.PayLabel = "Set up a Direct Debit with "+v.Creditor, "Set up Direct Debit"
	}
	switch br.Status {
	case "fulfilled":
		v.Title, v.Message, v.ContinueURL = "All done", "This request has already been completed.", f.RedirectURI
	case "cancelled":
		v.Title, v.Message, v.ContinueURL = "Request cancelled", "This request was cancelled by the merchant.", f.ExitURI
	default:
		v.CanPay, v.CanExit = true, true
	}
	s.mu.Unlock()
	renderPage(w, http.StatusOK, v)
}

func (s *Server) handleFlowPay(w http.ResponseWriter, r *http.Request) {
	redirect, status, msg := s.pay(r.PathValue("id"))
	if status != http.StatusOK {
		renderPage(w, status, flowView{Title: "Payment not possible", FlowID: r.PathValue("id"), Message: msg})
		return
	}
	s.changed()
	if redirect == "" {
		renderPage(w, http.StatusOK, flowView{Title: "Payment complete", FlowID: r.PathValue("id"), Message: "You can close this page."})
		return
	}
	http.Redirect(w, r, redirect, http.StatusSeeOther)
}

// pay fulfils the flow's billing request unless it is already fulfilled (a repeated click or a
// browser refresh is not an error) and returns where to send the payer.
func (s *Server) pay(flowID string) (redirect string, status int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, br, status, msg := s.flowStateLocked(flowID)
	if status != http.StatusOK {
		return "", status, msg
	}
	switch br.Status {
	case "fulfilled":
	case "cancelled":
		return "", http.StatusConflict, "This request was cancelled by the merchant."
	default:
		s.fulfilLocked(br, f)
	}
	return f.RedirectURI, http.StatusOK, ""
}

// Pay does what clicking "Pay" on the authorisation page does, without HTTP: it fulfils the
// flow's billing request (creating customer, mandate and a pending_submission payment) and
// returns the flow's redirect_uri. With WithAutoDeliver the events are delivered before it
// returns. It fails for an unknown or expired flow or a cancelled billing request.
func (s *Server) Pay(ctx context.Context, flowID string) (redirectURI string, err error) {
	redirect, status, msg := s.pay(flowID)
	if status != http.StatusOK {
		return "", fmt.Errorf("gcfake: pay %s: %d %s", flowID, status, msg)
	}
	s.deliverNow(ctx)
	return redirect, nil
}

func (s *Server) handleFlowExit(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f, br, status, msg := s.flowStateLocked(r.PathValue("id"))
	if status == http.StatusNotFound {
		s.mu.Unlock()
		renderPage(w, status, flowView{Title: "Payment link unavailable", FlowID: r.PathValue("id"), Message: msg})
		return
	}
	exit := f.ExitURI
	if br != nil {
		s.recordEventLocked("billing_requests", "flow_exited", map[string]string{"billing_request": br.ID, "billing_request_flow": f.ID},
			EventDetails{Origin: "payer", Cause: "billing_request_flow_exited", Description: "The payer left the billing request flow."},
			nil, br.Metadata)
	}
	s.mu.Unlock()
	s.changed()
	if exit == "" {
		renderPage(w, http.StatusOK, flowView{Title: "You left the payment page", FlowID: f.ID, Message: "You can close this page."})
		return
	}
	http.Redirect(w, r, exit, http.StatusSeeOther)
}
