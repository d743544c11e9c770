package tax

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultVIESBaseURL is the European Commission's VIES REST API.
const DefaultVIESBaseURL = "https://ec.europa.eu/taxation_customs/vies/rest-api"

// ErrVIESUnavailable is wrapped when VIES gave no answer about the number: the network or the
// context failed, the service or a member state's registry is down or busy (MS_UNAVAILABLE,
// TIMEOUT, SERVICE_UNAVAILABLE, MS_MAX_CONCURRENT_REQ, ...), it answered 5xx or 429, or its
// body was not the expected JSON. It says nothing about whether the VAT id is valid.
var ErrVIESUnavailable = errors.New("tax: VIES unavailable")

// VIESResult is VIES's answer about one VAT id.
type VIESResult struct {
	Valid             bool      `json:"valid"`
	Name              string    `json:"name,omitempty"`    // as registered, if the member state discloses it
	Address           string    `json:"address,omitempty"` // idem
	RequestIdentifier string    `json:"requestIdentifier,omitempty"`
	CheckedAt         time.Time `json:"checkedAt"` // VIES's requestDate, or our clock if it sent none
}

// VATChecker checks a VAT id with an authority. VIESClient and CachedVIES implement it.
type VATChecker interface {
	Check(ctx context.Context, vatID string) (VIESResult, error)
}

// VIESClient calls the VIES REST API. The zero value is ready to use.
type VIESClient struct {
	BaseURL string       // DefaultVIESBaseURL when empty
	HTTP    *http.Client // a client with a 15 s timeout when nil
}

var defaultVIESHTTP = &http.Client{Timeout: 15 * time.Second}

// viesInputErrors are VIES error codes that blame the request. Every other code (MS_UNAVAILABLE,
// TIMEOUT, SERVICE_UNAVAILABLE, MS_MAX_CONCURRENT_REQ, GLOBAL_MAX_CONCURRENT_REQ, SERVER_BUSY, and
// any VIES adds) means "ask again later": ErrVIESUnavailable.
var viesInputErrors = map[string]bool{
	"INVALID_INPUT":          true,
	"INVALID_REQUESTER_INFO": true,
}

type viesRequest struct {
	CountryCode string `json:"countryCode"`
	VATNumber   string `json:"vatNumber"`
}

type viesResponse struct {
	Valid             *bool  `json:"valid"`
	Name              string `json:"name"`
	Address           string `json:"address"`
	RequestDate       string `json:"requestDate"`
	RequestIdentifier string `json:"requestIdentifier"`
	UserError         string `json:"userError"`
	ActionSucceed     *bool  `json:"actionSucceed"`
	ErrorWrappers     []struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	} `json:"errorWrappers"`
}

// maxVIESBody bounds what we read from VIES; real answers are a few hundred bytes.
const maxVIESBody = 1 << 20

