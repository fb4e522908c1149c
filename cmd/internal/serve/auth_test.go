package serve

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

func TestAPIAuth(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	cookie := func(tok string) string { return TokenCookie + "=" + base64.RawURLEncoding.EncodeToString([]byte(tok)) }
	cases := []struct {
		name   string
		header []string
		status int
		says   string
	}{
		{"no token", nil, 401, "missing bearer token"},
		{"wrong token", []string{"Authorization", "Bearer not-the-token-0123456789"}, 401, "invalid bearer token"},
		{"a prefix of the token", []string{"Authorization", "Bearer " + testToken[:len(testToken)-1]}, 401, "invalid"},
		{"the token and more", []string{"Authorization", "Bearer " + testToken + "x"}, 401, "invalid"},
		{"empty bearer", []string{"Authorization", "Bearer "}, 401, "invalid"},
		{"basic auth", []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("u:"+testToken))}, 401, "invalid"},
		{"the token without a scheme", []string{"Authorization", testToken}, 401, "invalid"},
		{"first token", []string{"Authorization", "Bearer " + testToken}, 200, ""},
		{"second token", []string{"Authorization", "Bearer " + testToken2}, 200, ""},
		{"scheme in lower case", []string{"Authorization", "bearer " + testToken}, 200, ""},
		{"login cookie", []string{"Cookie", cookie(testToken2)}, 200, ""},
		{"wrong cookie", []string{"Cookie", cookie("not-the-token-0123456789")}, 401, "missing"},
		{"raw token as cookie", []string{"Cookie", TokenCookie + "=" + testToken}, 401, "missing"},
		{"the webhook secret", []string{"Authorization", "Bearer " + testSecret}, 401, "invalid"},
	}
	paths := []string{"/api/chorus/meetings", "/api/chorus/meetings/X", "/api/chorus/meetings/X/transcript", "/api/chorus/customer/cust-001",
		"/api/chorus/insights/cust-001", "/api/chorus/ask?q=x", "/api/chorus/customers", "/api/chorus/nothing"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := call(t, "GET", ts.URL+"/api/chorus/customers", "", nil, c.header...)
			if code != c.status {
				t.Fatalf("%d, want %d: %s", code, c.status, body)
			}
			if c.status == 401 {
				var e errorBody
				if err := json.Unmarshal(body, &e); err != nil || !strings.Contains(e.Error, c.says) {
					t.Errorf("body %s, want an error saying %q", body, c.says)
				}
			}
		})
	}
	// Every endpoint needs a token, whether the id exists or not.
	for _, p := range paths {
		req, _ := http.NewRequest("GET", ts.URL+p, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("GET %s without a token: %d %v", p, resp.StatusCode, resp.Header)
		}
	}
	// The open endpoints.
	if code, _ := call(t, "GET", ts.URL+"/healthz", "", nil); code != 200 {
		t.Errorf("healthz: %d", code)
	}
	if code, _ := call(t, "GET", ts.URL+"/static/style.css", "", nil); code != 200 {
		t.Errorf("style sheet: %d", code)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	f := demoWarehouse(t)
	cases := []struct {
		name string
		opts Options
		says string
	}{
		{"no warehouse", Options{Tokens: []string{testToken}}, "no warehouse"},
		{"no token", Options{Warehouse: f.w}, "no API token"},
		{"short token", Options{Warehouse: f.w, Tokens: []string{testToken, "short"}}, "token 2 is 5 characters"},
		{"empty token", Options{Warehouse: f.w, Tokens: []string{""}}, "token 1 is 0 characters"},
		{"short secret", Options{Warehouse: f.w, Tokens: []string{testToken}, WebhookSecret: "abc"}, "webhook secret"},
	}
	for _, c := range cases {
		if _, err := New(c.opts); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.says)
		} else if strings.Contains(err.Error(), "short") && c.name == "short token" {
			t.Errorf("%s: the error shows the token: %v", c.name, err)
		}
	}
}

