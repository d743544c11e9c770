package app

import "io"

// PretendTerminal makes a's DemoOut count as a terminal.
func PretendTerminal(a *AdminBackend) { a.isTerminal = func(io.Writer) bool { return true } }

// IsTerminal is isTerminal.
var IsTerminal = isTerminal
