package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"
)

// helpRuns is how many times figure 7 starts the binary.
const helpRuns = 30

// 7. Startup: `chorus-elt --help`, a process per run — what every command
// pays before doing anything (loading the binary, DuckDB's and Go's
// package initialisation), and which packages' initialisation costs most.
func (b *bench) startup(ctx context.Context) error {
	sec := fmt.Sprintf("7. startup: `chorus-elt --help`, %d processes", helpRuns)
	b.progress("figure 7: chorus-elt --help × %d", helpRuns)
	var runs, cpus []time.Duration
	for i := 0; i <= helpRuns; i++ { // the first one warms the page cache up
		cmd := exec.CommandContext(ctx, b.bin, "--help")
		t0 := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("chorus-elt --help: %w\n%s", err, out)
		}
		if i > 0 {
			runs = append(runs, time.Since(t0))
			cpus = append(cpus, processCPU(cmd))
		}
	}
	p50, p95 := percentile(runs, 50), percentile(runs, 95)
	b.add(sec, "`chorus-elt --help` p50 / p95", fmt.Sprintf("%s / %s", ms(p50), ms(p95)), float64(p50)/1e6, "p50 ≤ 40 ms", passMiss(p50 <= 40*time.Millisecond))
	b.add(sec, "  its CPU (user+sys) p50 / p95", fmt.Sprintf("%s / %s", ms(percentile(cpus, 50)), ms(percentile(cpus, 95))), float64(percentile(cpus, 50))/1e6, "", "")
	// Package initialisation, as the Go runtime reports it.
	cmd := exec.CommandContext(ctx, b.bin, "--help")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("chorus-elt --help (inittrace): %w", err)
	}
	total, top := inittrace(stderr.Bytes())
	parts := make([]string, 0, 3)
	for _, p := range top[:min(3, len(top))] {
		parts = append(parts, fmt.Sprintf("%s %.1f", shortPkg(p.pkg), p.ms))
	}
	b.add(sec, "  of which package init (one run; largest)", fmt.Sprintf("%.1f ms (%s)", total, strings.Join(parts, ", ")), total, "", "")
	return nil
}

type initCost struct {
	pkg string
	ms  float64
}

// inittrace sums the clock time of GODEBUG=inittrace=1 lines ("init PKG @T
// ms, C ms clock, …") and lists the packages, costliest first.
func inittrace(trace []byte) (float64, []initCost) {
	var total float64
	var out []initCost
	sc := bufio.NewScanner(bytes.NewReader(trace))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 7 || f[0] != "init" || f[6] != "clock," {
			continue
		}
		v, err := strconv.ParseFloat(f[4], 64)
		if err != nil {
			continue
		}
		total += v
		out = append(out, initCost{pkg: f[1], ms: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ms > out[j].ms })
	return total, out
}

// shortPkg is an import path's last element.
func shortPkg(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

// processCPU is a finished command's user + system CPU time: what the
// process itself cost, whatever else kept the machine busy.
func processCPU(cmd *exec.Cmd) time.Duration {
	if cmd.ProcessState == nil {
		return 0
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}
