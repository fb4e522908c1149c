package chorustest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
)

// contractFile is the vendor's OpenAPI document, unchanged (see
// testdata/contract/README.md).
const contractFile = "../../testdata/contract/chorus-openapi-full.json"

// contract is the vendor document loaded for validation, with its servers
// pointed at base.
type contract struct {
	doc    *openapi3.T
	router routers.Router
	errors *openapi3.Schema // components/schemas/Error
}

func loadContract(t *testing.T, base string) *contract {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(contractFile)
	if err != nil {
		t.Fatalf("load %s: %v", contractFile, err)
	}
	// The vendor's own examples break its enums in places (saved_searches
	// has "filter" for FILTER): the schemas are what is checked, not them.
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		t.Fatalf("the vendor document does not validate as OpenAPI: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: base}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	return &contract{doc: doc, router: router, errors: doc.Components.Schemas["Error"].Value}
}

// check validates one exchange against the contract: a declared status is
// validated by kin-openapi against the operation's response; an error status
// the document does not declare (401, 429, 5xx, seen live) must still be a
// JSON:API Error document.
func (c *contract) check(req *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("%s %s: not a documented route: %w", req.Method, req.URL, err)
	}
	if route.Operation.Responses.Status(status) == nil {
		if status < 400 {
			return fmt.Errorf("%s: status %d is not documented", req.URL.Path, status)
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return fmt.Errorf("%s: %d body is not JSON: %w", req.URL.Path, status, err)
		}
		if err := c.errors.VisitJSON(v); err != nil {
			return fmt.Errorf("%s: %d body is not a contract Error document: %w\n%s", req.URL.Path, status, err, body)
		}
		return nil
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return fmt.Errorf("request %s does not follow the contract: %w", req.URL, err)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header,
		Body: io.NopCloser(bytes.NewReader(body)), Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		msg := err.Error()
		if len(msg) > 3000 {
			msg = msg[:3000] + "…"
		}
		return fmt.Errorf("%s %d does not follow the contract:\n%s", req.URL.Path, status, msg)
	}
	return nil
}

// exchange sends an authorised GET and returns the request (for routing)
// and the response.
func exchange(t *testing.T, base, path string) (*http.Request, int, http.Header, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "test-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return req, 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, rerr := io.ReadAll(resp.Body)
	return req, resp.StatusCode, resp.Header, b, rerr
}

