package connector_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorusapi"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/client"
	"github.com/chorus-elt/chorus-elt/connector/engine"
	"github.com/chorus-elt/chorus-elt/connector/protocol"
	"github.com/chorus-elt/chorus-elt/connector/state"
)

// streamTruth renders what the tenant's ground truth says a stream holds,
// one line per row, in the same format as streamLines renders rows.
func streamTruth(t *testing.T, ten *chorustest.Tenant, stream string) []string {
	t.Helper()
	var out []string
	now := ten.Now()
	for _, e := range ten.Engagements() {
		if e.StartedAt.After(now) {
			continue
		}
		switch stream {
		case "engagements":
			var emails []string
			for _, p := range e.Participants {
				if p.Email != "" {
					emails = append(emails, strings.ToLower(p.Email))
				}
			}
			out = append(out, fmt.Sprint(e.ID, " ", e.Type, " ", strings.Join(emails, ",")))
		case "talk_segments":
			if !e.IsCall() || ten.Processing(e.ID) {
				continue
			}
			next := map[int]int{}
			for _, u := range ten.Utterances(e.ID) {
				out = append(out, fmt.Sprintf("%s %d %d %.2f", e.ID, u.SpeakerID, next[u.SpeakerID], chorustest.TalkTime(u.Length, u.SpeakerType)))
				next[u.SpeakerID]++
			}
		case "sales_qualifications":
			if !e.IsCall() || ten.Processing(e.ID) {
				continue
			}
			for _, f := range ten.Qualifications(e.ID) {
				out = append(out, fmt.Sprint(e.ID, " sqf ", f.FieldID, " ", f.Value))
			}
		}
	}
	if stream == "user_teams" {
		for _, u := range ten.Users() {
			for _, team := range u.TeamIDs {
				out = append(out, fmt.Sprint(u.ID, " ", team, " ", team == u.PrimaryTeam))
			}
		}
	}
	sort.Strings(out)
	return out
}

// streamLines renders rows (as any output decodes them) like streamTruth.
func streamLines(stream string, rows []map[string]any) []string {
	num := func(v any) float64 {
		switch x := v.(type) {
		case float64:
			return x
		case int64:
			return float64(x)
		case json.Number:
			f, _ := x.Float64()
			return f
		}
		return math.NaN()
	}
	strs := func(v any) string {
		var out []string
		switch x := v.(type) {
		case []any:
			for _, s := range x {
				out = append(out, fmt.Sprint(s))
			}
		case []string:
			out = x
		}
		return strings.Join(out, ",")
	}
	var out []string
	for _, r := range rows {
		switch stream {
		case "engagements":
			out = append(out, fmt.Sprint(r["engagement_id"], " ", r["engagement_type"], " ", strs(r["participant_emails"])))
		case "talk_segments":
			out = append(out, fmt.Sprintf("%s %.0f %.0f %.2f", r["call_id"], num(r["cluster_id"]), num(r["range_index"]), num(r["talk_time_seconds"])))
		case "sales_qualifications":
			if r["section"] == "sqf" {
				out = append(out, fmt.Sprint(r["call_id"], " sqf ", r["field_id"], " ", r["new_value"]))
			}
		case "user_teams":
			out = append(out, fmt.Sprintf("%.0f %s %v", num(r["user_id"]), r["team_id"], r["is_primary"]))
		}
	}
	sort.Strings(out)
	return out
}

// TestNewStreamsInEveryOutput: the streams engagements, talk_segments,
// user_teams and sales_qualifications equal the tenant's ground truth in the
// Parquet files (read back by an independent reader) and in the Airbyte and
// Singer RECORD messages; a second extract adds no row to the ones already
// loaded (its rows repeat the same keys).
func TestNewStreamsInEveryOutput(t *testing.T) {
	streams := []string{"engagements", "talk_segments", "user_teams", "sales_qualifications"}
	h := newHarness(t, chorustest.Options{Seed: 23, Calls: 50, Now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		`,"sync_sales_qualifications":true`)
	h.mustExtract()
	for _, stream := range streams {
		want := streamTruth(t, h.tenant, stream)
		if len(want) == 0 {
			t.Fatalf("fixture: no %s in the tenant", stream)
		}
		if got := streamLines(stream, readStream(t, h.dir, stream)); !slices.Equal(got, want) {
			t.Errorf("Parquet %s: %d rows, truth %d\n got %.400v\nwant %.400v", stream, len(got), len(want), got, want)
		}
	}

	for _, proto := range []string{"airbyte", "singer"} {
		var out bytes.Buffer
		var sink interface {
			engine.Sink
			Flush() error
		}
		if proto == "airbyte" {
			sink = protocol.NewAirbyteSink(&out, protocol.SelectedList(nil))
		} else {
			sink = protocol.NewSingerSink(&out, protocol.SelectedList(nil))
		}
		api := chorusapi.NewV3(client.New(h.cfg, client.Options{Backoff: time.Millisecond}))
		if _, err := engine.Sync(context.Background(), engine.Options{Config: h.cfg, API: api, Now: h.tenant.Now, SyncID: "s"},
			state.New(h.cfg.BaseURL), sink); err != nil {
			t.Fatal(err)
		}
		sink.Flush()
		records := map[string][]map[string]any{}
		sc := bufio.NewScanner(&out)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			var m struct {
				Type   string `json:"type"`
				Stream string `json:"stream"`
				Record struct {
					Stream string         `json:"stream"`
					Data   map[string]any `json:"data"`
				} `json:"record"`
			}
			dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil {
				t.Fatal(err)
			}
			if m.Type != "RECORD" {
				continue
			}
			if proto == "airbyte" {
				records[m.Record.Stream] = append(records[m.Record.Stream], m.Record.Data)
			} else {
				var sm struct {
					Record map[string]any `json:"record"`
				}
				dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
				dec.UseNumber()
				_ = dec.Decode(&sm)
				records[m.Stream] = append(records[m.Stream], sm.Record)
			}
		}
		for _, stream := range streams {
			if got, want := streamLines(stream, records[stream]), streamTruth(t, h.tenant, stream); !slices.Equal(got, want) {
				t.Errorf("%s %s: %d records, truth %d", proto, stream, len(got), len(want))
			}
		}
	}
}
