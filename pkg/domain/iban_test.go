package domain

import (
	"fmt"
	"testing"
)

// Found by FuzzIBAN ("AA00000Y000000000"): check digits 00, 01 and 99 pass the mod-97 test as
// aliases of 97, 98 and 02, but ISO 13616 check digits are always 02 to 98, so such a string is
// never a real account's IBAN and must not reach a buyer's wire instructions.
func TestValidIBANRefusesCheckDigitsOutside02To98(t *testing.T) {
	t.Parallel()
	if ValidIBAN("AA00000Y000000000") {
		t.Fatal("AA00000Y000000000 is accepted")
	}
	aliases := map[string]string{"97": "00", "98": "01", "02": "99"}
	found := map[string]bool{}
	for n := 0; len(found) < len(aliases); n++ {
		iban := withCheckDigits("DE", fmt.Sprintf("37040044%010d", n))
		alias, ok := aliases[iban[2:4]]
		if !ok || found[iban[2:4]] {
			continue
		}
		found[iban[2:4]] = true
		if !ValidIBAN(iban) {
			t.Fatalf("%s is refused", iban)
		}
		if fake := iban[:2] + alias + iban[4:]; ValidIBAN(fake) || mod97(fake[4:]+fake[:4]) != 1 {
			t.Fatalf("%s (an alias of %s that passes mod 97) is accepted", fake, iban)
		}
	}
	for _, iban := range []string{"DE89370400440532013000", "GB82WEST12345698765432", "NL91ABNA0417164300"} {
		if !ValidIBAN(iban) {
			t.Fatalf("%s is refused", iban)
		}
	}
}

// Found by FuzzIBAN: NormalizeIBAN joined the fields around a space, so the two halves of an
// invalid UTF-8 sequence ("\xc2 \x85") became a new character (U+0085, itself a space) and a
// second normalisation changed the result again. Normalising is idempotent now.
func TestNormalizeIBANIsIdempotent(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"\xc2 \x85":                           "\uFFFD\uFFFD",
		"de89 3704 0044 0532 0130 00":         "DE89370400440532013000",
		" gb82\tWEST\u00a01234 5698 765432\n": "GB82WEST12345698765432",
	} {
		got := NormalizeIBAN(in)
		if got != want || NormalizeIBAN(got) != got {
			t.Fatalf("NormalizeIBAN(%q) = %q (again: %q), want %q", in, got, NormalizeIBAN(got), want)
		}
	}
}