// TestTenantFollowsContract validates every response the simulated tenant
// serves on a documented endpoint against the vendor's OpenAPI document, with
// no fault and in each fault mode, for calls in every state (processing,
// complete with and without AI output, no-show, not found, status unknown),
// after edits, and with the listing's live quirks.
func TestTenantFollowsContract(t *testing.T) {
	modes := []struct {
		name   string
		faults chorustest.Faults
	}{
		{"none", chorustest.Faults{}},
		{"429", chorustest.Faults{Status429: 0.3, Status429NoRetry: 0.1, Status429HTTPDate: 0.1}},
		{"500", chorustest.Faults{Status500: 0.5}},
		{"504", chorustest.Faults{Status504: 0.5}},
		{"slow", chorustest.Faults{Slow: 0.3, SlowDelay: time.Millisecond}},
		{"dup", chorustest.Faults{DuplicateAcrossPages: 0.5}},
		{"truncate", chorustest.Faults{Truncate: 0.5}},
	}
	now := fixedNow
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ten := chorustest.New(chorustest.Options{Seed: 11, Calls: 120, Now: now, AIDelay: 3 * time.Hour,
				PageSize: 25, Faults: m.faults})
			srv := httptest.NewServer(ten)
			defer srv.Close()
			c := loadContract(t, srv.URL)
			var statuses = map[int]int{}
			validated := 0
			get := func(path string) []byte {
				t.Helper()
				for attempt := 0; attempt < 50; attempt++ {
					req, status, header, body, err := exchange(t, srv.URL, path)
					if err != nil || (status == 200 && !json.Valid(body)) {
						statuses[-1]++ // a truncated body: a fault by design, not a shape
						continue
					}
					statuses[status]++
					if err := c.check(req, status, header, body); err != nil {
						t.Error(err)
					}
					validated++
					if status == 200 {
						return body
					}
					if status == 404 {
						return nil
					}
				}
				t.Fatalf("%s: no answer after 50 attempts", path)
				return nil
			}
			// Every listing page over the whole tenant, every end variant.
			var ids []string
			q := url.Values{"min_date": {now.AddDate(0, 0, -31).Format(time.RFC3339)}, "max_date": {now.Format(time.RFC3339)},
				"with_trackers": {"true"}}
			for pages := 0; pages < 100; pages++ {
				body := get("/v3/engagements?" + q.Encode())
				var page struct {
					Key         *string `json:"continuation_key"`
					Engagements []struct {
						ID   string `json:"engagement_id"`
						Type string `json:"engagement_type"`
					} `json:"engagements"`
				}
				if err := json.Unmarshal(body, &page); err != nil {
					t.Fatal(err)
				}
				for _, e := range page.Engagements {
					ids = append(ids, e.ID)
				}
				if page.Key == nil || strings.TrimSpace(*page.Key) == "" || len(page.Engagements) == 0 {
					break
				}
				q.Set("continuation_key", *page.Key)
			}
			if len(ids) < 100 {
				t.Fatalf("listed %d engagements", len(ids))
			}
			// A batch lookup by id.
			get("/v3/engagements?engagement_id=" + strings.Join(ids[:5], ","))
			// Every call's detail: processing ones (the newest), complete
			// without AI output (AIDelay), with it, no-shows, 404s.
			ten.SetActionItems(ids[len(ids)-1], []string{"Send the pricing sheet"})
			for _, id := range ids {
				get("/api/v1/conversations/" + id)
				get("/api/v1/sales-qualifications/" + id)
			}
			get("/v3/users")
			get("/api/v1/teams")
			// Every scorecards page under several filters (an edited
			// scorecard among them), the defaults, the other filters, and a
			// 400 for a filter that is not a date range.
			all := ten.Scorecards()
			ten.EditScorecard(all[0].ID, func(sc *chorustest.TruthScorecard) {
				sc.SubmittedAt, sc.Answers = now.Add(-time.Hour), sc.Answers[:1]
			})
			listed := 0
			for _, filter := range []string{"*:*", now.AddDate(0, 0, -10).Format(time.RFC3339) + ":*",
				"*:" + now.AddDate(0, 0, -5).Format(time.RFC3339), now.AddDate(0, 0, -20).Format("2006-01-02") + ":" + now.Format(time.RFC3339)} {
				for page := 1; page < 100; page++ {
					body := get("/api/v1/scorecards?" + url.Values{"filter[submitted]": {filter}, "page[size]": {"10"},
						"page[number]": {strconv.Itoa(page)}}.Encode())
					var doc struct {
						Data []json.RawMessage `json:"data"`
					}
					if err := json.Unmarshal(body, &doc); err != nil {
						t.Fatal(err)
					}
					if filter == "*:*" {
						listed += len(doc.Data)
					}
					if len(doc.Data) < 10 {
						break
					}
				}
			}
			if listed < 20 {
				t.Fatalf("the scorecards listing has %d scorecards", listed)
			}
			get("/api/v1/scorecards")
			get("/api/v1/scorecards?" + url.Values{"filter[recipients]": {strconv.FormatInt(all[1].RecipientUserID, 10)},
				"filter[reviewers]": {strconv.FormatInt(all[1].ReviewerUserID, 10)}, "filter[initiative]": {"31"}}.Encode())
			bad := "/api/v1/scorecards?" + url.Values{"filter[submitted]": {"last week"}}.Encode()
			for attempt := 0; ; attempt++ {
				if attempt > 50 {
					t.Fatal("a bad filter[submitted]: no answer after 50 attempts")
				}
				req, status, header, body, err := exchange(t, srv.URL, bad)
				if err != nil || (status == 200 && !json.Valid(body)) {
					continue
				}
				statuses[status]++
				if err := c.check(req, status, header, body); err != nil {
					t.Error(err)
				}
				validated++
				if status == 400 {
					break
				}
				if status == 200 {
					t.Fatal("a bad filter[submitted] got 200")
				}
			}
			if validated == 0 {
				t.Fatal("nothing was validated")
			}
			t.Logf("mode %s: %d responses validated, by status %v", m.name, validated, statuses)
		})
	}
}

