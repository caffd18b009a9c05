// SPDX-License-Identifier: MIT

// Command qsembench compares qsem's Go package with x/sync's Weighted and
// a buffered channel, in one run: each scenario is measured -reps times on
// every contender, in rotating order so that a noisy neighbour hurts all
// alike, and reported as the median ns/op with its range and as the
// median ratio to x/sync with its range.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
)

func main() {
	testing.Init()
	quick := flag.Bool("quick", false, "a short run that only checks every benchmark works")
	reps := flag.Int("reps", 5, "measurements per scenario and contender")
	benchtime := flag.String("benchtime", "300ms", "run time of one measurement")
	jsonPath := flag.String("json", "", "also write every measurement to this file (bench/report.py)")
	flag.Parse()
	if *quick {
		*reps, *benchtime = 2, "5ms"
	}
	if err := flag.Set("test.benchtime", *benchtime); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("go %s, GOMAXPROCS %d, %d reps of %s, load average %s\n",
		runtime.Version(), runtime.GOMAXPROCS(0), *reps, *benchtime,
		strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))
	fmt.Printf("%-20s %-10s %10s %21s %8s %17s\n",
		"scenario", "contender", "ns/op", "(min-max)", "/xsync", "(min-max)")
	var results []benchJSON
	for _, s := range scenarios {
		ns := make(map[string][]float64)
		for r := 0; r < *reps; r++ {
			for k := range contenders {
				c := contenders[(r+k)%len(contenders)]
				res := testing.Benchmark(func(b *testing.B) { s.run(b, c) })
				if res.N == 0 {
					fmt.Fprintf(os.Stderr, "qsembench: %s on %s failed\n", s.name, c.name)
					os.Exit(1)
				}
				ns[c.name] = append(ns[c.name], float64(res.T.Nanoseconds())/float64(res.N))
			}
		}
		for _, c := range contenders {
			v := ns[c.name]
			ratios := make([]float64, len(v))
			for i := range v {
				ratios[i] = v[i] / ns["xsync"][i]
			}
			lo, med, hi := spread(v)
			rlo, rmed, rhi := spread(ratios)
			fmt.Printf("%-20s %-10s %10.1f %10.1f-%-10.1f %8.2f %8.2f-%-8.2f\n",
				s.name, c.name, med, lo, hi, rmed, rlo, rhi)
		}
		results = append(results, scenarioJSON(s.name, ns))
	}
	if *jsonPath != "" {
		if err := writeJSON(*jsonPath, *reps, *quick, results); err != nil {
			fmt.Fprintln(os.Stderr, "qsembench:", err)
			os.Exit(1)
		}
	}
}

// spread returns the minimum, median and maximum of v.
func spread(v []float64) (lo, med, hi float64) {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	med = s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return s[0], med, s[n-1]
}
