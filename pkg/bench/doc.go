// Package bench holds the platform's benchmarks (run them with `make bench`). They measure
// against the real servers and the real database, and report figures as ratios measured in
// the same run, because the machines they run on are shared and noisy.
package bench
