package payment

import "encoding/json"

// remarshal copies v into out through JSON (typed values into generic maps for storage).
func remarshal(v, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// jsonText renders v as JSON for a TEXT column written through a field update.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "{}"
	}
	return string(b)
}
