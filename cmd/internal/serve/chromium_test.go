package serve

import (
	"context"
	"fmt"
	"html"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
)

// Environment of the browser test.
const (
	requireChromiumEnv = "CHORUS_ELT_REQUIRE_CHROMIUM" // 1: fail instead of skip without chromium
	artifactsEnv       = "CHORUS_ELT_ARTIFACTS"        // keep the screenshots here
)

// chromiumPath finds Debian's chromium, or skips (fails when required).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium is not installed (apt-get install -y chromium): the pages are not checked in a browser"
	if os.Getenv(requireChromiumEnv) == "1" {
		t.Fatalf("%s (%s=1)", msg, requireChromiumEnv)
	}
	t.Skip(msg)
	return ""
}

// browser runs headless chromium, one process per page, each with its
// own empty profile.
type browser struct {
	t    *testing.T
	bin  string
	runs []time.Duration
}

func (b *browser) run(args ...string) []byte {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--hide-scrollbars", "--user-data-dir=" + b.t.TempDir()}, args...)
	cmd := exec.CommandContext(ctx, b.bin, all...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	began := time.Now()
	out, err := cmd.Output()
	b.runs = append(b.runs, time.Since(began))
	if err != nil {
		b.t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func (b *browser) screenshot(file, url string) {
	b.t.Helper()
	b.run("--screenshot="+file, "--window-size=1280,1600", url)
	if fi, err := os.Stat(file); err != nil || fi.Size() < 5000 {
		b.t.Errorf("screenshot %s of %s: %v (size %d)", file, url, err, sizeOf(fi))
	}
}

// dom is the page's DOM after its scripts ran.
func (b *browser) dom(url string) string {
	b.t.Helper()
	return string(b.run("--dump-dom", "--virtual-time-budget=3000", url))
}

func sizeOf(fi os.FileInfo) int64 {
	if fi == nil {
		return 0
	}
	return fi.Size()
}

// authProxy serves the real handler to the browser behind a reverse proxy
// that adds the Authorization header: the pages' real token check, with
// no cookie to set up headless.
func authProxy(t *testing.T, backend string, token string) *httptest.Server {
	t.Helper()
	target, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	p := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = target.Host
		r.Out.Header.Set("Authorization", "Bearer "+token)
	}}
	ts := httptest.NewServer(p)
	t.Cleanup(ts.Close)
	return ts
}

// textIn is how dump-dom serialises text: &, < and > escaped, quotes not.
func textIn(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\u00a0", "&nbsp;").Replace(s)
}

// TestPagesInChromium loads every page in headless Chromium, keeps a
// screenshot of each, and checks in the DOM (after the scripts ran) that
// the pages show the tenant's data.
func TestPagesInChromium(t *testing.T) {
	bin := chromiumPath(t)
	artifacts := os.Getenv(artifactsEnv)
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	shots := filepath.Join(artifacts, "serve-pages")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	f := demoWarehouse(t)
	backend, _, _ := testServer(t, nil)
	front := authProxy(t, backend.URL, testToken)
	b := &browser{t: t, bin: bin}

	// Ground truth: the newest call, a call with a transcript and action
	// items, and its customer.
	calls := f.tenant.RecordedCalls()
	sort.Slice(calls, func(i, j int) bool { return calls[i].StartedAt.After(calls[j].StartedAt) })
	newest := calls[0]
	var call chorustest.TruthEngagement
	var said chorustest.TruthUtterance
	for _, c := range calls {
		u := f.tenant.Utterances(c.ID)
		if c.CustomerID == "" || c.NoShow || c.NotFound || len(u) < 10 || len(c.APIActionItems) == 0 {
			continue
		}
		call, said = c, u[len(u)/2]
		break
	}
	if call.ID == "" {
		t.Fatal("the tenant has no call with a transcript, action items and a customer")
	}
	var cust chorustest.Customer
	for _, c := range f.tenant.Customers() {
		if c.ID == call.CustomerID {
			cust = c
		}
	}
	// Independent SQL for what the models computed.
	score := fmt.Sprint(f.sqlRows(t, fmt.Sprintf("SELECT health_score FROM chorus.customer_health WHERE customer_id = '%s'", cust.ID))[0]["health_score"])
	pending := f.sqlRows(t, fmt.Sprintf(`SELECT description FROM chorus.customer_tasks WHERE customer_id = '%s' AND status IN ('open', 'overdue')
ORDER BY due_date, created_at LIMIT 1`, cust.ID))[0]["description"].(string)
	done := f.sqlRows(t, fmt.Sprintf(`SELECT COUNT(*) FILTER (WHERE status = 'followed_up') AS followed, COUNT(*) FILTER (WHERE status = 'stale') AS stale
FROM chorus.customer_tasks WHERE customer_id = '%s'`, cust.ID))[0]
	latest := f.sqlRows(t, fmt.Sprintf(`SELECT momentum_4w, momentum_trend FROM chorus.customer_momentum WHERE customer_id = '%s'
ORDER BY week_start DESC LIMIT 1`, cust.ID))[0]
	word := strings.ToLower(strings.Fields(said.Text)[0])

	pages := []struct {
		name, path string
		want       []string // substrings of the DOM
		re         []string // patterns the DOM must match
	}{
		{"library", "/", []string{textIn(newest.Subject), "Call library"}, nil},
		{"library-filtered", "/?customer=" + cust.ID, []string{textIn(cust.Name), textIn(call.Subject)}, nil},
		{"call", "/calls/" + call.ID, []string{textIn(call.Subject), textIn(said.Text), textIn(said.SpeakerName), textIn(call.APIActionItems[0])},
			[]string{`href="#u-\d+"`, `id="u-` + fmt.Sprint(said.Index) + `"`, `#t=\d+`}},
		// #q= pre-fills the in-page search: lines without the word are
		// hidden and the word is marked, by the page's script.
		{"call-search", "/calls/" + call.ID + "#q=" + url.QueryEscape(word), []string{"<mark>"},
			[]string{`class="utt [a-z]+ hidden"`, `\d+ of \d+ lines`}},
		{"customers", "/customers", []string{textIn(cust.Name)}, nil},
		{"customer", "/customers/" + cust.ID, []string{textIn(cust.Name), "Weekly health", "Tracker trends", "<svg"},
			[]string{`id="health-score"[^>]*>` + score + `<`, fmt.Sprintf(`Not shown: %v followed up, %v stale`, done["followed"], done["stale"])}},
		{"insights", "/insights/" + cust.ID, []string{textIn(cust.Name), "Trending topics", textIn(pending), "Weekly momentum score"},
			[]string{fmt.Sprintf(`id="momentum-score"[^>]*>%v<`, latest["momentum_4w"]), fmt.Sprintf(`id="momentum-trend"[^>]*>%v<`, latest["momentum_trend"]),
				`<svg[^>]*aria-label="Weekly momentum score"`}},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			b.t = t
			b.screenshot(filepath.Join(shots, p.name+".png"), front.URL+p.path)
			dom := b.dom(front.URL + p.path)
			if !strings.Contains(dom, "</html>") {
				t.Fatalf("%s: no page: %.300s", p.path, dom)
			}
			if strings.Contains(dom, "Log in") && !strings.Contains(p.name, "login") {
				t.Errorf("%s: the browser was sent to the login form", p.path)
			}
			for _, w := range p.want {
				if !strings.Contains(dom, w) {
					t.Errorf("%s: the page does not show %q", p.path, html.UnescapeString(w))
				}
			}
			for _, re := range p.re {
				if !regexp.MustCompile(re).MatchString(dom) {
					t.Errorf("%s: the page does not match %s", p.path, re)
				}
			}
		})
	}
	b.t = t
	// Without the proxy's header the browser lands on the login form.
	if dom := b.dom(backend.URL + "/customers/" + cust.ID); !strings.Contains(dom, "Log in") || strings.Contains(dom, textIn(cust.Name)) {
		t.Errorf("without a token: %.400s", dom)
	}
	var total time.Duration
	for _, d := range b.runs {
		total += d
	}
	t.Logf("chromium: %d runs, %.2fs on average (%.1fs in all); screenshots in %s", len(b.runs),
		total.Seconds()/float64(len(b.runs)), total.Seconds(), shots)
}
