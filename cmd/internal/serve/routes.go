package serve

import (
	"net/http"

	"github.com/chorus-elt/chorus-elt/cmd/internal/serve/answers"
)

// routes maps the API, the webhook, the pages and the static files.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	api := func(path string, h http.Handler) {
		mux.Handle("GET "+path, s.requireToken(h))
		mux.Handle(path, s.requireToken(methodNotAllowed("GET")))
	}
	api("/api/chorus/meetings", http.HandlerFunc(s.apiMeetings))
	api("/api/chorus/meetings/{id}", s.byID("id", answers.KindMeeting))
	api("/api/chorus/meetings/{id}/transcript", s.byID("id", answers.KindTranscript))
	api("/api/chorus/customers", http.HandlerFunc(s.apiCustomers))
	api("/api/chorus/customer/{customerId}", s.byID("customerId", answers.KindCustomer))
	api("/api/chorus/insights/{customerId}", s.byID("customerId", answers.KindInsights))
	api("/api/chorus/ask", http.HandlerFunc(s.apiAsk))
	mux.HandleFunc("POST /api/chorus/webhook", s.webhook)
	mux.Handle("/api/chorus/webhook", methodNotAllowed("POST"))
	mux.Handle("/api/", s.requireToken(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no endpoint at "+clipText(r.URL.Path, 80))
	})))

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET /static/", s.pages.static)
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)

	page := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, s.requirePageToken(h)) }
	page("GET /{$}", s.pageLibrary)
	page("GET /calls/{id}", s.pageCall)
	page("GET /customers", s.pageCustomers)
	page("GET /customers/{id}", s.pageByID("customer", answers.KindCustomer))
	page("GET /insights/{id}", s.pageByID("insights", answers.KindInsights))
	page("/", s.pageNotFound)
	return mux
}

// methodNotAllowed answers 405 with a JSON error naming the method to use.
func methodNotAllowed(allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, "use "+allow+" for "+r.URL.Path)
	})
}