// TestContractRejectsWrongShapes shows that the validation can fail: a
// conversation whose account lacks its required id, a team whose manager is
// an object, and a scorecard whose initiative id is a string, are refused.
func TestContractRejectsWrongShapes(t *testing.T) {
	bad := map[string]string{
		"/api/v1/conversations/ABC": `{"data":{"type":"recording","id":"ABC","attributes":{"status":"done","owner":{"user_id":1,"person_id":2,"name":"a","email":"a@b"},"account":{"name":"x"},"deal":{},"recording":{}}}}`,
		"/api/v1/teams":             `{"data":[{"type":"team","id":"1","attributes":{"name":"t","language":"en","users":[],"manager":{"user_id":1}}}]}`,
		"/api/v1/scorecards":        `{"data":[{"type":"scorecard","id":"1","attributes":{"engagement":"E","initiative":{"id":"31","name":"n","description":"","url":"u"},"recipient":{"user_id":1,"person_id":2,"name":"a"},"reviewer":{"user_id":3,"person_id":4,"name":"b"},"scores":[],"seen":false,"submitted":"2026-01-01T00:00:00Z","url":"u"}}]}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.api+json")
		fmt.Fprint(w, bad[r.URL.Path])
	}))
	defer srv.Close()
	c := loadContract(t, srv.URL)
	for path := range bad {
		req, status, header, body, err := exchange(t, srv.URL, path)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.check(req, status, header, body); err == nil {
			t.Errorf("%s: a response of the wrong shape passed the contract check", path)
		}
	}
}

// TestScorecardsEndpoint: GET /api/v1/scorecards lists exactly the
// scorecards submitted by the tenant clock within filter[submitted], in
// (submitted, id) order, each once across pages; a page size outside
// 1..100, a page number below 1 or a filter that is not a date range is a
// 400 with the contract's Error body.
func TestScorecardsEndpoint(t *testing.T) {
	ten := chorustest.New(chorustest.Options{Seed: 11, Calls: 400, Now: fixedNow})
	srv := httptest.NewServer(ten)
	defer srv.Close()
	c := loadContract(t, srv.URL)
	from, to := fixedNow.AddDate(0, 0, -12), fixedNow.AddDate(0, 0, -2)
	var want []string
	total := 0
	for _, sc := range ten.Scorecards() {
		if !sc.SubmittedAt.After(fixedNow) {
			total++
			if !sc.SubmittedAt.Before(from) && !sc.SubmittedAt.After(to) {
				want = append(want, sc.ID)
			}
		}
	}
	if len(want) < 30 || total == len(ten.Scorecards()) {
		t.Fatalf("fixture: %d scorecards in the range, %d of %d by the clock", len(want), total, len(ten.Scorecards()))
	}
	var got []string
	for page := 1; page < 50; page++ {
		r := get(t, srv.URL, "/api/v1/scorecards?"+url.Values{"filter[submitted]": {from.Format(time.RFC3339) + ":" + to.Format(time.RFC3339)},
			"page[size]": {"7"}, "page[number]": {strconv.Itoa(page)}}.Encode())
		var doc struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if r.status != 200 || json.Unmarshal(r.body, &doc) != nil {
			t.Fatalf("page %d: %d %s", page, r.status, r.body)
		}
		for _, d := range doc.Data {
			got = append(got, d.ID)
		}
		if len(doc.Data) < 7 {
			break
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("listed %v\nwant %v", got, want)
	}
	r := get(t, srv.URL, "/api/v1/scorecards?"+url.Values{"page[size]": {"100"}}.Encode())
	var all struct{ Data []json.RawMessage }
	if json.Unmarshal(r.body, &all) != nil || len(all.Data) != min(total, 100) {
		t.Errorf("no filter: %d scorecards, want %d", len(all.Data), min(total, 100))
	}
	for _, q := range []string{"page%5Bsize%5D=0", "page%5Bsize%5D=101", "page%5Bsize%5D=ten", "page%5Bnumber%5D=0",
		"filter%5Bsubmitted%5D=2026-01-01", "filter%5Bsubmitted%5D=2026-01-01T00:00:00Z-2026-02-01T00:00:00Z"} {
		r := get(t, srv.URL, "/api/v1/scorecards?"+q)
		var v any
		if r.status != 400 || json.Unmarshal(r.body, &v) != nil || c.errors.VisitJSON(v) != nil || r.header.Get("Content-Type") != "application/vnd.api+json" {
			t.Errorf("%s: %d %s %s, want a 400 Error document", q, r.status, r.header.Get("Content-Type"), r.body)
		}
	}
}
