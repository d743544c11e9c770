// Package frontend holds the HTML templates, CSS, small vanilla JavaScript and locale files of
// the hosted checkout pages and the Admin Panel, embedded into the binaries.
package frontend
