package chorustest

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest/tenantdata"
)

const (
	ctJSON    = "application/json"
	ctJSONAPI = "application/vnd.api+json"
)

// route is what a request asks for.
type route int

const (
	routeNone route = iota
	routeList
	routeDetail
	routeUsers
	routeTeams
	routeQualification
	routeScorecards
)

func classify(r *http.Request) (route, string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return routeNone, ""
	}
	p := strings.TrimSuffix(r.URL.Path, "/")
	switch p {
	case "/v3/engagements":
		return routeList, ""
	case "/v3/users":
		return routeUsers, ""
	case "/api/v1/teams":
		return routeTeams, ""
	case "/api/v1/scorecards":
		return routeScorecards, ""
	}
	if id, ok := strings.CutPrefix(p, "/api/v1/conversations/"); ok && id != "" && !strings.Contains(id, "/") {
		return routeDetail, id
	}
	if id, ok := strings.CutPrefix(p, "/api/v1/sales-qualifications/"); ok && id != "" && !strings.Contains(id, "/") {
		return routeQualification, id
	}
	return routeNone, ""
}

// fault is what the fault generator decided for one request.
type fault struct {
	status     int    // injected error status, 0 for none
	retryAfter string // Retry-After header of an injected 429
	truncate   int    // 0 none, 1 cut on the wire, 2 JSON cut off
	slow, dup  bool
}

// drawFault draws the faults of one authorised request. It always consumes
// three numbers, so a given request order always sees the same faults.
func (t *Tenant) drawFault() fault {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.faults
	u, s, d := t.faultRand.Float64(), t.faultRand.Float64(), t.faultRand.Float64()
	out := fault{slow: s < f.Slow, dup: d < f.DuplicateAcrossPages}
	if u -= f.Status429; u < 0 {
		out.status, out.retryAfter = 429, "1"
	} else if u -= f.Status429NoRetry; u < 0 {
		out.status = 429
	} else if u -= f.Status429HTTPDate; u < 0 {
		out.status, out.retryAfter = 429, time.Now().Add(1500*time.Millisecond).UTC().Format(http.TimeFormat)
	} else if u -= f.Status500; u < 0 {
		out.status = 500
	} else if u -= f.Status504; u < 0 {
		out.status = 504
	} else if u -= f.Truncate; u < 0 {
		out.truncate = 2
		if t.truncWire {
			out.truncate = 1
		}
		t.truncWire = !t.truncWire
	}
	return out
}

