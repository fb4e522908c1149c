// Command chorus-bench measures chorus-elt against a simulated Chorus tenant
// and prints figures a reader can compare from one run to the next:
//
//  1. at the API's limit: wall time ÷ (requests ÷ limit), and the 429s;
//  2. unthrottled: calls per second with 150 ms of latency;
//  3. local throughput per stage (extract, load, transform), against DuckDB's
//     own read_json ingest of the same API responses measured in the same run;
//  4. peak RSS of `chorus-elt run` at two sizes;
//  5. transcript retrieval latency;
//  6. the adaptive rate budget: a tenant allowing 4 requests/s, a config
//     asking for 12; time ÷ (requests ÷ 4), the 429s per request and the
//     effective rate;
//  7. startup: `chorus-elt --help`, a process per run, and what package
//     initialisation costs.
//
// The tenant is served by this process; every `chorus-elt run` measured is a
// child process (the binary given with -bin), so its wall time, CPU and
// peak RSS are its own. BENCH_SCALE=small (or -scale small) runs small sizes
// for a quick check; the default is the sizes of the issue.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sizes are one scale's workloads.
type sizes struct {
	name             string
	limitCalls       int // figure 1
	unthrottledCalls int // figure 2
	localCalls       int // figures 3 and 4
	memoryCalls      int // figure 4: the smaller size
	utterances       int // per call, figures 3 and 4
	transcripts      int // figure 5: queries
	adaptiveCalls    int // figure 6
}

var scales = map[string]sizes{
	"full":  {name: "full", limitCalls: 500, unthrottledCalls: 500, localCalls: 20000, memoryCalls: 5000, utterances: 200, transcripts: 60, adaptiveCalls: 300},
	"small": {name: "small", limitCalls: 60, unthrottledCalls: 200, localCalls: 1000, memoryCalls: 250, utterances: 200, transcripts: 20, adaptiveCalls: 150},
}

// setCalls sets figures 3–5's sizes from "SMALL,LARGE" or "N" (N alone:
// no smaller run, so no growth figure).
func (sz *sizes) setCalls(v string) error {
	parts := strings.Split(v, ",")
	if len(parts) > 2 {
		return fmt.Errorf("%q: want SMALL,LARGE or N", v)
	}
	n := make([]int, len(parts))
	for i, p := range parts {
		x, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || x <= 0 {
			return fmt.Errorf("%q: %q is not a positive number of calls", v, p)
		}
		n[i] = x
	}
	sz.memoryCalls, sz.localCalls = 0, n[len(n)-1]
	if len(n) == 2 {
		sz.memoryCalls = n[0]
	}
	return nil
}

type bench struct {
	bin     string
	work    string
	sz      sizes
	now     time.Time
	seed    int64
	keep    bool
	out     io.Writer
	figures []figure
	notes   []string
}

// figure is one line of the report.
type figure struct {
	Section string  `json:"section"`
	Name    string  `json:"name"`
	Value   string  `json:"value"`
	Number  float64 `json:"number"`
	Target  string  `json:"target,omitempty"`
	Result  string  `json:"result,omitempty"` // pass, miss or "" (informative)
}

