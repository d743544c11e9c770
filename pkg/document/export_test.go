package document

import "sort"

// Messages returns a catalog language's messages (tests).
func Messages(lang string) map[string]string { return messages[lang] }

// Languages lists the catalog's languages (tests).
func Languages() []string {
	var out []string
	for k := range messages {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