// takeToken takes one token from the rate-limit bucket, or says how long
// until one is available.
func (t *Tenant) takeToken() (bool, time.Duration) {
	rate := t.opts.RateLimit
	if rate <= 0 {
		return true, 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	burst := max(1, math.Floor(rate))
	now := time.Now()
	if t.lastFill.IsZero() {
		t.tokens = burst
	} else {
		t.tokens = min(burst, t.tokens+now.Sub(t.lastFill).Seconds()*rate)
	}
	t.lastFill = now
	if t.tokens >= 1 {
		t.tokens--
		return true, 0
	}
	return false, time.Duration((1 - t.tokens) / rate * float64(time.Second))
}

// sleep waits d or until ctx ends; it reports whether the wait completed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// ServeHTTP answers one request: latency, auth, fault draw, slowness, rate
// limit, injected status faults, then the endpoint itself.
func (t *Tenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t.count(func(s *Stats) { s.Requests++ })
	if !sleep(r.Context(), t.opts.Latency) {
		return
	}
	if !t.authorised(r) {
		t.count(func(s *Stats) { s.Unauthorized++ })
		t.writeError(w, http.StatusUnauthorized, "ZI0001", "Unauthorized", "Invalid or missing API token", "")
		return
	}
	rt, id := classify(r)
	t.count(func(s *Stats) {
		switch rt {
		case routeList:
			s.ListRequests++
		case routeDetail:
			s.DetailRequests++
			s.DetailByID[id]++
		case routeUsers:
			s.UserRequests++
		case routeTeams:
			s.TeamRequests++
		case routeQualification:
			s.QualificationRequests++
		case routeScorecards:
			s.ScorecardRequests++
		}
	})
	f := t.drawFault()
	if f.slow {
		t.mu.Lock()
		d := t.faults.SlowDelay
		t.mu.Unlock()
		if !sleep(r.Context(), d) {
			return
		}
	}
	if ok, wait := t.takeToken(); !ok {
		t.count(func(s *Stats) { s.RateLimited++ })
		secs := strconv.Itoa(max(1, int(math.Ceil(wait.Seconds()))))
		t.writeError(w, http.StatusTooManyRequests, "ZI0029", "Too Many Requests", "Rate limit exceeded", secs)
		return
	}
	switch f.status {
	case 429:
		t.writeError(w, 429, "ZI0029", "Too Many Requests", "Rate limit exceeded", f.retryAfter)
		return
	case 500:
		t.writeError(w, 500, "ZI0500", "Internal Server Error", "Something went wrong", "")
		return
	case 504:
		t.writeError(w, 504, "ZI0504", "Gateway Timeout", "The request took too long; narrow the date range", "")
		return
	}

	var status int
	var ctype string
	var body []byte
	switch rt {
	case routeList:
		status, body = t.list(r, f.dup)
		ctype = ctJSON
	case routeDetail:
		status, body = t.detail(r, id)
		ctype = ctJSONAPI
	case routeUsers:
		status, ctype, body = 200, ctJSON, t.usersJSON()
	case routeTeams:
		status, ctype, body = 200, ctJSONAPI, t.teamsJSON()
	case routeQualification:
		status, body = t.qualification(id, t.Now())
		ctype = ctJSONAPI
	case routeScorecards:
		status, body = t.scorecardsList(r)
		ctype = ctJSONAPI
	default:
		t.writeError(w, http.StatusNotFound, "ZI0004", "Not Found", "No such endpoint", "")
		return
	}
	if status != http.StatusOK {
		ctype = ctJSONAPI
	}
	t.write(w, status, ctype, body, f.truncate)
}

// authorised accepts exactly "<token>" or "Bearer <token>".
func (t *Tenant) authorised(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	return h == t.opts.Token || h == "Bearer "+t.opts.Token
}

// write sends a response; truncate 1 cuts the body in half on the wire
// (Content-Length of the full body, so the server closes the connection) and
// 2 sends a complete response whose JSON is cut in half.
func (t *Tenant) write(w http.ResponseWriter, status int, ctype string, body []byte, truncate int) {
	t.count(func(s *Stats) { s.Status[status]++ })
	full := len(body)
	if status == http.StatusOK && truncate != 0 {
		body = body[:full/2]
		if truncate == 2 {
			full = len(body)
		}
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(full))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeError sends a JSON:API error; retryAfter sets Retry-After when not "".
func (t *Tenant) writeError(w http.ResponseWriter, status int, code, title, detail, retryAfter string) {
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	t.write(w, status, ctJSONAPI, t.errorBody(status, code, title, detail), 0)
}

func (t *Tenant) errorBody(status int, code, title, detail string) []byte {
	t.mu.Lock()
	t.errSeq++
	n := t.errSeq
	t.mu.Unlock()
	var b bytes.Buffer
	writeJSON(&b, map[string]any{"errors": []map[string]string{{
		"id": fmt.Sprintf("%08X-ERR", n), "code": code, "status": strconv.Itoa(status), "title": title, "detail": detail,
	}}})
	b.WriteByte('\n')
	return b.Bytes()
}

// detail answers GET /api/v1/conversations/{id}: 404 for unknown ids,
// engagements not yet started, non-call engagements and NotFound calls.
func (t *Tenant) detail(r *http.Request, id string) (int, []byte) {
	now := t.Now()
	e, ok := t.lookup(id)
	if !ok || !e.IsCall() || e.NotFound || e.Epoch > now.Unix() {
		return http.StatusNotFound, t.errorBody(404, "ZI0004", "Not Found", "Conversation not found or not permitted")
	}
	var fields map[string]bool
	if fs := r.URL.Query().Get("fields"); fs != "" {
		fields = map[string]bool{}
		for _, f := range strings.Split(fs, ",") {
			fields[strings.TrimSpace(f)] = true
		}
	}
	return http.StatusOK, t.conversation(e, now, fields)
}

// listQuery is a parsed /v3/engagements request.
type listQuery struct {
	min, max     int64 // inclusive epoch bounds
	hasKey       bool
	keyEpoch     int64
	keyID        string
	types, ids   map[string]bool
	withTrackers bool
}

func parseList(r *http.Request, now int64) (listQuery, error) {
	v := r.URL.Query()
	q := listQuery{min: math.MinInt64, max: now}
	if s := v.Get("min_date"); s != "" {
		t, err := parseDate(s)
		if err != nil {
			return q, fmt.Errorf("min_date %q: %w", s, err)
		}
		q.min = t
	}
	if s := v.Get("max_date"); s != "" {
		t, err := parseDate(s)
		if err != nil {
			return q, fmt.Errorf("max_date %q: %w", s, err)
		}
		q.max = min(q.max, t)
	}
	if s := v.Get("continuation_key"); s != "" {
		ep, id, ok := strings.Cut(s, " ")
		f, err := strconv.ParseFloat(ep, 64)
		if !ok || err != nil || id == "" {
			return q, fmt.Errorf("continuation_key %q is not valid", s)
		}
		q.hasKey, q.keyEpoch, q.keyID = true, int64(f), id
	}
	q.types = commaSet(v.Get("engagement_type"))
	q.ids = commaSet(v.Get("engagement_id"))
	q.withTrackers, _ = strconv.ParseBool(v.Get("with_trackers"))
	return q, nil
}

func commaSet(s string) map[string]bool {
	if s == "" {
		return nil
	}
	m := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			m[p] = true
		}
	}
	return m
}

