package store

import (
	"encoding/json"
)

// jsonValue renders v as JSON text for a TEXT column written through a map update
// (GORM applies serializers only to struct fields).
func jsonValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "{}"
	}
	return string(b)
}
