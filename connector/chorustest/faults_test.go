package chorustest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
)

func TestParseFaults(t *testing.T) {
	for _, tc := range []struct {
		spec    string
		want    chorustest.Faults
		wantErr string // substring of the error; "" for none
	}{
		{spec: "", want: chorustest.Faults{}},
		{spec: "429=0.05,429-noretry=0.01,429-httpdate=0.02,500=0.1,504=0.02,slow=0.01,slowdelay=2s,truncate=0.01,dup=0.05,seed=7",
			want: chorustest.Faults{Seed: 7, Status429: 0.05, Status429NoRetry: 0.01, Status429HTTPDate: 0.02, Status500: 0.1,
				Status504: 0.02, Slow: 0.01, SlowDelay: 2 * time.Second, Truncate: 0.01, DuplicateAcrossPages: 0.05}},
		{spec: " 500 = 0.5 , ", want: chorustest.Faults{Status500: 0.5}},
		{spec: "503=0.1", wantErr: `"503"`},
		{spec: "500=lots", wantErr: "500"},
		{spec: "500=1.5", wantErr: "500"},
		{spec: "slowdelay=soon", wantErr: "slowdelay"},
		{spec: "seed=x", wantErr: "seed"},
		{spec: "dup", wantErr: `"dup"`},
		{spec: "500=0.6,504=0.6", wantErr: "add up"},
	} {
		got, err := chorustest.ParseFaults(tc.spec)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%q: %v", tc.spec, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%q: error %v, want one naming %s", tc.spec, err, tc.wantErr)
		case tc.wantErr == "" && got != tc.want:
			t.Errorf("%q: got %+v, want %+v", tc.spec, got, tc.want)
		}
	}
}

// classify names what a response is: ok, truncated, or an error kind.
func classify(t *testing.T, r response) string {
	t.Helper()
	switch r.status {
	case 200:
		var v any
		if r.readErr != nil || json.Unmarshal(r.body, &v) != nil {
			return "truncated"
		}
		return "ok"
	case 429:
		ra := r.header.Get("Retry-After")
		switch ra {
		case "":
			return "429-noretry"
		case "1":
			return "429"
		}
		when, err := http.ParseTime(ra)
		if err != nil || time.Until(when) > 3*time.Second || time.Until(when) < -time.Second {
			t.Errorf("Retry-After %q is not an HTTP date about 1s ahead", ra)
		}
		return "429-httpdate"
	default:
		return http.StatusText(r.status)
	}
}

func TestFaultRates(t *testing.T) {
	faults := chorustest.Faults{Seed: 99, Status429: 0.05, Status429NoRetry: 0.05, Status429HTTPDate: 0.05,
		Status500: 0.1, Status504: 0.05, Truncate: 0.1}
	srv, ten := testkit.NewServer(t, chorustest.Options{Seed: 1, Calls: 20, Now: fixedNow, Faults: faults})
	const n = 2000
	got := map[string]int{}
	var seq []string
	for i := range n {
		path := "/v3/users"
		if i%2 == 1 {
			path = "/v3/engagements"
		}
		k := classify(t, get(t, srv.URL, path))
		got[k]++
		seq = append(seq, k)
	}
	t.Logf("outcomes: %v", got)
	for k, want := range map[string]float64{"429": 0.05, "429-noretry": 0.05, "429-httpdate": 0.05,
		"Internal Server Error": 0.1, "Gateway Timeout": 0.05, "truncated": 0.1, "ok": 0.6} {
		if f := float64(got[k]) / n; f < want*0.7 || f > want*1.3 {
			t.Errorf("%s: rate %.3f, want about %.2f", k, f, want)
		}
	}
	if s := ten.Stats(); s.Status[429] != got["429"]+got["429-noretry"]+got["429-httpdate"] || s.RateLimited != 0 {
		t.Errorf("stats %+v", s)
	}

	// The same fault seed and request order give the same faults.
	ten.SetFaults(faults)
	for i := range 200 {
		path := "/v3/users"
		if i%2 == 1 {
			path = "/v3/engagements"
		}
		if k := classify(t, get(t, srv.URL, path)); k != seq[i] {
			t.Fatalf("request %d: %s after SetFaults, %s before", i, k, seq[i])
		}
	}
}

func TestTruncationVariants(t *testing.T) {
	srv, ten := testkit.NewServer(t, chorustest.Options{Seed: 1, Calls: 20, Now: fixedNow,
		Faults: chorustest.Faults{Truncate: 1}})
	id := ten.RecordedCalls()[0].ID
	var wire, cut int
	for range 4 {
		r := get(t, srv.URL, "/api/v1/conversations/"+id)
		var v any
		if r.status != 200 || json.Unmarshal(r.body, &v) == nil {
			t.Fatalf("status %d, body decodes", r.status)
		}
		if r.readErr != nil {
			wire++
		} else {
			cut++
		}
	}
	if wire != 2 || cut != 2 {
		t.Errorf("%d cut on the wire, %d with cut JSON; want them to alternate", wire, cut)
	}
}

func TestSlowAndLatency(t *testing.T) {
	srv, _ := testkit.NewServer(t, chorustest.Options{Seed: 1, Calls: 5, Latency: 20 * time.Millisecond,
		Faults: chorustest.Faults{Slow: 1, SlowDelay: 30 * time.Millisecond}})
	start := time.Now()
	if r := get(t, srv.URL, "/v3/users"); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("answered in %v, want at least latency + slow delay", d)
	}
}

func TestDuplicateAcrossPages(t *testing.T) {
	srv, ten := testkit.NewServer(t, chorustest.Options{Seed: 1, Calls: 30, PageSize: 6, Now: fixedNow,
		Faults: chorustest.Faults{DuplicateAcrossPages: 1}})
	ids, pages, _ := listAll(t, srv.URL, url.Values{}, nil)
	for i := 1; i < len(pages); i++ {
		prev := pages[i-1].Engagements
		if len(pages[i].Engagements) == 0 || len(prev) == 0 {
			continue
		}
		if pages[i].Engagements[0].ID != prev[len(prev)-1].ID {
			t.Errorf("page %d does not repeat the last engagement of page %d", i, i-1)
		}
	}
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	if want := visible(ten, time.Time{}, time.Time{}); len(seen) != len(want) || len(ids) <= len(want) {
		t.Errorf("%d listed, %d distinct, %d visible", len(ids), len(seen), len(want))
	}
}

func TestRateLimit(t *testing.T) {
	srv, ten := testkit.NewServer(t, chorustest.Options{Seed: 1, Calls: 5, RateLimit: 4})
	var ok, limited int
	for range 12 {
		r := get(t, srv.URL, "/v3/users")
		switch r.status {
		case 200:
			ok++
		case 429:
			limited++
			if ra := r.header.Get("Retry-After"); ra != "1" {
				t.Errorf("Retry-After %q, want 1", ra)
			}
		default:
			t.Fatalf("status %d", r.status)
		}
	}
	if ok < 4 || limited == 0 {
		t.Errorf("%d ok, %d limited; want the burst of 4 to pass and the rest limited", ok, limited)
	}
	if s := ten.Stats(); s.RateLimited != limited {
		t.Errorf("RateLimited %d, want %d", s.RateLimited, limited)
	}
	time.Sleep(300 * time.Millisecond) // one token refills in 250ms
	if r := get(t, srv.URL, "/v3/users"); r.status != 200 {
		t.Errorf("after waiting: status %d", r.status)
	}
}