// parseDate accepts ISO-8601 (with or without zone, or a bare date) or epoch
// seconds.
func parseDate(s string) (int64, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return int64(math.Floor(f)), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Unix(), nil
		}
	}
	return 0, fmt.Errorf("not an ISO-8601 date or epoch seconds")
}

func (q listQuery) match(e *tenantdata.Engagement) bool {
	return e.Epoch >= q.min && e.Epoch <= q.max &&
		(q.types == nil || q.types[e.Type]) && (q.ids == nil || q.ids[e.ID])
}

func continuationKey(e *tenantdata.Engagement) string { return fmt.Sprintf("%d.0 %s", e.Epoch, e.ID) }

// list answers GET /v3/engagements: newest first, keyset-paged on
// (date_time, id) descending, only engagements started by the tenant clock.
func (t *Tenant) list(r *http.Request, dup bool) (int, []byte) {
	t.data.RLock()
	defer t.data.RUnlock()
	now := t.Now()
	q, err := parseList(r, now.Unix())
	if err != nil {
		return http.StatusBadRequest, t.errorBody(400, "ZI0400", "Bad Request", err.Error())
	}
	// hi: first index (ascending order) that is not a candidate.
	hi := sort.Search(len(t.all), func(i int) bool { return t.all[i].Epoch > q.max })
	if q.hasKey {
		hi = min(hi, sort.Search(len(t.all), func(i int) bool {
			e := t.all[i]
			return cmp.Or(cmp.Compare(e.Epoch, q.keyEpoch), strings.Compare(e.ID, q.keyID)) >= 0
		}))
	}
	var page []*tenantdata.Engagement
	for i := hi - 1; i >= 0 && t.all[i].Epoch >= q.min && len(page) <= t.opts.PageSize; i-- {
		if q.match(t.all[i]) {
			page = append(page, t.all[i])
		}
	}
	more := len(page) > t.opts.PageSize
	if more {
		page = page[:t.opts.PageSize]
	}
	// The duplicate fault repeats the last engagement of the previous page
	// (the one the key names); an otherwise empty page stays empty, so that a
	// listing always ends.
	if dup && q.hasKey && len(page) > 0 {
		if prev, ok := t.byID[q.keyID]; ok && prev.Epoch == q.keyEpoch && q.match(prev) {
			page = append([]*tenantdata.Engagement{prev}, page...)
		}
	}

	// The continuation key: the last engagement while there is more; at the
	// end one of the observed variants, chosen deterministically.
	var key string // JSON value, "" for absent
	switch {
	case more:
		key = quote(continuationKey(page[len(page)-1]))
	case len(page) == 0 && q.hasKey:
		key = quote(r.URL.Query().Get("continuation_key")) // the extra empty page keeps a key
	default:
		last := "empty"
		if len(page) > 0 {
			last = page[len(page)-1].ID
		}
		switch t.endVariant(last) {
		case 0:
			key = "null"
		case 1:
			key = ""
		case 2:
			key = `""`
		case 3:
			if len(page) > 0 {
				key = quote(continuationKey(page[len(page)-1])) // one more, empty page follows
			} else {
				key = "null"
			}
		default:
			key = `" "` // what live tenants send
		}
	}

	var b bytes.Buffer
	b.WriteByte('{')
	if key != "" {
		b.WriteString(`"continuation_key":` + key + ",")
	}
	b.WriteString(`"engagements":[`)
	for i, e := range page {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSON(&b, t.engagementJSON(e, now, q.withTrackers))
	}
	b.WriteString("]}\n")
	return http.StatusOK, b.Bytes()
}

// endVariant picks how the last page of a listing ends: 0 key null, 1 key
// absent, 2 key "", 3 key present followed by an empty page, 4 and 5 a
// single space (the live behaviour, so the most frequent).
func (t *Tenant) endVariant(lastID string) int {
	h := fnv.New32a()
	fmt.Fprintf(h, "%d/end/%s", t.opts.Seed, lastID)
	return int(h.Sum32() % 6)
}

// quote renders s as a JSON string.
func quote(s string) string {
	var b bytes.Buffer
	writeJSON(&b, s)
	return b.String()
}
