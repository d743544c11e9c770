package duda

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
	dudaapi "paygate.dev/pkg/duda"
)

// An install's record keeps the payload without its tokens (those go sealed to the platform),
// and the endpoint without a trailing slash; a payload without site name or token is refused.
func TestInstallRecord(t *testing.T) {
	t.Parallel()
	exp := time.Now().Add(12 * time.Hour).Truncate(time.Millisecond)
	p := dudaapi.InstallPayload{SiteName: "shop-1", APIEndpoint: " https://api.duda.co/ ", UserLang: "de",
		Auth: dudaapi.InstallAuth{Type: "bearer", AuthorizationCode: "secret-access", RefreshToken: "secret-refresh", ExpirationDate: dudaapi.UnixTime{Time: exp}}}
	site, tok, err := installRecord(p)
	require.NoError(t, err)
	require.Equal(t, "shop-1", site.SiteName)
	require.Equal(t, "https://api.duda.co", site.APIEndpoint)
	require.Equal(t, "secret-access", tok.AccessToken)
	require.Equal(t, "secret-refresh", tok.RefreshToken)
	require.True(t, exp.Equal(tok.ExpiresAt), "%v", tok.ExpiresAt)
	require.NotContains(t, site.InstallData, "secret-")
	require.Contains(t, site.InstallData, `"user_lang":"de"`)

	for name, mut := range map[string]func(*dudaapi.InstallPayload){
		"site_name":               func(p *dudaapi.InstallPayload) { p.SiteName = " " },
		"site_name too long":      func(p *dudaapi.InstallPayload) { p.SiteName = strings.Repeat("s", 256) },
		"auth.authorization_code": func(p *dudaapi.InstallPayload) { p.Auth.AuthorizationCode = "" },
	} {
		bad := p
		mut(&bad)
		_, _, err := installRecord(bad)
		require.Equal(t, domain.KindInvalid, domain.ErrorKind(err), name)
	}
}
