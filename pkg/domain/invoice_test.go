package domain

import (
	"testing"
	"time"
)

func TestNumberLayoutFormatsAndResets(t *testing.T) {
	may := time.Date(2026, 5, 3, 10, 0, 0, 0, time.UTC)
	feb := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name          string
		layout        NumberLayout
		at            time.Time
		mode          Mode
		n             int64
		number, perio string
	}{
		{"default", DefaultNumberLayout(DocInvoice), may, ModeLive, 7, "INV-2026-00007", ""},
		{"test mode", DefaultNumberLayout(DocCreditNote), may, ModeTest, 1, "TEST-CN-2026-00001", ""},
		{"no year, never", NumberLayout{Prefix: "R", Period: PeriodNone, Reset: ResetNever, Padding: 3}, may, ModeLive, 42, "R042", ""},
		{"calendar yearly", NumberLayout{Prefix: "F-", Period: PeriodCalendar, Reset: ResetYearly, Padding: 4}, feb, ModeLive, 1, "F-2027-0001", "2027"},
		{"fiscal April, May", NumberLayout{Prefix: "INV", Period: PeriodFiscal, FiscalStartMonth: 4, Reset: ResetYearly, Padding: 2}, may, ModeLive, 3, "INV2026-27-03", "2026-27"},
		{"fiscal April, February", NumberLayout{Prefix: "INV", Period: PeriodFiscal, FiscalStartMonth: 4, Reset: ResetYearly, Padding: 2}, feb, ModeLive, 3, "INV2026-27-03", "2026-27"},
		{"padding overflow keeps digits", NumberLayout{Prefix: "", Period: PeriodNone, Padding: 2}, may, ModeLive, 12345, "12345", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := c.layout
			if err := l.Validate("layout"); err != nil {
				t.Fatal(err)
			}
			if got := l.Format(c.mode, c.at, c.n); got != c.number {
				t.Errorf("Format = %q, want %q", got, c.number)
			}
			if got := l.SequencePeriod(c.at); got != c.perio {
				t.Errorf("SequencePeriod = %q, want %q", got, c.perio)
			}
		})
	}
	bad := NumberLayout{Prefix: "a/b", Period: "weekly", FiscalStartMonth: 13, Reset: "daily", Padding: 40}
	err := bad.Validate("invoiceLayout")
	if ErrorKind(err) != KindInvalid {
		t.Fatalf("bad layout: %v", err)
	}
}

func TestComputeBalanceStates(t *testing.T) {
	cases := []struct {
		paid, credited, refunded int64
		state                    PaymentState
		outstanding              int64
	}{
		{0, 0, 0, PaymentOpen, 1000},
		{400, 0, 0, PaymentPartiallyPaid, 600},
		{1000, 0, 0, PaymentPaid, 0},
		{1200, 0, 0, PaymentOverpaid, -200},
		{1000, 300, 300, PaymentPartiallyRefunded, 0},
		{1000, 1000, 1000, PaymentRefunded, 0},
		{0, 1000, 0, PaymentCredited, 0},
		{0, 250, 0, PaymentPartiallyCredited, 750},
	}
	for _, c := range cases {
		b := ComputeBalance(1000, c.paid, c.credited, c.refunded)
		if b.State != c.state || b.Outstanding != c.outstanding {
			t.Errorf("paid %d credited %d refunded %d: %s %d, want %s %d", c.paid, c.credited, c.refunded, b.State, b.Outstanding, c.state, c.outstanding)
		}
	}
}
