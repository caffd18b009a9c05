// SPDX-License-Identifier: MIT

package main

// -json FILE: every measurement, in the shape bench/report.py reads.

import (
	"encoding/json"
	"os"
	"runtime"
)

type implJSON struct {
	Name    string    `json:"name"`
	Samples []float64 `json:"samples"`
	Capped  bool      `json:"capped"`
}

type benchJSON struct {
	ID    string     `json:"id"`
	Param int        `json:"param"`
	Title string     `json:"title"`
	Unit  string     `json:"unit"`
	Impls []implJSON `json:"impls"`
}

// scenarioJSON is one scenario's measurements (ns/op per rep), contenders
// in their order, qsem first.
func scenarioJSON(name string, ns map[string][]float64) benchJSON {
	unit := "ns per pair"
	if name == "handoff" {
		unit = "ns per round trip"
	}
	b := benchJSON{ID: name, Title: name, Unit: unit}
	for _, c := range contenders {
		b.Impls = append(b.Impls, implJSON{Name: c.name, Samples: ns[c.name]})
	}
	return b
}

func writeJSON(path string, reps int, quick bool, benches []benchJSON) error {
	data, err := json.Marshal(map[string]any{
		"tool": "go_bench", "go": runtime.Version(), "repeats": reps, "quick": quick,
		"benchmarks": benches,
	})
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
