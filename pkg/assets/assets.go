// Package assets serves a directory of embedded static files at content-hashed URLs
// (/assets/app.3f9a1c2b7d01.js), pre-compressed, cacheable for a year: a changed file gets a new
// URL, so pages never see stale CSS or scripts and a strict CSP can name them exactly.
package assets

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// File is one static file.
type File struct {
	Name        string // app.js
	URL         string // /assets/app.3f9a1c2b7d01.js
	ContentType string
	ETag        string
	Body        []byte
	Gzipped     []byte // nil when compression does not pay
}

// Set is a directory of static files.
type Set struct {
	byName map[string]*File // app.js → file
	byFile map[string]*File // app.3f9a1c2b7d01.js → file
}

// Load reads every file of dir in files, hashes and pre-compresses it, to be served under
// prefix (e.g. "/assets/"). It fails when one of the required files is missing.
func Load(files fs.FS, dir, prefix string, required ...string) (*Set, error) {
	s := &Set{byName: map[string]*File{}, byFile: map[string]*File{}}
	entries, err := fs.ReadDir(files, dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		body, err := fs.ReadFile(files, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ext := path.Ext(e.Name())
		body = Served(e.Name(), body)
		sum := sha256.Sum256(body)
		h := hex.EncodeToString(sum[:])[:12]
		hashed := strings.TrimSuffix(e.Name(), ext) + "." + h + ext
		ct := mime.TypeByExtension(ext)
		if ct == "" {
			ct = "application/octet-stream"
		}
		if (strings.HasPrefix(ct, "text/") || strings.Contains(ct, "javascript")) && !strings.Contains(ct, "charset") {
			ct += "; charset=utf-8"
		}
		f := &File{Name: e.Name(), URL: prefix + hashed, ContentType: ct, ETag: `"` + h + `"`, Body: body}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		if buf.Len() < len(body)*9/10 {
			f.Gzipped = buf.Bytes()
		}
		s.byName[e.Name()] = f
		s.byFile[hashed] = f
	}
	for _, need := range required {
		if s.byName[need] == nil {
			return nil, fmt.Errorf("%s/%s is missing", dir, need)
		}
	}
	return s, nil
}

// Served is what the set serves of a source file: scripts slimmed (slimJS), the rest as it is.
func Served(name string, src []byte) []byte {
	if path.Ext(name) == ".js" {
		return slimJS(src)
	}
	return src
}

// slimJS drops what only the reader of the source needs: lines that hold nothing but a //
// comment, and each line's indentation. Our scripts use no template literals and no strings
// continued over lines (TestOurScriptsCanBeSlimmed checks), so no string's text can change.
func slimJS(src []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(src))
	for _, line := range strings.SplitAfter(string(src), "\n") {
		t := strings.TrimLeft(line, " \t")
		if strings.HasPrefix(t, "//") {
			continue
		}
		out.WriteString(t)
	}
	return out.Bytes()
}

// URL is the hashed URL of a file ("" when there is no such file).
func (s *Set) URL(name string) string {
	if f := s.byName[name]; f != nil {
		return f.URL
	}
	return ""
}

// Has reports whether a hashed name is one of the set's files.
func (s *Set) Has(hashed string) bool { return s.byFile[hashed] != nil }

// AcceptsGzip reports whether an Accept-Encoding header allows gzip (and not with q=0).
func AcceptsGzip(h string) bool {
	for _, part := range strings.Split(h, ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(params), "=")
		if ok && strings.TrimSpace(k) == "q" {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q > 0
		}
		return true
	}
	return false
}

// File returns a file by its plain name.
func (s *Set) File(name string) (*File, bool) {
	f, ok := s.byName[name]
	return f, ok
}

// Serve writes the file with the hashed name (404 for any other), cacheable for a year,
// gzipped when the client accepts it, 304 for a matching If-None-Match.
func (s *Set) Serve(w http.ResponseWriter, r *http.Request, hashed string) {
	f := s.byFile[hashed]
	if f == nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", f.ETag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vary", "Accept-Encoding")
	h.Set("Content-Type", f.ContentType)
	if r.Header.Get("If-None-Match") == f.ETag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.Body
	if f.Gzipped != nil && AcceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		body = f.Gzipped
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
