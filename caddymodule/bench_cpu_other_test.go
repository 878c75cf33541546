//go:build !linux

package caddymodule

import "time"

// threadCPU is not measured here: benchmarks report ns/op only.
func threadCPU() (time.Duration, bool) { return 0, false }
