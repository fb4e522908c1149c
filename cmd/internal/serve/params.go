package serve

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/chorus-elt/chorus-elt/cmd/internal/serve/answers"
)

// badf is request input the server cannot use; handlers answer 400 with
// its message.
func badf(format string, a ...any) error { return answers.Badf(format, a...) }

// Limits of request input.
const (
	maxTextParam = 200 // characters of a filter or a question
	maxIDParam   = 128 // characters of a call or customer id
	maxPageSize  = 200
	maxPage      = 100000
)

// queryParams checks that a request's query string holds only the known
// parameters, each once, and returns it.
func queryParams(r *http.Request, known ...string) (url.Values, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badf("the query string is not valid: %v", err)
	}
	var unknown []string
	for k, vals := range v {
		if !contains(known, k) {
			unknown = append(unknown, k)
			continue
		}
		if len(vals) > 1 {
			return nil, badf("parameter %q is given %d times; give it once", k, len(vals))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, badf("unknown parameter %q (this endpoint takes %s)", unknown[0], strings.Join(known, ", "))
	}
	return v, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// textParam is a free-text parameter: trimmed, valid UTF-8 without NUL,
// at most maxTextParam characters.
func textParam(v url.Values, name string) (string, error) {
	s := strings.TrimSpace(v.Get(name))
	if !answers.ValidText(s) {
		return "", badf("parameter %q is not valid UTF-8 text", name)
	}
	if n := len([]rune(s)); n > maxTextParam {
		return "", badf("parameter %q is %d characters; at most %d", name, n, maxTextParam)
	}
	return s, nil
}

// pathID is the path wildcard name: an id of at most maxIDParam
// characters.
func pathID(r *http.Request, name string) (string, error) {
	id := r.PathValue(name)
	if id == "" || !answers.ValidText(id) || len([]rune(id)) > maxIDParam {
		return "", badf("%s %q is not a valid id", name, clipText(id, 40))
	}
	return id, nil
}

// timeParam reads a date (YYYY-MM-DD, the whole UTC day) or an RFC 3339
// instant. As an upper bound (end) a date means the end of that day.
func timeParam(v url.Values, name string, end bool) (time.Time, error) {
	s := strings.TrimSpace(v.Get(name))
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		if end {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, badf("parameter %q is %q: use a date (2026-01-31) or an RFC 3339 time (2026-01-31T09:00:00Z)", name, clipText(s, 40))
	}
	return t.UTC(), nil
}

// intParam reads a positive integer in [1, hi], def when absent.
func intParam(v url.Values, name string, def, hi int) (int, error) {
	s := strings.TrimSpace(v.Get(name))
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > hi {
		return 0, badf("parameter %q is %q: use a whole number from 1 to %d", name, clipText(s, 20), hi)
	}
	return n, nil
}

// meetingParams are the library's query parameters.
var meetingParams = []string{"customer", "from", "to", "participant", "q", "page", "page_size", "cursor"}

// meetingFilter reads the library's filters and paging from a query.
func meetingFilter(v url.Values) (answers.MeetingFilter, error) {
	var f answers.MeetingFilter
	var err error
	if f.CustomerID, err = textParam(v, "customer"); err != nil {
		return f, err
	}
	if f.Participant, err = textParam(v, "participant"); err != nil {
		return f, err
	}
	if f.Text, err = textParam(v, "q"); err != nil {
		return f, err
	}
	if f.From, err = timeParam(v, "from", false); err != nil {
		return f, err
	}
	if f.To, err = timeParam(v, "to", true); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, badf("from (%s) is not before to (%s)", v.Get("from"), v.Get("to"))
	}
	if f.Page, err = intParam(v, "page", 1, maxPage); err != nil {
		return f, err
	}
	if f.PageSize, err = intParam(v, "page_size", answers.DefaultPageSize, maxPageSize); err != nil {
		return f, err
	}
	if c := v.Get("cursor"); c != "" {
		if v.Get("page") != "" {
			return f, badf("give either page or cursor, not both")
		}
		if f.After, err = answers.ParseCursor(c); err != nil {
			return f, answers.Badf("%s", err.Error())
		}
	}
	return f, nil
}

// clipText shortens s for an error message.
func clipText(s string, n int) string {
	r := []rune(strings.ToValidUTF8(s, "\uFFFD"))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n]) + "…"
}
