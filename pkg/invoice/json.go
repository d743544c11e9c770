package invoice

import "encoding/json"

// toMap turns a value into its JSON object form (evidence kept as the engine wrote it).
func toMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}
