//go:build !linux

package stripemock

import "os/exec"

// dieWithParent does nothing here: stripe-mock outlives the test binary.
func dieWithParent(*exec.Cmd) {}