func main() {
	scaleDefault := os.Getenv("BENCH_SCALE")
	if scaleDefault == "" {
		scaleDefault = "full"
	}
	var (
		bin      = flag.String("bin", "bin/chorus-elt", "the chorus-elt `binary` to measure")
		scale    = flag.String("scale", scaleDefault, "full (the issue's sizes) or small (a quick check); default $BENCH_SCALE or full")
		work     = flag.String("work", "", "working `DIR` (default: a temporary directory, removed afterwards)")
		keep     = flag.Bool("keep", false, "keep the working directory")
		only     = flag.String("only", "1,2,3,4,5,6,7,8", "figures to measure, comma-separated (3 and 4 share one run; 5 and 8 need 3's warehouse or -db)")
		seed     = flag.Int64("seed", 1, "seed of the simulated tenants")
		jsonPath = flag.String("json", "", "also write the figures as JSON to `FILE`")
		db       = flag.String("db", "", "figures 5 and 8's DuckDB `FILE` (default: the one figure 3 builds)")
		calls    = flag.String("calls", "", "figures 3–5's sizes as `SMALL,LARGE` calls (default: the scale's); one number runs that size alone")
	)
	flag.Parse()
	sz, ok := scales[*scale]
	if !ok {
		fmt.Fprintf(os.Stderr, "chorus-bench: -scale %q: use full or small\n", *scale)
		os.Exit(2)
	}
	if *calls != "" {
		if err := sz.setCalls(*calls); err != nil {
			fmt.Fprintln(os.Stderr, "chorus-bench: -calls:", err)
			os.Exit(2)
		}
	}
	exe, err := filepath.Abs(*bin)
	if err == nil {
		_, err = os.Stat(exe)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "chorus-bench: -bin %s: %v (run make build first)\n", *bin, err)
		os.Exit(2)
	}
	dir := *work
	if dir == "" {
		if dir, err = os.MkdirTemp("", "chorus-bench-"); err != nil {
			fmt.Fprintln(os.Stderr, "chorus-bench:", err)
			os.Exit(1)
		}
		if !*keep {
			defer os.RemoveAll(dir)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "chorus-bench:", err)
		os.Exit(1)
	}
	localDB = *db
	b := &bench{bin: exe, work: dir, sz: sz, now: time.Now().UTC().Truncate(time.Second), seed: *seed, keep: *keep, out: os.Stdout}
	want := map[string]bool{}
	for _, f := range strings.Split(*only, ",") {
		want[strings.TrimSpace(f)] = true
	}
	start := time.Now()
	fmt.Fprintf(b.out, "chorus-bench: scale %s, %d CPUs, %s/%s, %s; working in %s\n", sz.name, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), dir)
	ctx := context.Background()
	steps := []struct {
		key string
		f   func(context.Context) error
	}{
		{"1", b.atLimit}, {"2", b.unthrottled}, {"3", b.local}, {"5", b.transcripts}, {"6", b.adaptive}, {"7", b.startup}, {"8", b.serveLatency},
	}
	failed := false
	for _, s := range steps {
		if !want[s.key] && !(s.key == "3" && want["4"]) {
			continue
		}
		before := loadAvg()
		err := s.f(ctx)
		if after := loadAvg(); max(before, after) > float64(runtime.NumCPU())+0.5 {
			b.note("figure %s: load average %.1f before, %.1f after, on %d CPUs: other processes were busy; its timings may be inflated", s.key, before, after, runtime.NumCPU())
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "chorus-bench: figure %s: %v\n", s.key, err)
			b.notes = append(b.notes, fmt.Sprintf("figure %s failed: %v", s.key, err))
			failed = true
		}
	}
	b.report(time.Since(start))
	if *jsonPath != "" {
		doc, _ := json.MarshalIndent(map[string]any{"scale": sz.name, "cpus": runtime.NumCPU(), "go": runtime.Version(),
			"at": b.now, "figures": b.figures, "notes": b.notes}, "", "  ")
		if err := os.WriteFile(*jsonPath, doc, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "chorus-bench:", err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

func (b *bench) add(section, name, value string, number float64, target, result string) {
	b.figures = append(b.figures, figure{Section: section, Name: name, Value: value, Number: number, Target: target, Result: result})
}

func (b *bench) note(format string, a ...any) { b.notes = append(b.notes, fmt.Sprintf(format, a...)) }

func (b *bench) progress(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "  … "+format+"\n", a...)
}

func passMiss(ok bool) string {
	if ok {
		return "pass"
	}
	return "MISS"
}

// report prints the figures as a table grouped by section.
func (b *bench) report(total time.Duration) {
	w := b.out
	fmt.Fprintf(w, "\n%-54s %-34s %-16s %s\n", "figure", "value", "target", "result")
	fmt.Fprintln(w, strings.Repeat("─", 112))
	section := ""
	for _, f := range b.figures {
		if f.Section != section {
			section = f.Section
			fmt.Fprintln(w, section)
		}
		fmt.Fprintf(w, "  %-52s %-34s %-16s %s\n", f.Name, f.Value, f.Target, f.Result)
	}
	fmt.Fprintln(w, strings.Repeat("─", 112))
	for _, n := range b.notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintf(w, "chorus-bench: %.0fs in all\n", total.Seconds())
}

// childRun is one measured chorus-elt process.
type childRun struct {
	Wall    time.Duration
	RSSKB   int64
	UserCPU time.Duration
	SysCPU  time.Duration
	Summary map[string]any
	Stderr  string
	Samples []rssSample // VmRSS every 50 ms
}

type rssSample struct {
	At    time.Time
	RSSKB int64
	// FileKB is the file-backed part of RSSKB (RssFile): pages of the
	// program and its libraries, mapped from the page cache.
	FileKB int64
	CPU    time.Duration // user + system CPU so far (clock-tick resolution)
}

// sampleRSS reads the process's VmRSS and CPU time every 50 ms until stop.
func sampleRSS(pid int, stop chan struct{}) []rssSample {
	var out []rssSample
	path := fmt.Sprintf("/proc/%d/status", pid)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if b, err := os.ReadFile(path); err == nil {
			s := rssSample{At: time.Now()}
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
					_, _ = fmt.Sscanf(strings.TrimSpace(v), "%d", &s.RSSKB)
				} else if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
					_, _ = fmt.Sscanf(strings.TrimSpace(v), "%d", &s.FileKB)
				}
			}
			if s.RSSKB > 0 {
				s.CPU = procCPU(pid)
				out = append(out, s)
			}
		}
		select {
		case <-stop:
			return out
		case <-t.C:
		}
	}
}

