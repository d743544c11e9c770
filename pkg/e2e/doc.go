// Package e2e holds end-to-end tests: the three services started as the binaries start them,
// over a real database, driven through their public HTTP interfaces and a headless browser.
package e2e
