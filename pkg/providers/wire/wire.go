// Package wire is the wire-transfer (bank transfer) provider: the buyer sees the merchant's
// bank details and a unique payment reference, transfers the money, and an operator marks the
// transaction paid when it arrives.
package wire

import (
	"context"
	"math/big"
	"strings"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/runtimeapi"
)

// Provider implements providers.Provider for bank transfers. It has no webhooks and cannot be
// asked about a payment (providers.Webhooks, providers.Syncer): an operator marks the
// transaction paid when the money arrives.
type Provider struct{}

var _ providers.Provider = Provider{}

// Register is the wire transfer's line in the wiring's registry.
func Register() providers.Registration {
	return providers.Registration{Type: domain.ProviderWireTransfer, New: func(providers.Platform) providers.Provider { return Provider{} }}
}

// Extras: none.
func (Provider) Extras() providers.Extras { return providers.Extras{} }

// Type is wire_transfer.
func (Provider) Type() domain.ProviderType { return domain.ProviderWireTransfer }

// Start gives the transaction a payment reference and shows the bank details; the transaction
// waits for the money (pending_provider).
func (a Provider) Start(_ context.Context, req providers.StartRequest) (*providers.StartResult, error) {
	ref := NewReference()
	return &providers.StartResult{
		Next:             runtimeapi.Next{Type: "wire_instructions", Wire: Instructions(req.Provider, req.Transaction, ref)},
		PaymentReference: ref,
		Status:           domain.TxnPendingProvider,
	}, nil
}

// Resume shows the same instructions again.
func (a Provider) Resume(_ context.Context, req providers.StartRequest) (*providers.StartResult, error) {
	ref := ""
	if req.Transaction.PaymentReference != nil {
		ref = *req.Transaction.PaymentReference
	}
	return &providers.StartResult{Next: runtimeapi.Next{Type: "wire_instructions", Wire: Instructions(req.Provider, req.Transaction, ref)},
		PaymentReference: ref, Status: req.Transaction.Status}, nil
}

// Refund records a manual refund: the operator sends the money back from the bank account.
func (a Provider) Refund(_ context.Context, req providers.RefundRequest) (*providers.RefundResult, error) {
	return &providers.RefundResult{Status: domain.RefundSucceeded, Manual: true}, nil
}

// TestConnection checks the bank details (there is nothing to call).
func (a Provider) TestConnection(_ context.Context, p *domain.Provider, _ map[string]string) error {
	if !domain.ValidIBAN(domain.NormalizeIBAN(p.Settings["iban"])) {
		return domain.Invalid("settings.iban", "the IBAN is not valid")
	}
	return nil
}

// Instructions are the bank details and reference shown to the buyer.
func Instructions(p *domain.Provider, t *domain.Transaction, ref string) *runtimeapi.WireInstructions {
	iban := domain.NormalizeIBAN(p.Settings["iban"])
	return &runtimeapi.WireInstructions{
		BankName: p.Settings["bankName"], AccountHolder: p.Settings["accountHolder"], IBAN: iban, IBANGrouped: domain.GroupIBAN(iban),
		BIC: p.Settings["bic"], Reference: ref, Amount: t.GrossAmount, Currency: t.Currency, Instructions: p.Settings["instructions"],
	}
}

// Reference alphabet: Crockford-style, without letters people confuse (I, L, O, U).
const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewReference returns an ISO 11649 structured creditor reference ("RF" + two check digits +
// 12 characters, printed in groups of four): banks across SEPA carry it intact, people can type
// it, and its check digits catch typing errors. Uniqueness is enforced by the database.
func NewReference() string {
	body := []byte(domain.RandomString(12))
	for i, c := range body {
		body[i] = alphabet[int(c)%len(alphabet)]
	}
	return "RF" + checkDigits(string(body)) + string(body)
}

// checkDigits computes ISO 11649 check digits (mod 97, as for IBAN).
func checkDigits(body string) string {
	n, _ := new(big.Int).SetString(numeric(body+"RF00"), 10)
	d := 98 - new(big.Int).Mod(n, big.NewInt(97)).Int64()
	return string([]byte{byte('0' + d/10), byte('0' + d%10)})
}

func numeric(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'A' && r <= 'Z' {
			b.WriteString(big.NewInt(int64(r - 'A' + 10)).String())
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ValidReference checks a reference's shape and check digits (spaces ignored).
func ValidReference(ref string) bool {
	ref = strings.ToUpper(strings.ReplaceAll(ref, " ", ""))
	if len(ref) < 5 || len(ref) > 25 || !strings.HasPrefix(ref, "RF") {
		return false
	}
	for _, r := range ref[4:] {
		if !strings.ContainsRune("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", r) {
			return false
		}
	}
	n, ok := new(big.Int).SetString(numeric(ref[4:]+ref[:4]), 10)
	return ok && new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
}

// FormatReference groups a reference in fours for display.
func FormatReference(ref string) string { return domain.GroupIBAN(ref) }

// Fields are the built-in type's (domain.FieldsFor).
func (a Provider) Fields() domain.ProviderFields {
	return domain.FieldsFor(domain.ProviderWireTransfer)
}

// Describe names the type for the panel.
func (a Provider) Describe() domain.ProviderKind {
	return domain.ProviderKind{Name: "Wire transfer", Description: "Buyers transfer the money to your bank account; you mark the payment as received.",
		RefundNote: "Wire transfers are refunded by you from the bank account; this records it."}
}

// ValidateSettings applies the built-in type's rules (domain.ValidateBuiltinSettings).
func (a Provider) ValidateSettings(p *domain.Provider) error {
	return domain.ValidateBuiltinSettings(p)
}

// ValidateCredentials applies the built-in type's rules (domain.ValidateBuiltinCredentials).
func (a Provider) ValidateCredentials(mode domain.Mode, creds map[string]string) error {
	return domain.ValidateBuiltinCredentials(domain.ProviderWireTransfer, mode, creds)
}