// noRedirect is a client that shows redirects instead of following them.
func noRedirect(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestLoginCookie(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	jar, _ := cookiejar.New(nil)
	c := noRedirect(jar)

	// A page without a token goes to the login form, which comes back.
	resp, err := c.Get(ts.URL + "/customers/cust-001?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next="+url.QueryEscape("/customers/cust-001?x=1") {
		t.Fatalf("page without a token: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = c.Get(ts.URL + resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `type="password" name="token"`) || !strings.Contains(string(body), `value="/customers/cust-001?x=1"`) ||
		strings.Contains(string(body), "Log out") {
		t.Fatalf("login form: %d %s", resp.StatusCode, body)
	}

	// A wrong token: the form again, no cookie.
	resp, err = c.PostForm(ts.URL+"/login", url.Values{"token": {"wrong-token-0123456789"}, "next": {"/customers"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(body), "not valid") || len(resp.Cookies()) != 0 {
		t.Fatalf("wrong token: %d %v %s", resp.StatusCode, resp.Cookies(), body)
	}

	// The right token: the cookie, HttpOnly and SameSite=Strict, and back
	// to the page.
	resp, err = c.PostForm(ts.URL+"/login", url.Values{"token": {testToken2}, "next": {"/customers/cust-001"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/customers/cust-001" {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	sc := resp.Header.Get("Set-Cookie")
	for _, want := range []string{TokenCookie + "=", "HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(sc, "Secure") || strings.Contains(sc, testToken2) {
		t.Errorf("Set-Cookie %q: Secure on plain HTTP, or the token in clear", sc)
	}
	resp, err = c.Get(ts.URL + "/customers/cust-001")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Weekly health") || !strings.Contains(string(body), "Log out") {
		t.Fatalf("page with the cookie: %d", resp.StatusCode)
	}

	// Log out: the cookie goes, the pages need a token again.
	resp, err = c.Post(ts.URL+"/logout", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = c.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout: %d", resp.StatusCode)
	}

	// next never leaves the server.
	for _, next := range []string{"//evil.example/x", "https://evil.example/", `/\evil.example`, "javascript:alert(1)", ""} {
		resp, err := noRedirect(nil).PostForm(ts.URL+"/login", url.Values{"token": {testToken}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != "/" {
			t.Errorf("next %q: redirected to %q", next, loc)
		}
	}

	// Behind a TLS proxy the cookie is Secure.
	ts2, _, _ := testServer(t, func(o *Options) { o.SecureCookie = true })
	resp, err = noRedirect(nil).PostForm(ts2.URL+"/login", url.Values{"token": {testToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.Contains(resp.Header.Get("Set-Cookie"), "Secure") {
		t.Errorf("SecureCookie: %q", resp.Header.Get("Set-Cookie"))
	}
}

// TestTokensNeverLogged plants the tokens and the webhook secret in every
// place a request carries them, right and wrong, and looks for them in
// the log.
func TestTokensNeverLogged(t *testing.T) {
	planted := "planted-token-Zq8XwV3kP0"
	wrong := "planted-wrong-Yr7UuT2jO9"
	syncer := &countingSyncer{}
	ts, s, logs := testServer(t, func(o *Options) {
		o.Tokens = []string{planted}
		o.Syncer = syncer
	})
	ctx := t.Context()
	go func() { _ = s.Run(ctx) }()
	enc := base64.RawURLEncoding.EncodeToString
	for _, tok := range []string{planted, wrong} {
		call(t, "GET", ts.URL+"/api/chorus/meetings?page_size=1", tok, nil)
		call(t, "GET", ts.URL+"/api/chorus/meetings/NOPE", tok, nil)
		call(t, "GET", ts.URL+"/api/chorus/ask?q=gibberish", tok, nil)
		call(t, "GET", ts.URL+"/", "", nil, "Cookie", TokenCookie+"="+enc([]byte(tok)))
		call(t, "POST", ts.URL+"/login", "", strings.NewReader(url.Values{"token": {tok}}.Encode()), "Content-Type", "application/x-www-form-urlencoded")
		call(t, "GET", ts.URL+"/api/chorus/meetings?token="+tok, "", nil)
		call(t, "POST", ts.URL+"/api/chorus/webhook", tok, strings.NewReader(`{"engagement_id":"ABC"}`), WebhookSecretHeader, tok)
	}
	call(t, "POST", ts.URL+"/api/chorus/webhook", "", strings.NewReader(`{"engagement_id":"ABC"}`), WebhookSecretHeader, testSecret)
	out := logs.String()
	if !strings.Contains(out, `"path":"/api/chorus/meetings"`) || !strings.Contains(out, "login refused") {
		t.Fatalf("the log lacks the requests:\n%s", out)
	}
	for _, secret := range []string{planted, wrong, testSecret, enc([]byte(planted)), enc([]byte(wrong))} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds %q:\n%s", secret, out)
		}
	}
}
