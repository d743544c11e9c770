// Package config reads each service's configuration from the environment into one typed struct,
// validates it at start-up and reports every bad variable by name.
//
// Secrets (MASTER_KEY, JWT_SIGNING_KEY, DATABASE_URL ...) may instead be given as a file path in
// NAME_FILE (Docker and Kubernetes secrets). Secrets never appear in logs: use LogAttrs.
// Development defaults (localhost domains, a generated master key in ./var) apply only when
// APP_ENV=development, which `make run` sets; production refuses to start without them.
package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

var errInvalid = errors.New("fix the variables above and start again")

// Env reads variables and collects validation errors.
type Env struct {
	lookup   func(string) (string, bool)
	readFile func(string) ([]byte, error)
	errs     []error
}

// FromOS reads the process environment.
func FromOS() *Env { return NewEnv(os.LookupEnv) }

// NewEnv reads variables through lookup (tests pass a map).
func NewEnv(lookup func(string) (string, bool)) *Env {
	return &Env{lookup: lookup, readFile: os.ReadFile}
}

// MapLookup adapts a map for NewEnv.
func MapLookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// Fail records a problem with a variable.
func (e *Env) Fail(name, format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

// Err returns every recorded problem (an *Error), or nil.
func (e *Env) Err() error {
	if len(e.errs) == 0 {
		return nil
	}
	problems := make([]string, len(e.errs))
	for i, err := range e.errs {
		problems[i] = err.Error()
	}
	return &Error{Problems: problems}
}

// Error is an invalid configuration: every bad variable, each named ("NAME: what is wrong").
// Its message lists them one per line; start-up errors report the list as it is.
type Error struct {
	Problems []string
}

func (e *Error) Error() string {
	return "invalid configuration:\n  " + strings.Join(e.Problems, "\n  ") + "\n" + errInvalid.Error()
}

func (e *Error) Unwrap() error { return errInvalid }

func (e *Env) get(name string) (string, bool) {
	v, ok := e.lookup(name)
	if !ok {
		return "", false
	}
	return strings.TrimSpace(v), true
}

// String returns the variable or def when unset or empty.
func (e *Env) String(name, def string) string {
	if v, ok := e.get(name); ok && v != "" {
		return v
	}
	return def
}

// Secret returns NAME, or the contents of the file named by NAME_FILE. Setting both is an error.
func (e *Env) Secret(name string) string {
	v, hasV := e.get(name)
	path, hasF := e.get(name + "_FILE")
	if hasV && v != "" && hasF && path != "" {
		e.Fail(name, "set either %s or %s_FILE, not both", name, name)
		return ""
	}
	if hasF && path != "" {
		b, err := e.readFile(path)
		if err != nil {
			e.Fail(name+"_FILE", "cannot read %s: %v", path, err)
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	return v
}

// Bool parses true/false/1/0/yes/no.
func (e *Env) Bool(name string, def bool) bool {
	v, ok := e.get(name)
	if !ok || v == "" {
		return def
	}
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		return true
	case "0", "false", "no", "off":
		return false
	}
	e.Fail(name, "must be true or false, got %q", v)
	return def
}

// Int parses an integer within [min, max].
func (e *Env) Int(name string, def, min, max int) int {
	v, ok := e.get(name)
	if !ok || v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		e.Fail(name, "must be a whole number from %d to %d, got %q", min, max, v)
		return def
	}
	return n
}

// Duration parses a Go duration ("30s", "5m") within [min, max].
func (e *Env) Duration(name string, def, min, max time.Duration) time.Duration {
	v, ok := e.get(name)
	if !ok || v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < min || d > max {
		e.Fail(name, "must be a duration from %s to %s (like 30s or 5m), got %q", min, max, v)
		return def
	}
	return d
}

// List splits a comma-separated variable.
func (e *Env) List(name string, def []string) []string {
	v, ok := e.get(name)
	if !ok || v == "" {
		return def
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
