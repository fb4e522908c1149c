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
		return fmt.Errorf("%s %s: not a documented route: %v", req.Method, req.URL, err)
	}
	if route.Operation.Responses.Status(status) == nil {
		if status < 400 {
			return fmt.Errorf("%s: status %d is not documented", req.URL.Path, status)
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return fmt.Errorf("%s: %d body is not JSON: %v", req.URL.Path, status, err)
		}
		if err := c.errors.VisitJSON(v); err != nil {
			return fmt.Errorf("%s: %d body is not a contract Error document: %v\n%s", req.URL.Path, status, err, body)
		}
		return nil
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return fmt.Errorf("request %s does not follow the contract: %v", req.URL, err)
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
			}
			get("/v3/users")
			get("/api/v1/teams")
			if validated == 0 {
				t.Fatal("nothing was validated")
			}
			t.Logf("mode %s: %d responses validated, by status %v", m.name, validated, statuses)
		})
	}
}

// TestContractRejectsWrongShapes shows that the validation can fail: a
// conversation whose account lacks its required id, and a team whose
// manager is an object, are refused.
func TestContractRejectsWrongShapes(t *testing.T) {
	bad := map[string]string{
		"/api/v1/conversations/ABC": `{"data":{"type":"recording","id":"ABC","attributes":{"status":"done","owner":{"user_id":1,"person_id":2,"name":"a","email":"a@b"},"account":{"name":"x"},"deal":{},"recording":{}}}}`,
		"/api/v1/teams":             `{"data":[{"type":"team","id":"1","attributes":{"name":"t","language":"en","users":[],"manager":{"user_id":1}}}]}`,
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