// Check asks VIES whether an EU VAT id (with its prefix, e.g. "FR40303265045" or "EL094259216";
// it is normalised first) is valid. An id VIES does not know is Valid false with a nil error.
//
// Errors: ErrInvalidInput when the id has no EU prefix (GB, CH, NO are not in VIES) or VIES
// rejects the request as malformed (INVALID_INPUT); ErrVIESUnavailable, possibly joined with the
// transport or context error, when VIES could not answer. Other 4xx answers are returned as
// plain errors.
func (c *VIESClient) Check(ctx context.Context, vatID string) (VIESResult, error) {
	id := NormalizeVATID(vatID)
	if _, ok := viesPrefixCountry(id); !ok {
		return VIESResult{}, invalid("VAT id %q has no EU member state prefix", vatID)
	}
	body, _ := json.Marshal(viesRequest{CountryCode: id[:2], VATNumber: id[2:]}) // cannot fail
	base := c.BaseURL
	if base == "" {
		base = DefaultVIESBaseURL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/check-vat-number", bytes.NewReader(body))
	if err != nil {
		return VIESResult{}, fmt.Errorf("tax: VIES request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = defaultVIESHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return VIESResult{}, fmt.Errorf("%w: %w", ErrVIESUnavailable, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxVIESBody))
	if err != nil {
		return VIESResult{}, fmt.Errorf("%w: reading answer: %w", ErrVIESUnavailable, err)
	}
	return parseVIES(resp.StatusCode, raw, time.Now())
}

// parseVIES reads VIES's answer leniently: an error code anywhere wins over the status code,
// and anything that is not a recognisable answer counts as unavailability.
func parseVIES(status int, raw []byte, now time.Time) (VIESResult, error) {
	var r viesResponse
	jsonErr := json.Unmarshal(raw, &r)
	if jsonErr == nil {
		codes := make([]string, 0, len(r.ErrorWrappers)+1)
		for _, w := range r.ErrorWrappers {
			codes = append(codes, strings.ToUpper(strings.TrimSpace(w.Error)))
		}
		if u := strings.ToUpper(strings.TrimSpace(r.UserError)); u != "" && u != "VALID" && u != "INVALID" {
			codes = append(codes, u)
		}
		for _, code := range codes {
			if viesInputErrors[code] {
				return VIESResult{}, invalid("VIES rejected the request: %s", code)
			}
		}
		if len(codes) > 0 || (r.ActionSucceed != nil && !*r.ActionSucceed) {
			// unknown codes too: VIES did not answer the question
			return VIESResult{}, fmt.Errorf("%w: VIES error %s (HTTP %d)", ErrVIESUnavailable, strings.Join(codes, ", "), status)
		}
	}
	switch {
	case status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout:
		return VIESResult{}, fmt.Errorf("%w: HTTP %d", ErrVIESUnavailable, status)
	case status >= 400:
		return VIESResult{}, fmt.Errorf("tax: VIES answered HTTP %d: %.200s", status, raw)
	case jsonErr != nil:
		return VIESResult{}, fmt.Errorf("%w: answer is not JSON: %w", ErrVIESUnavailable, jsonErr)
	case r.Valid == nil:
		return VIESResult{}, fmt.Errorf("%w: answer has no \"valid\" field", ErrVIESUnavailable)
	}
	return VIESResult{
		Valid:             *r.Valid,
		Name:              viesText(r.Name),
		Address:           viesText(r.Address),
		RequestIdentifier: r.RequestIdentifier,
		CheckedAt:         viesTime(r.RequestDate, now),
	}, nil
}

// viesText drops the "---" VIES sends for undisclosed names and addresses.
func viesText(s string) string {
	s = strings.TrimSpace(s)
	if strings.Trim(s, "-") == "" {
		return ""
	}
	return s
}

func viesTime(s string, now time.Time) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999Z0700", "2006-01-02Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return now.UTC()
}

// CachedVIES remembers VIES answers (valid or invalid, never errors) for a TTL. It is safe for
// concurrent use; concurrent checks of the same id may both reach the checker.
type CachedVIES struct {
	checker VATChecker
	ttl     time.Duration
	now     func() time.Time
	max     int

	mu      sync.Mutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	res     VIESResult
	expires time.Time
}

// NewCachedVIES wraps checker with an in-memory cache of at most 10,000 answers, each kept
// for ttl. A ttl <= 0 disables caching.
func NewCachedVIES(checker VATChecker, ttl time.Duration) *CachedVIES {
	return &CachedVIES{checker: checker, ttl: ttl, now: time.Now, max: 10000, entries: map[string]cacheEntry{}}
}

// Check returns a cached answer for the normalised id while it is fresh, and otherwise asks
// the wrapped checker, with its errors.
func (c *CachedVIES) Check(ctx context.Context, vatID string) (VIESResult, error) {
	key := NormalizeVATID(vatID)
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.res, nil
	}
	res, err := c.checker.Check(ctx, key)
	if err != nil || c.ttl <= 0 {
		return res, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		c.evict(now)
	}
	c.entries[key] = cacheEntry{res: res, expires: now.Add(c.ttl)}
	return res, nil
}

// evict drops expired entries and, if the cache is still full, arbitrary ones. Callers hold mu.
func (c *CachedVIES) evict(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	for k := range c.entries {
		if len(c.entries) < c.max {
			break
		}
		delete(c.entries, k)
	}
}

// VerifyVATID turns what a buyer typed into a normalised id and the status Compute needs:
// VATIDNone for an empty id, VATIDInvalid for a bad format or a VIES "invalid", VATIDVIESValid or
// VATIDVIESUnavailable after asking checker about an EU id, and VATIDFormatValid for a well-formed
// non-EU id (GB, CH, NO) or when checker is nil. The VIES answer is returned when there was one.
// Unavailability and VIES's INVALID_INPUT become statuses; other errors (an unexpected 4xx, say)
// are returned with an empty status.
func VerifyVATID(ctx context.Context, checker VATChecker, raw string) (string, VATIDStatus, *VIESResult, error) {
	id := NormalizeVATID(raw)
	if id == "" {
		return "", VATIDNone, nil, nil
	}
	country, ok := ValidateVATIDFormat(id)
	switch {
	case !ok:
		return id, VATIDInvalid, nil, nil
	case !IsEU(country) || checker == nil:
		return id, VATIDFormatValid, nil, nil
	}
	res, err := checker.Check(ctx, id)
	switch {
	case errors.Is(err, ErrVIESUnavailable):
		return id, VATIDVIESUnavailable, nil, nil
	case errors.Is(err, ErrInvalidInput): // VIES calls the id malformed
		return id, VATIDInvalid, nil, nil
	case err != nil:
		return id, "", nil, err
	case res.Valid:
		return id, VATIDVIESValid, &res, nil
	default:
		return id, VATIDInvalid, &res, nil
	}
}
