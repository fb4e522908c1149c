package warehouse

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/state"
)

// TestDuckDBScorecards extracts the scorecard streams from the simulated
// tenant and loads them into DuckDB: the tables equal the tenant's ground
// truth; an idle extract and a repeated load add no duplicate; a scorecard
// edited later replaces its row and its answers' values.
func TestDuckDBScorecards(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	srv, ten := testkit.NewServer(t, chorustest.Options{Seed: 41, Calls: 300, Now: now, Start: now.AddDate(0, 0, -30), End: now.Add(24 * time.Hour)})
	cfg, err := config.Parse([]byte(fmt.Sprintf(`{"api_token":"test-token","base_url":%q,"start_date":%q,"requests_per_second":1000}`,
		srv.URL, now.AddDate(0, 0, -32).Format(time.RFC3339))), now, "")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	st := state.New(cfg.BaseURL)
	w := openDuck(t, filepath.Join(t.TempDir(), "w.duckdb"), Options{})
	defer w.Close()
	run := func(label string) *LoadResult {
		t.Helper()
		_, err := connector.Extract(ctx, connector.ExtractOptions{Config: cfg, OutDir: out, State: st, Now: ten.Now,
			Selected: map[string]bool{"scorecards": true, "scorecard_answers": true}, Backoff: time.Millisecond,
			SaveState: func(*state.State) error { return nil }})
		if err != nil {
			t.Fatalf("%s: extract: %v", label, err)
		}
		res, err := w.Load(ctx, out, nil)
		if err != nil {
			t.Fatalf("%s: load: %v", label, err)
		}
		return res
	}
	check := func(label string) {
		t.Helper()
		var truth []chorustest.TruthScorecard
		answers := 0
		for _, sc := range ten.Scorecards() {
			if !sc.SubmittedAt.After(ten.Now()) {
				truth = append(truth, sc)
				answers += len(sc.Answers)
			}
		}
		if n := count(t, w, "SELECT count(*) FROM chorus_raw.scorecards"); n != int64(len(truth)) {
			t.Errorf("%s: %d scorecards rows, truth has %d", label, n, len(truth))
		}
		if n := count(t, w, "SELECT count(*) FROM chorus_raw.scorecard_answers"); n != int64(answers) {
			t.Errorf("%s: %d scorecard_answers rows, truth has %d", label, n, answers)
		}
		if n := count(t, w, "SELECT count(*) - count(DISTINCT (scorecard_id, answer_index)) FROM chorus_raw.scorecard_answers"); n != 0 {
			t.Errorf("%s: %d duplicate answers", label, n)
		}
		rows, err := w.Query(ctx, "SELECT * FROM chorus_raw.scorecards")
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]map[string]any{}
		for _, r := range rows {
			byID[r["scorecard_id"].(string)] = r
		}
		ans, err := w.Query(ctx, "SELECT * FROM chorus_raw.scorecard_answers")
		if err != nil {
			t.Fatal(err)
		}
		ansByKey := map[string]map[string]any{}
		for _, r := range ans {
			ansByKey[fmt.Sprintf("%s/%d", r["scorecard_id"], r["answer_index"])] = r
		}
		for _, sc := range truth {
			r := byID[sc.ID]
			if r == nil {
				t.Errorf("%s: scorecard %s is not in the table", label, sc.ID)
				continue
			}
			sum := 0.0
			for _, a := range sc.Answers {
				sum += float64(a.Score)
			}
			got := fmt.Sprint(r["call_id"], r["initiative_id"], r["initiative_name"], r["recipient_user_id"], r["reviewer_user_id"],
				r["reviewer_name"], r["seen"], r["url"], r["answer_count"], r["mean_score"])
			want := fmt.Sprint(sc.EngagementID, sc.Initiative.ID, sc.Initiative.Name, sc.RecipientUserID, sc.ReviewerUserID,
				sc.ReviewerName, sc.Seen, sc.URL, len(sc.Answers), sum/float64(len(sc.Answers)))
			if got != want {
				t.Errorf("%s: scorecard %s:\n got %s\nwant %s", label, sc.ID, got, want)
			}
			if at, ok := r["submitted_at"].(time.Time); !ok || !at.Equal(sc.SubmittedAt) {
				t.Errorf("%s: scorecard %s submitted_at %v, want %s", label, sc.ID, r["submitted_at"], sc.SubmittedAt)
			}
			for i, a := range sc.Answers {
				ar := ansByKey[fmt.Sprintf("%s/%d", sc.ID, i)]
				if ar == nil {
					t.Errorf("%s: answer %s/%d is not in the table", label, sc.ID, i)
					continue
				}
				comment := any(a.CommentText)
				if a.CommentText == "" {
					comment = nil
				}
				if got, want := fmt.Sprint(ar["question_id"], ar["question_text"], ar["score"], ar["comment_text"], ar["comment_time_seconds"]),
					fmt.Sprint(a.QuestionID, a.QuestionText, a.Score, comment, a.CommentTime); got != want {
					t.Errorf("%s: answer %s/%d:\n got %s\nwant %s", label, sc.ID, i, got, want)
				}
			}
		}
	}

	res := run("first")
	check("first")
	t.Logf("first load: %d scorecards, %d answers inserted", res.Streams["scorecards"].Inserted, res.Streams["scorecard_answers"].Inserted)
	ten.Advance(time.Minute)
	res = run("idle")
	check("idle")
	if res.FilesLoaded != 0 {
		t.Errorf("the idle extract wrote %d files", res.FilesLoaded)
	}
	if res, err := w.Load(ctx, out, nil); err != nil || res.FilesLoaded != 0 {
		t.Errorf("reloading the same files: %+v, %v", res, err)
	}

	// Half a day later: new scorecards, and an old one edited and submitted
	// again with other scores.
	old := ten.Scorecards()[0]
	ten.Advance(12 * time.Hour)
	ten.EditScorecard(old.ID, func(sc *chorustest.TruthScorecard) {
		sc.SubmittedAt = ten.Now().Add(-time.Hour)
		for i := range sc.Answers {
			sc.Answers[i].Score = 6 - sc.Answers[i].Score
		}
	})
	res = run("later")
	check("later")
	if res.Streams["scorecards"] == nil || res.Streams["scorecards"].Inserted == 0 || res.Streams["scorecards"].Updated != 1 {
		t.Errorf("later load: %+v, want new scorecards and one updated", res.Streams["scorecards"])
	}
}
