package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chorus-elt/chorus-elt/warehouse"
)

func TestTransformSearchTranscriptCLI(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "chorus.duckdb")
	w, err := warehouse.Open(ctx, "duckdb:"+db, warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO chorus_raw.calls (call_id, title, started_at, account_id, url, owner_email, owner_name, transcript_status)
		 VALUES ('C1', 'QBR', TIMESTAMP '2026-02-25 15:00:00', '001A', 'https://chorus.ai/meeting/C1', 'eli@seller.example', 'Eli', 'complete')`,
		`INSERT INTO chorus_raw.utterances (call_id, utterance_index, speaker_name, speaker_type, start_seconds, text) VALUES
		 ('C1', 0, 'Eli Moreno', 'rep', 1.5, 'Thanks for joining.'),
		 ('C1', 1, 'Pat Buyer', 'customer', 75.2, 'We are also evaluating Gong at the moment.')`,
		`INSERT INTO chorus_raw.action_items (call_id, item_index, text, source, due_hint) VALUES ('C1', 0, 'Send the SOC 2 report by Friday', 'chorus', 'by Friday')`,
	} {
		if err := w.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	csv := filepath.Join(dir, "customers.csv")
	writeFile(t, csv, []byte("customer_id,name,domains,crm_account_id,csm_email,csm_name\nc1,Acme,acme.example,001A,jo@seller.example,Jo\n"), 0o644)
	url := "duckdb:" + db

	code, out, errOut := runCLI(t, cliOpts{}, "transform", "--warehouse", url, "--customers", csv, "--as-of", "2026-03-04")
	if code != exitOK || !strings.Contains(out, `"command":"transform"`) || !strings.Contains(out, `"customer_tasks":1`) {
		t.Fatalf("transform: code %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, cliOpts{}, "search", "--warehouse", url, "--customer", "c1", "--since", "2026-02-01", "gong")
	for _, want := range []string{"C1", "QBR", "c1 Acme", "[01:15] Pat Buyer (customer):", "«Gong»", "https://chorus.ai/meeting/C1#t=75"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("search output lacks %q (code %d):\n%s", want, code, out)
		}
	}
	_, out, _ = runCLI(t, cliOpts{}, "search", "--warehouse", url, "--since", "2026-03-01", "gong")
	if !strings.Contains(out, "no utterance holds") {
		t.Errorf("search since: %s", out)
	}
	code, out, _ = runCLI(t, cliOpts{}, "transcript", "--warehouse", url, "C1")
	if code != exitOK || !strings.Contains(out, "[00:01] Eli Moreno (rep): Thanks for joining.\n[01:15] Pat Buyer (customer): We are also evaluating Gong at the moment.\n") {
		t.Errorf("transcript (code %d):\n%s", code, out)
	}

	code, out, _ = runCLI(t, cliOpts{}, "transform", "--warehouse", "bigquery:proj.chorus", "--dry-run", "--as-of", "2026-03-04")
	if code != exitOK || !strings.Contains(out, "CREATE OR REPLACE TABLE `proj.chorus.customer_health` AS") {
		t.Errorf("dry run (code %d): %.300s", code, out)
	}

	bad := filepath.Join(dir, "bad.csv")
	writeFile(t, bad, []byte("customer_id,name,domains,crm_account_id,csm_email,csm_name\nc1,A,,,nope,\nc1,B,,,,\n"), 0o644)
	code, _, errOut = runCLI(t, cliOpts{}, "transform", "--warehouse", url, "--customers", bad)
	if code != exitUsage || !strings.Contains(errOut, `line 2, column csm_email: "nope" is not an email address`) || !strings.Contains(errOut, "line 3, column customer_id: duplicate id") {
		t.Errorf("bad customers: code %d: %s", code, errOut)
	}
	for _, args := range [][]string{{"search", "--warehouse", url}, {"transcript", "--warehouse", url}, {"transform", "--warehouse", "nope:x", "--dry-run"}, {"transform", "--warehouse", url, "--as-of", "soon"}} {
		if code, _, errOut := runCLI(t, cliOpts{}, args...); code != exitUsage {
			t.Errorf("%v: code %d, want 2: %s", args, code, errOut)
		}
	}
}
