package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // the baseline's DuckDB

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/transforms"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

// runArgs is `chorus-elt run` into a fresh DuckDB file under the work dir
// (what an earlier bench left there is removed).
func (b *bench) runArgs(name, config string) []string {
	os.RemoveAll(filepath.Join(b.work, name))
	return []string{"--log-format", "json", "--log-level", "warn", "run", "--config", config,
		"--warehouse", "duckdb:" + filepath.Join(b.work, name, "chorus.duckdb")}
}

// 1. At the API's limit: the server allows 10 requests/s and the connector
// is configured for 10; the run should take requests ÷ 10 seconds and never
// be throttled.
func (b *bench) atLimit(ctx context.Context) error {
	const limit = 10.0
	n := b.sz.limitCalls
	sec := fmt.Sprintf("1. at the API's limit: %d calls, 150 ms latency, server limit 10 req/s, requests_per_second 10", n)
	b.progress("figure 1: %d calls at 10 requests/s (about %.0fs)", n, float64(n)*1.07/limit)
	s, err := serve(chorustest.Options{Seed: b.seed, Calls: n, Now: b.now, ProcessingDelay: -1,
		Latency: 150 * time.Millisecond, RateLimit: limit}, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	cfg, err := b.writeConfig("limit", s.URL, map[string]any{"requests_per_second": limit})
	if err != nil {
		return err
	}
	r, err := b.runChild(ctx, b.runArgs("limit", cfg)...)
	if err != nil {
		return err
	}
	st := s.Tenant.Stats()
	ideal := float64(st.Requests) / limit
	ratio := s.Span().Seconds() / ideal
	b.add(sec, "extract span ÷ (requests ÷ 10)", fmt.Sprintf("%.3f (%.1fs for %d requests)", ratio, s.Span().Seconds(), st.Requests),
		ratio, "≤ 1.10", passMiss(ratio <= 1.10))
	b.add(sec, "whole run (process start to exit) ÷ (requests ÷ 10)", fmt.Sprintf("%.3f (%.1fs)", r.Wall.Seconds()/ideal, r.Wall.Seconds()),
		r.Wall.Seconds()/ideal, "", "")
	b.add(sec, "429 answers (tenant stats)", fmt.Sprintf("%d (%d from its rate limit)", st.Status[429], st.RateLimited),
		float64(st.Status[429]), "0", passMiss(st.Status[429] == 0))
	b.add(sec, "requests: list / detail / directory", fmt.Sprintf("%d / %d / %d", st.ListRequests, st.DetailRequests, st.UserRequests+st.TeamRequests),
		float64(st.Requests), "", "")
	return nil
}

// 6. The adaptive rate budget: the tenant allows 4 requests/s and does not
// say so; the connector is configured for 12 (4 workers). It should learn
// the limit from the 429s: the extract within 1.3 × (requests ÷ 4), at most
// one 429 per ten requests.
func (b *bench) adaptive(ctx context.Context) error {
	const limit, asked = 4.0, 12.0
	n := b.sz.adaptiveCalls
	sec := fmt.Sprintf("6. adaptive budget: %d calls, 150 ms latency, server limit 4 req/s, requests_per_second 12", n)
	b.progress("figure 6: %d calls, the tenant allowing 4 requests/s to a config of 12 (about %.0fs)", n, float64(n)*1.07/limit)
	s, err := serve(chorustest.Options{Seed: b.seed, Calls: n, Now: b.now, ProcessingDelay: -1,
		Latency: 150 * time.Millisecond, RateLimit: limit}, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	cfg, err := b.writeConfig("adaptive", s.URL, map[string]any{"requests_per_second": asked, "max_concurrency": 4})
	if err != nil {
		return err
	}
	r, err := b.runChild(ctx, b.runArgs("adaptive", cfg)...)
	if err != nil {
		return err
	}
	st := s.Tenant.Stats()
	// The ideal is the accepted requests at the tenant's rate: a 429 takes
	// no token from its bucket, so counting the 429s would flatter the ratio.
	accepted := st.Requests - st.Status[429]
	span := s.Span().Seconds()
	ratio := span / (float64(accepted) / limit)
	b.add(sec, "extract span ÷ (accepted requests ÷ 4)", fmt.Sprintf("%.3f (%.1fs, %d requests)", ratio, span, accepted),
		ratio, "≤ 1.30", passMiss(ratio <= 1.30))
	share := float64(st.Status[429]) / float64(max(1, st.Requests))
	b.add(sec, "429s per request (tenant stats)", fmt.Sprintf("%.3f (%d of %d)", share, st.Status[429], st.Requests),
		share, "≤ 0.10", passMiss(share <= 0.10))
	// The summary's rate is per second of the client's API activity; the
	// tenant-side one is the accepted requests over the extract span.
	rate := num(r.Summary, "effective_rate")
	b.add(sec, "effective rate: run summary / tenant-side", fmt.Sprintf("%.2f / %.2f req/s", rate, float64(accepted)/span), rate, "", "")
	if th := num(r.Summary, "throttled"); int(th) != st.Status[429] {
		b.note("figure 6: the run summary says %.0f 429s, the tenant sent %d", th, st.Status[429])
	}
	b.add(sec, "requests: list / detail / directory", fmt.Sprintf("%d / %d / %d", st.ListRequests, st.DetailRequests, st.UserRequests+st.TeamRequests),
		float64(st.Requests), "", "")
	return nil
}

// 2. Unthrottled: 150 ms of latency, no limit, 16 requests in flight.
func (b *bench) unthrottled(ctx context.Context) error {
	n := b.sz.unthrottledCalls
	sec := fmt.Sprintf("2. unthrottled: %d calls, 150 ms latency, no limit, max_concurrency 16", n)
	b.progress("figure 2: %d calls, unthrottled", n)
	s, err := serve(chorustest.Options{Seed: b.seed, Calls: n, Now: b.now, ProcessingDelay: -1, Latency: 150 * time.Millisecond}, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	cfg, err := b.writeConfig("unthrottled", s.URL, map[string]any{"requests_per_second": 1e6, "max_concurrency": 16})
	if err != nil {
		return err
	}
	r, err := b.runChild(ctx, b.runArgs("unthrottled", cfg)...)
	if err != nil {
		return err
	}
	st := s.Tenant.Stats()
	span := s.Span().Seconds()
	target := 10.0 * float64(n) / 500
	b.add(sec, "calls/s over the extract span", fmt.Sprintf("%.1f calls/s (%d calls in %.2fs)", float64(n)/span, n, span),
		float64(n)/span, fmt.Sprintf("%d in ≤ %.0fs", n, target), passMiss(span <= target))
	b.add(sec, "whole run (process start to exit)", fmt.Sprintf("%.2fs, %.1f calls/s", r.Wall.Seconds(), float64(n)/r.Wall.Seconds()),
		r.Wall.Seconds(), "", "")
	b.add(sec, "requests: list / detail (in flight ≤ 16)", fmt.Sprintf("%d / %d", st.ListRequests, st.DetailRequests), float64(st.Requests), "", "")
	return nil
}

// localDB is figure 3's warehouse (or -db), for figure 5.
var localDB string

// 3 and 4. Local throughput per stage, against DuckDB's read_json of the same
// responses, and the peak RSS at two sizes.
func (b *bench) local(ctx context.Context) error {
	n, small, upc := b.sz.localCalls, b.sz.memoryCalls, b.sz.utterances
	sec3 := fmt.Sprintf("3. local throughput: %d calls × ~%d utterances, zero latency (tenant in the bench process)", n, upc)
	sec4 := "4. memory: peak RSS of the chorus-elt run process"
	localCfg := map[string]any{"requests_per_second": 1e6, "max_concurrency": 8}

	// The smaller size first, for the memory comparison (none when -calls
	// gave one size).
	var r1 *childRun
	var s1 *served
	if small > 0 {
		b.progress("figure 4: %d calls × %d utterances", small, upc)
		var err error
		if s1, err = serve(chorustest.Options{Seed: b.seed, Calls: small, Now: b.now, ProcessingDelay: -1, UtterancesPerCall: upc}, nil); err != nil {
			return err
		}
		cfg, err := b.writeConfig("local-small", s1.URL, localCfg)
		if err != nil {
			return err
		}
		r1, err = b.runChild(ctx, b.runArgs("local-small", cfg)...)
		s1.Close()
		if err != nil {
			return err
		}
		os.RemoveAll(filepath.Join(b.work, "local-small"))
	}

	b.progress("figure 3: %d calls × %d utterances (the NDJSON of every response is kept for the baseline)", n, upc)
	ndjson := filepath.Join(b.work, "conversations.ndjson")
	f, err := os.Create(ndjson)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	s, err := serve(chorustest.Options{Seed: b.seed, Calls: n, Now: b.now, ProcessingDelay: -1, UtterancesPerCall: upc}, bw)
	if err != nil {
		return err
	}
	cfg, err := b.writeConfig("local", s.URL, localCfg)
	if err != nil {
		return err
	}
	r, err := b.runChild(ctx, b.runArgs("local", cfg)...)
	s.Close()
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	localDB = filepath.Join(b.work, "local", "chorus.duckdb")

	// Stages, from the run's summary: load and transform report their
	// seconds; the extract is the rest (process start and warehouse open
	// included).
	total := num(r.Summary, "seconds")
	loadS := num(r.Summary, "load", "seconds") + num(r.Summary, "resumed", "seconds")
	transS := num(r.Summary, "transform", "seconds")
	extractS := total - loadS - transS
	var rows, utts, loaded float64
	if streams, ok := r.Summary["streams"].(map[string]any); ok {
		for name, v := range streams {
			m, _ := v.(map[string]any)
			rows += num(m, "rows")
			if name == "utterances" {
				utts = num(m, "rows")
			}
		}
	}
	if ls, ok := r.Summary["load"].(map[string]any)["streams"].(map[string]any); ok {
		for _, v := range ls {
			m, _ := v.(map[string]any)
			loaded += num(m, "rows_read")
		}
	}
	b.add(sec3, "extract (API → typed Parquet)", fmt.Sprintf("%.0f rows/s (%.0f utt/s; %.1fs)", rows/extractS, utts/extractS, extractS), rows/extractS, "", "")
	b.add(sec3, "load (Parquet → DuckDB MERGE)", fmt.Sprintf("%.0f rows/s (%.1fs)", loaded/loadS, loadS), loaded/loadS, "", "")
	if transS > 0 {
		b.add(sec3, "transform (SQL models)", fmt.Sprintf("%.1fs (%.0f raw rows/s)", transS, loaded/transS), transS, "", "")
	} else {
		b.add(sec3, "transform (SQL models)", "not run: "+fmt.Sprint(r.Summary["transform"]), 0, "", "")
		b.note("`run` does not build the models yet (its summary says %q): figure 3 has no transform stage", fmt.Sprint(r.Summary["transform"]))
	}
	b.add(sec3, "rows written: all streams / utterances", fmt.Sprintf("%.0f / %.0f", rows, utts), rows, "", "")
	b.add(sec3, "whole run: wall / CPU (user+sys)", fmt.Sprintf("%.1fs / %.1fs", r.Wall.Seconds(), (r.UserCPU+r.SysCPU).Seconds()), r.Wall.Seconds(), "", "")
	// The extract's CPU: the run's CPU when the last teams listing was
	// answered (sampled every 50 ms); the tenant's, this process's over the
	// same span. Both share the machine's cores during the extract.
	extractCPU, tenantCPU := cpuAt(r.Samples, s.ExtractEnd()).Seconds(), s.TenantCPU().Seconds()
	b.add(sec3, "extract CPU: chorus-elt / tenant (bench process)", fmt.Sprintf("%.1fs / %.1fs (%.1f µs per utterance)", extractCPU, tenantCPU, 1e6*extractCPU/max(1, utts)),
		extractCPU, "", "")

	// The baseline: DuckDB's own JSON reader on the same responses.
	b.progress("figure 3 baseline: DuckDB read_json of %d responses (%.2f GB)", s.teeDocs, float64(s.teeBytes)/1e9)
	cpu0 := selfCPU()
	bd, bRows, version, err := baseline(ctx, ndjson, filepath.Join(b.work, "baseline.duckdb"))
	baseCPU := (selfCPU() - cpu0).Seconds()
	bs := bd.Seconds()
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	if !b.keep {
		os.Remove(ndjson)
		os.Remove(filepath.Join(b.work, "baseline.duckdb"))
	}
	b.add(sec3, "baseline: DuckDB read_json → utterances table", fmt.Sprintf("%.0f utt/s (%.1fs, %d rows, %.2f GB NDJSON)", float64(bRows)/bs, bs, bRows, float64(s.teeBytes)/1e9),
		bs, "", "")
	ratio := (extractS + loadS) / bs
	b.add(sec3, "extract+load ÷ baseline (time)", fmt.Sprintf("%.2f×", ratio), ratio, "≤ 2×", passMiss(ratio <= 2))
	// The same in CPU (user+sys): the run's until its load ended (sampled;
	// the load starts when the extract ends), the bench process's during
	// the baseline. A busy machine stretches both runs' wall time, and not
	// equally when the load moves between them; their CPU much less.
	runCPU := cpuAt(r.Samples, s.ExtractEnd().Add(time.Duration(loadS*float64(time.Second)))).Seconds()
	b.add(sec3, "  the same in CPU: extract+load ÷ baseline", fmt.Sprintf("%.2f× (%.1fs / %.1fs)", runCPU/baseCPU, runCPU, baseCPU), runCPU/baseCPU, "", "")
	b.note("baseline engine: DuckDB %s in the bench process; it reads the %d detail responses the run fetched, saved as NDJSON while it ran", version, s.teeDocs)

	if r1 != nil {
		b.memory(sec4, small, r1, s1)
	}
	b.memory(sec4, n, r, s)
	if r1 != nil {
		growth := float64(r.RSSKB) / float64(r1.RSSKB)
		b.add(sec4, fmt.Sprintf("growth %d → %d calls (%.0f× the calls)", small, n, float64(n)/float64(small)), fmt.Sprintf("%.2f×", growth), growth, "flat (≈1×)", passMiss(growth <= 1.25))
	}
	return nil
}

// memory adds figure 4's lines for one run of n calls.
func (b *bench) memory(sec string, n int, r *childRun, s *served) {
	mb := float64(r.RSSKB) / 1024
	b.add(sec, fmt.Sprintf("%d calls", n), fmt.Sprintf("%.0f MB", mb), mb, "≤ 256 MB", passMiss(mb <= 256))
	b.add(sec, fmt.Sprintf("%d calls: peak during extract / after it (load…)", n),
		fmt.Sprintf("%.0f MB / %.0f MB", peakRSS(r.Samples, time.Time{}, s.ExtractEnd()), peakRSS(r.Samples, s.ExtractEnd(), time.Time{})), 0, "", "")
	// The program's own pages (the binary is large: DuckDB, the BigQuery
	// client) count in RSS as soon as they are touched; the rest is the
	// Go heap and DuckDB's memory.
	if p := peakSample(r.Samples); p.RSSKB > 0 {
		b.add(sec, fmt.Sprintf("%d calls at the peak: file-backed (the program's pages) / the rest", n),
			fmt.Sprintf("%.0f / %.0f MB", float64(p.FileKB)/1024, float64(p.RSSKB-p.FileKB)/1024), 0, "", "")
	}
}

// baseline loads the NDJSON of conversation responses with DuckDB's read_json,
// unnesting the utterances into a table, in a fresh DuckDB file.
func baseline(ctx context.Context, ndjson, dbPath string) (time.Duration, int64, string, error) {
	os.Remove(dbPath)
	db, err := sql.Open("duckdb", dbPath)
	if err != nil {
		return 0, 0, "", err
	}
	defer db.Close()
	var version string
	if err := db.QueryRowContext(ctx, "SELECT version()").Scan(&version); err != nil {
		return 0, 0, "", err
	}
	q := fmt.Sprintf(`CREATE TABLE utterances AS
SELECT id AS call_id, u.index AS utterance_index, u.id AS utterance_id, u.speaker_id, u.speaker_name,
       u.speaker_type, u.snippet_time AS start_seconds, u.snippet_length AS duration_seconds,
       CAST(u.date_time AS TIMESTAMP) AS spoken_at, u.snippet AS text
FROM (SELECT data.id AS id, unnest(data.attributes.recording.utterances) AS u
      FROM read_json('%s', format = 'newline_delimited', maximum_object_size = 268435456))`, strings.ReplaceAll(ndjson, "'", "''"))
	start := time.Now()
	if _, err := db.ExecContext(ctx, q); err != nil {
		return 0, 0, version, err
	}
	if _, err := db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		return 0, 0, version, err
	}
	took := time.Since(start)
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM utterances").Scan(&n); err != nil {
		return 0, 0, version, err
	}
	return took, n, version, nil
}

// 5. Transcript retrieval against figure 3's warehouse.
func (b *bench) transcripts(ctx context.Context) error {
	if localDB == "" {
		return fmt.Errorf("needs figure 3's warehouse (-only 3,5) or -db FILE")
	}
	sec := "5. transcript retrieval (figure 3's warehouse)"
	url := "duckdb:" + localDB
	w, err := warehouse.Open(ctx, url, warehouse.Options{})
	if err != nil {
		return err
	}
	rows, err := w.Query(ctx, `SELECT call_id FROM chorus_raw.calls WHERE transcript_status = 'complete' ORDER BY call_id`)
	if err != nil {
		w.Close()
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(b.seed), 5))
	ids := make([]string, 0, b.sz.transcripts)
	for i := 0; i < b.sz.transcripts && len(rows) > 0; i++ {
		ids = append(ids, fmt.Sprint(rows[rng.IntN(len(rows))]["call_id"]))
	}
	b.progress("figure 5: %d transcripts", len(ids))
	// In-process: the warehouse opened once, one query per transcript.
	var inproc []time.Duration
	utts := 0
	for i, id := range append([]string{ids[0]}, ids...) { // the first one warms up
		t0 := time.Now()
		rs, err := w.Query(ctx, fmt.Sprintf(`SELECT utterance_index, speaker_name, speaker_type, start_seconds, text
			FROM chorus_raw.utterances WHERE call_id = '%s' ORDER BY utterance_index`, strings.ReplaceAll(id, "'", "''")))
		if err != nil {
			w.Close()
			return err
		}
		if i > 0 {
			inproc = append(inproc, time.Since(t0))
			utts += len(rs)
		}
	}
	// The command's own query (the transcript_search model), in-process.
	var model []time.Duration
	for i, id := range append([]string{ids[0]}, ids...) {
		t0 := time.Now()
		if _, err := w.Query(ctx, transforms.TranscriptSQL("duckdb", w.ModelSchema(), id)); err != nil {
			model = nil
			break
		}
		if i > 0 {
			model = append(model, time.Since(t0))
		}
	}
	w.Close()
	p50, p95 := percentile(inproc, 50), percentile(inproc, 95)
	// The command, when the binary has it: a process per transcript.
	help := exec.CommandContext(ctx, b.bin, "transcript", "--help")
	if out, err := help.CombinedOutput(); err == nil && !strings.Contains(string(out), "unknown command") {
		var cli, cliCPU []time.Duration
		for i, id := range append([]string{ids[0]}, ids...) {
			t0 := time.Now()
			cmd := exec.CommandContext(ctx, b.bin, "--log-level", "warn", "transcript", "--warehouse", url, id)
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("chorus-elt transcript %s: %w\n%s", id, err, out)
			}
			if i > 0 {
				cli = append(cli, time.Since(t0))
				cliCPU = append(cliCPU, processCPU(cmd))
			}
		}
		// What a process costs before its query: start, open, SELECT 1.
		var base []time.Duration
		for range 10 {
			t0 := time.Now()
			cmd := exec.CommandContext(ctx, b.bin, "--log-level", "warn", "query", "--warehouse", url, "SELECT 1")
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("chorus-elt query: %w\n%s", err, out)
			}
			base = append(base, time.Since(t0))
		}
		c50, c95 := percentile(cli, 50), percentile(cli, 95)
		b.add(sec, "`chorus-elt transcript` p50 / p95 (process per call)", fmt.Sprintf("%s / %s", ms(c50), ms(c95)), float64(c95)/1e6, "p95 ≤ 100 ms", passMiss(c95 <= 100*time.Millisecond))
		b.add(sec, "  its CPU (user+sys) p50 / p95", fmt.Sprintf("%s / %s", ms(percentile(cliCPU, 50)), ms(percentile(cliCPU, 95))), float64(percentile(cliCPU, 95))/1e6, "", "")
		b.add(sec, "  of which process start + open (`query \"SELECT 1\"`) p50", ms(percentile(base, 50)), float64(percentile(base, 50))/1e6, "", "")
		if len(model) > 0 {
			b.add(sec, "  its query (transcript_search) in-process p50 / p95", fmt.Sprintf("%s / %s", ms(percentile(model, 50)), ms(percentile(model, 95))), float64(percentile(model, 95))/1e6, "", "")
		}
		b.add(sec, "raw utterances query in-process p50 / p95", fmt.Sprintf("%s / %s", ms(p50), ms(p95)), float64(p95)/1e6, "", "")
	} else {
		b.add(sec, "equivalent query via warehouse.Query p50 / p95", fmt.Sprintf("%s / %s", ms(p50), ms(p95)), float64(p95)/1e6, "p95 ≤ 100 ms", passMiss(p95 <= 100*time.Millisecond))
		b.note("the binary has no `transcript` command: figure 5 is the equivalent query (a call's utterances ordered by index) through warehouse.Query, the warehouse opened once")
	}
	b.add(sec, "transcripts / mean utterances", fmt.Sprintf("%d / %.0f", len(inproc), float64(utts)/float64(max(1, len(inproc)))), float64(len(inproc)), "", "")
	return nil
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }
