package httpapi

import (
	"math"
	"time"
)

// RetryAfterSeconds rounds a wait up to whole seconds (at least 1) for the Retry-After header.
func RetryAfterSeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}
