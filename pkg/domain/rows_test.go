package domain_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The domain's structs double as the store's rows while they map one to one onto a table (see
// docs/ARCHITECTURE.md, "Rows and domain types"). Their gorm tags may then only name storage:
// a primary key, a column name, a JSON serialiser, or "-" (not stored). Anything more (hooks,
// associations, defaults, indexes, a type the domain does not have) means the storage shape
// has left the domain's: the type then gets a row struct of its own in pkg/store. The domain
// imports no GORM: the tags are plain strings.
func TestDomainRowTagsOnlyNameStorage(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	allowed := map[string]bool{"primaryKey": true, "serializer:json": true, "-": true}
	fset := token.NewFileSet()
	tagged := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly|parser.ParseComments)
		require.NoError(t, err)
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			require.False(t, strings.HasPrefix(path, "gorm.io/"), "%s imports %s: the domain does not know GORM", name, path)
		}
		f, err = parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			field, ok := n.(*ast.Field)
			if !ok || field.Tag == nil {
				return true
			}
			raw, err := strconv.Unquote(field.Tag.Value)
			require.NoError(t, err)
			tag, ok := reflect.StructTag(raw).Lookup("gorm")
			if !ok {
				return true
			}
			tagged++
			for _, part := range strings.Split(tag, ";") {
				if allowed[part] || strings.HasPrefix(part, "column:") {
					continue
				}
				t.Errorf("%s: gorm tag %q says more than where the field is stored: give the type a row struct in pkg/store", fset.Position(field.Pos()), part)
			}
			return true
		})
	}
	require.Positive(t, tagged, "the test reads the domain's sources")
}
