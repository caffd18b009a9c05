// SPDX-License-Identifier: MIT

package main

import "testing"

// go test -bench . runs every scenario on every contender;
// `go run .` (main.go) runs them in rotation and prints ratios.
func BenchmarkQsem(b *testing.B) {
	for _, s := range scenarios {
		for _, c := range contenders {
			b.Run(s.name+"/"+c.name, func(b *testing.B) { s.run(b, c) })
		}
	}
}
