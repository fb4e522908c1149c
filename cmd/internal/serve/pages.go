package serve

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/chorus-elt/chorus-elt/cmd/internal/serve/answers"
	"github.com/chorus-elt/chorus-elt/transforms"
)

// assets holds the page templates and the static files (style sheet,
// script); nothing is fetched from elsewhere.
//
//go:embed assets
var assets embed.FS

// pageNames are the templates under assets/templates, each rendered
// inside layout.html.
var pageNames = []string{"library", "call", "customers", "customer", "insights", "login", "error"}

// pages renders the web pages.
type pages struct {
	tmpl   map[string]*template.Template
	static http.Handler
}

var pageFuncs = template.FuncMap{
	"offset": transforms.FormatOffset,
	"day":    func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"when":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"minutes": func(sec float64) string {
		return fmt.Sprintf("%d min", int((sec+30)/60))
	},
	"clip": func(s string, n int) string { return clipText(s, n) },
	"join": strings.Join,
	"pct": func(f *float64) string {
		if f == nil {
			return "–"
		}
		return fmt.Sprintf("%.0f%%", *f*100)
	},
	"points": func(f float64) string { return fmt.Sprintf("%+.1f", f) },
	"floor":  func(f float64) int64 { return int64(f) },
	"deref": func(f *float64) float64 {
		if f == nil {
			return 0
		}
		return *f
	},
	"barWidth": func(f float64) int { // driver bars: 1 point = 4 px, at most 200
		w := int(4 * max(f, -f))
		return min(w, 200)
	},
	"healthChart":   healthChart,
	"trendsChart":   trendsChart,
	"momentumChart": momentumChart,
	"lastWeek": func(weeks []answers.MomentumWeek) *answers.MomentumWeek {
		if len(weeks) == 0 {
			return nil
		}
		return &weeks[len(weeks)-1]
	},
	"bandColor": bandColor,
	"add":       func(a, b int) int { return a + b },
}

func newPages() (*pages, error) {
	p := &pages{tmpl: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(pageFuncs).ParseFS(assets, "assets/templates/layout.html", "assets/templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("serve: page %s: %w", name, err)
		}
		p.tmpl[name] = t
	}
	static, err := fs.Sub(assets, "assets/static")
	if err != nil {
		return nil, err
	}
	p.static = http.StripPrefix("/static/", http.FileServerFS(static))
	return p, nil
}

// view is what every page template gets: D is the page's own data.
type view struct {
	Title  string
	Nav    string // the current section: library | customers
	Authed bool   // show the navigation and the logout button
	D      any
}

// render writes a page; a template error is a 500 (and nothing half
// written).
func (p *pages) render(w http.ResponseWriter, r *http.Request, status int, name string, d any) {
	title, nav := pageTitle(name, d)
	var buf bytes.Buffer
	authed := r.Context().Value(authedKey{}) != nil
	if err := p.tmpl[name].Execute(&buf, view{Title: title, Nav: nav, Authed: authed, D: d}); err != nil {
		http.Error(w, "internal error: page "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func pageTitle(name string, d any) (title, nav string) {
	switch x := d.(type) {
	case libraryData:
		return "Call library", "library"
	case callData:
		return x.Meeting.Title, "library"
	case customersData:
		return "Customers", "customers"
	case *answers.CustomerView:
		return x.Customer.Name, "customers"
	case *answers.Insights:
		return "answers.Insights · " + x.Customer.Name, "customers"
	case loginData:
		return "Log in", ""
	case errorData:
		return x.Title, ""
	}
	return name, ""
}

// errorData is the error page.
type errorData struct {
	Status  int
	Title   string
	Message string
}

// fail renders err as an error page with the status the API would give.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := s.errorStatus(r, err)
	title := http.StatusText(status)
	if status == http.StatusNotFound {
		title = "Not found"
	}
	s.pages.render(w, r, status, "error", errorData{Status: status, Title: title, Message: msg})
}

// libraryData is the call library page.
type libraryData struct {
	Page      *answers.MeetingPage
	Customers []answers.CustomerSummary
	Filter    url.Values // as given, for the form and the paging links
	Error     string
}

// PageURL is the library's page number page with the same filters.
func (l libraryData) PageURL(page int) string {
	v := url.Values{}
	for _, k := range []string{"customer", "from", "to", "participant", "q"} {
		if s := l.Filter.Get(k); s != "" {
			v.Set(k, s)
		}
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return "/"
	}
	return "/?" + v.Encode()
}

// GET /
func (s *Server) pageLibrary(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.withTimeout(r)
	defer cancel()
	customers, err := s.store.Customers(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := libraryData{Customers: customers, Filter: r.URL.Query(), Page: &answers.MeetingPage{}}
	f, err := s.libraryFilter(r)
	if err != nil {
		d.Error = err.Error()
		s.pages.render(w, r, http.StatusBadRequest, "library", d)
		return
	}
	e, err := s.store.Meetings(ctx, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Page = e.Value.(*answers.MeetingPage)
	s.pages.render(w, r, http.StatusOK, "library", d)
}

// libraryFilter reads the library page's form: the API's filters, with
// empty form fields ignored.
func (s *Server) libraryFilter(r *http.Request) (answers.MeetingFilter, error) {
	v, err := queryParams(r, "customer", "from", "to", "participant", "q", "page")
	if err != nil {
		return answers.MeetingFilter{}, err
	}
	return meetingFilter(v)
}

// callData is the call page.
type callData struct {
	Meeting    *answers.MeetingDetail
	Transcript *answers.Transcript
}

// GET /calls/{id}
func (s *Server) pageCall(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := s.withTimeout(r)
	defer cancel()
	m, err := s.store.ByID(ctx, answers.KindMeeting, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := s.store.ByID(ctx, answers.KindTranscript, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.pages.render(w, r, http.StatusOK, "call", callData{Meeting: m.Value.(*answers.MeetingDetail), Transcript: t.Value.(*answers.Transcript)})
}

// customersData is the customer list page.
type customersData struct{ Customers []answers.CustomerSummary }

// GET /customers
func (s *Server) pageCustomers(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.withTimeout(r)
	defer cancel()
	list, err := s.store.Customers(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.pages.render(w, r, http.StatusOK, "customers", customersData{Customers: list})
}

// pageByID renders a page of the kept answer of kind/id.
func (s *Server) pageByID(name, kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		ctx, cancel := s.withTimeout(r)
		defer cancel()
		e, err := s.store.ByID(ctx, kind, id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.pages.render(w, r, http.StatusOK, name, e.Value)
	}
}

// pageNotFound answers paths no page has.
func (s *Server) pageNotFound(w http.ResponseWriter, r *http.Request) {
	s.pages.render(w, r, http.StatusNotFound, "error", errorData{Status: http.StatusNotFound, Title: "Not found",
		Message: "There is no page at " + clipText(r.URL.Path, 80) + "."})
}