// procCPU is a process's user + system CPU time from /proc/<pid>/stat (0
// when unknown), in clock ticks of 10 ms.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count from its ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	var ut, st int64
	_, _ = fmt.Sscan(f[11], &ut)
	_, _ = fmt.Sscan(f[12], &st)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// cpuAt is the CPU time of the last sample before t.
func cpuAt(samples []rssSample, t time.Time) time.Duration {
	var cpu time.Duration
	for _, s := range samples {
		if s.At.After(t) {
			break
		}
		cpu = s.CPU
	}
	return cpu
}

// selfCPU is this process's user + system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakSample is the sample of the largest RSS.
func peakSample(samples []rssSample) rssSample {
	var p rssSample
	for _, s := range samples {
		if s.RSSKB > p.RSSKB {
			p = s
		}
	}
	return p
}

// peakRSS is the largest sample in [from, to) (zero times: unbounded), in MB.
func peakRSS(samples []rssSample, from, to time.Time) float64 {
	var peak int64
	for _, s := range samples {
		if (!from.IsZero() && s.At.Before(from)) || (!to.IsZero() && !s.At.Before(to)) {
			continue
		}
		peak = max(peak, s.RSSKB)
	}
	return float64(peak) / 1024
}

// runChild runs chorus-elt with args and reads its one-line JSON summary.
func (b *bench) runChild(ctx context.Context, args ...string) (*childRun, error) {
	cmd := exec.CommandContext(ctx, b.bin, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &tailWriter{b: &stderr, max: 16 << 10}
	cmd.Env = os.Environ()
	start := time.Now()
	err := cmd.Start()
	var samples []rssSample
	if err == nil {
		stop := make(chan struct{})
		sampled := make(chan []rssSample)
		go func() { sampled <- sampleRSS(cmd.Process.Pid, stop) }()
		err = cmd.Wait()
		close(stop)
		samples = <-sampled
	}
	r := &childRun{Wall: time.Since(start), Stderr: stderr.String(), Samples: samples}
	if cmd.ProcessState != nil {
		r.RSSKB = maxRSSKB(cmd.ProcessState)
		r.UserCPU, r.SysCPU = cmd.ProcessState.UserTime(), cmd.ProcessState.SystemTime()
	}
	if err != nil {
		return r, fmt.Errorf("%s %s: %w\n%s", filepath.Base(b.bin), strings.Join(args, " "), err, r.Stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if last := lines[len(lines)-1]; strings.HasPrefix(last, "{") {
		if err := json.Unmarshal([]byte(last), &r.Summary); err != nil {
			return r, fmt.Errorf("summary: %w", err)
		}
	}
	return r, nil
}

// tailWriter keeps the last max bytes written.
type tailWriter struct {
	b   *strings.Builder
	max int
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.b.Write(p)
	if t.b.Len() > 2*t.max {
		s := t.b.String()
		t.b.Reset()
		t.b.WriteString(s[len(s)-t.max:])
	}
	return len(p), nil
}

// writeConfig writes a connector config for a tenant at url.
func (b *bench) writeConfig(name, url string, extra map[string]any) (string, error) {
	doc := map[string]any{"base_url": url, "api_token": benchToken, "start_date": b.now.AddDate(0, 0, -31).Format(time.RFC3339)}
	for k, v := range extra {
		doc[k] = v
	}
	raw, _ := json.Marshal(doc)
	path := filepath.Join(b.work, name+".config.json")
	return path, os.WriteFile(path, raw, 0o600)
}

// num reads a number at a path of nested JSON objects.
func num(m map[string]any, path ...string) float64 {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return 0
		}
		cur = mm[p]
	}
	f, _ := cur.(float64)
	return f
}

// loadAvg is the 1-minute load average (0 when unknown).
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var l float64
	_, _ = fmt.Sscanf(string(b), "%f", &l)
	return l
}
