package tax

import (
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// RateClass names a VAT rate band of a member state.
type RateClass string

// Rate classes. Which goods fall into which band is national law and not modelled here;
// the table only records each band's percentage over time.
const (
	ClassStandard     RateClass = "standard"
	ClassReduced      RateClass = "reduced"       // the higher reduced (or intermediate/parking) band
	ClassReduced2     RateClass = "reduced2"      // the lower reduced band, where a state has two
	ClassSuperReduced RateClass = "super_reduced" // a band below 5% (ES, FR, IE, IT, LU)
)

var rateClasses = []RateClass{ClassStandard, ClassReduced, ClassReduced2, ClassSuperReduced}

// euMembers are the 27 member states, by ISO code (Greece is GR, not EL).
var euMembers = []string{
	"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
	"IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
}

// IsEU reports whether country (ISO 3166-1 alpha-2, any case) is an EU member state.
// "EL" is not an ISO code and reports false; use "GR".
func IsEU(country string) bool {
	_, ok := slices.BinarySearch(euMembers, strings.ToUpper(strings.TrimSpace(country)))
	return ok
}

// EUCountries returns the ISO codes of the 27 member states, sorted. The slice is a copy.
func EUCountries() []string { return slices.Clone(euMembers) }

//go:embed rates.csv
var ratesCSV string

// rateEntry is one row of the rate table: from From on, Class of Country is Rate
// (or does not exist, when Abolished).
type rateEntry struct {
	Country   string
	Class     RateClass
	From      time.Time
	Rate      Rate
	Abolished bool
}

type rateKey struct {
	country string
	class   RateClass
}

// rateTable holds each (country, class) history sorted by From.
var rateTable = mustLoadRates(ratesCSV)

// LookupRate returns the rate of class in country at the instant at, and false when the table
// has none: the country is not an EU member, the state has no such band, the band was
// abolished by then, or at is before the table's coverage (standard rates from 2021-01-01,
// reduced bands from 2024-01-01). A change takes effect at local midnight of the country.
func LookupRate(country string, class RateClass, at time.Time) (Rate, bool) {
	hist := rateTable[rateKey{strings.ToUpper(strings.TrimSpace(country)), class}]
	// first entry starting after at; the one before it is in force
	i := sort.Search(len(hist), func(i int) bool { return hist[i].From.After(at) })
	if i == 0 {
		return 0, false
	}
	e := hist[i-1]
	if e.Abolished {
		return 0, false
	}
	return e.Rate, true
}

func mustLoadRates(data string) map[rateKey][]rateEntry {
	t, err := loadRates(data)
	if err != nil {
		panic(err) // embedded data, covered by tests
	}
	return t
}

func loadRates(data string) (map[rateKey][]rateEntry, error) {
	r := csv.NewReader(strings.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = 5
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("rates.csv: %w", err)
	}
	if strings.Join(header, ",") != "country,class,from,rate,note" {
		return nil, fmt.Errorf("rates.csv: unexpected header %q", header)
	}
	out := map[rateKey][]rateEntry{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("rates.csv: %w", err)
		}
		line, _ := r.FieldPos(0)
		e := rateEntry{Country: rec[0], Class: RateClass(rec[1])}
		if !IsEU(e.Country) || e.Country != strings.ToUpper(e.Country) {
			return nil, fmt.Errorf("rates.csv:%d: %q is not an EU member state code", line, e.Country)
		}
		if !slices.Contains(rateClasses, e.Class) {
			return nil, fmt.Errorf("rates.csv:%d: unknown class %q", line, e.Class)
		}
		if e.From, err = time.Parse(time.RFC3339, rec[2]); err != nil {
			return nil, fmt.Errorf("rates.csv:%d: %w", line, err)
		}
		if rec[3] == "-" {
			e.Abolished = true
		} else if e.Rate, err = ParseRate(rec[3]); err != nil {
			return nil, fmt.Errorf("rates.csv:%d: %w", line, err)
		}
		k := rateKey{e.Country, e.Class}
		if h := out[k]; len(h) > 0 && !e.From.After(h[len(h)-1].From) {
			return nil, fmt.Errorf("rates.csv:%d: %s %s rows must be in increasing date order", line, e.Country, e.Class)
		}
		out[k] = append(out[k], e)
	}
	return out, nil
}
