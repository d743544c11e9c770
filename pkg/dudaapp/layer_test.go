package dudaapp_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The endpoints are HTTP only: they call the Duda use cases (package integration/duda) and
// reach neither the store nor the wiring (pkg/app) past them.
func TestHandlersCallUseCasesOnly(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	seen := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		require.NoError(t, err)
		seen++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			require.NotContains(t, []string{"paygate.dev/pkg/store", "paygate.dev/pkg/app"}, path, "%s imports %s", name, path)
		}
	}
	require.Positive(t, seen)
}
