// Package client talks HTTP to a Chorus tenant: authentication, a shared
// adaptive rate budget, per-Request timeouts, retries with backoff that
// honour Retry-After, body validation, and redaction of the token in every
// error. It knows nothing of the API's shapes; package chorusapi does.
package client

import (
	"context"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	json "github.com/goccy/go-json"

	"github.com/chorus-elt/chorus-elt/connector/config"
)

// Client talks HTTP to a Chorus tenant: authentication, a shared rate budget
// that adapts to the tenant's 429s, per-Request timeouts and retries with
// exponential backoff and jitter that honour Retry-After. It knows nothing of
// the API's shapes; the adapter does.
type Client struct {
	base string
	// token is behind a pointer: fmt, printing a Client field by field
	// (a Client value, or a verb it gives up on), shows a pointer field as
	// an address, where it would show a string field raw (it cannot call
	// the redacting methods of an unexported field).
	token      *config.Secret
	scheme     string
	http       *http.Client
	budget     *budget
	timeout    time.Duration
	maxRetries int
	backoff    time.Duration // first backoff; doubles per attempt
	maxBackoff time.Duration
	maxBody    int64
	log        *slog.Logger
	Stats      Stats

	busyMu    sync.Mutex
	busy      int // GetJSON calls under way
	busySince time.Time
}

// Stats counts what the client did; safe for concurrent use.
type Stats struct {
	Requests  atomic.Int64 // HTTP requests sent, retries included
	Retries   atomic.Int64
	Throttled atomic.Int64 // 429 answers
	Failures  atomic.Int64 // 5xx, network errors and truncated bodies
	Cuts      atomic.Int64 // times the adaptive budget lowered its limit
	// Active is the time, in nanoseconds, during which at least one Request
	// was waiting for the budget, in flight or waiting to retry.
	Active atomic.Int64

	limit, minLimit, meanLimit atomic.Uint64 // float64 bits, requests/second
}

// Limit is the budget's limit now, in requests/second.
func (s *Stats) Limit() float64 { return math.Float64frombits(s.limit.Load()) }

// MinLimit is the lowest limit the budget has had.
func (s *Stats) MinLimit() float64 { return math.Float64frombits(s.minLimit.Load()) }

// MeanLimit is the limit's mean over time since the first cut (the limit
// itself when there was none).
func (s *Stats) MeanLimit() float64 { return math.Float64frombits(s.meanLimit.Load()) }

// EffectiveRate is the requests the tenant accepted (429s excluded) per
// second of Active time; 0 before any.
func (s *Stats) EffectiveRate() float64 {
	active := time.Duration(s.Active.Load()).Seconds()
	if active <= 0 {
		return 0
	}
	return float64(s.Requests.Load()-s.Throttled.Load()) / active
}

// Options tune a Client; zero values take the config's settings.
type Options struct {
	HTTPClient *http.Client
	Backoff    time.Duration // default 500ms
	MaxBackoff time.Duration // default 30s
	Logger     *slog.Logger
}

// New builds a client from a validated config.
func New(cfg *config.Config, opt Options) *Client {
	hc := opt.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	token := cfg.APIToken
	c := &Client{
		base:       cfg.BaseURL,
		token:      &token,
		scheme:     cfg.AuthScheme,
		http:       hc,
		timeout:    cfg.Timeout.D,
		maxRetries: cfg.MaxRetries,
		backoff:    opt.Backoff,
		maxBackoff: opt.MaxBackoff,
		maxBody:    int64(cfg.MaxTranscriptByte)*4 + 64<<20,
		log:        opt.Logger,
	}
	if c.backoff <= 0 {
		c.backoff = 500 * time.Millisecond
	}
	if c.maxBackoff <= 0 {
		c.maxBackoff = 30 * time.Second
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.budget = newBudget(cfg.RequestsPerSecond, &c.Stats)
	return c
}

// AuthError is a 401 or 403: the token is wrong, expired or lacks access.
type AuthError struct {
	Status int
	Code   string
	Path   string
}

func (e *AuthError) Error() string {
	code := ""
	if e.Code != "" {
		code = " " + e.Code
	}
	return fmt.Sprintf("chorus rejected the API token (HTTP %d%s on %s): check api_token / %s and auth_scheme (raw or bearer)", e.Status, code, e.Path, config.TokenEnv)
}

// NotFoundError is a 404: the object does not exist or the token's user may
// not see it (Chorus answers 404 for private recordings).
type NotFoundError struct{ Path string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("chorus: %s not found (deleted, private, or not visible to the token's user)", e.Path)
}

// GatewayTimeoutError is a 504 on a Request that asked not to retry it, so
// that the caller can narrow its query instead.
type GatewayTimeoutError struct{ Path string }

func (e *GatewayTimeoutError) Error() string {
	return fmt.Sprintf("chorus: 504 gateway timeout on %s", e.Path)
}

// APIError is any other answer the connector cannot use.
type APIError struct {
	Status int
	Path   string
	Detail string
}

func (e *APIError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("chorus: %s: %s", e.Path, e.Detail)
	}
	return fmt.Sprintf("chorus: HTTP %d on %s: %s", e.Status, e.Path, e.Detail)
}

// Request describes one GET.
type Request struct {
	Path       string
	Query      url.Values
	Accept     string
	NoRetry504 bool // a 504 is returned at once (*GatewayTimeoutError), for the caller to narrow a listing
}

// GetJSON performs the request with retries and decodes the body into out.
func (c *Client) GetJSON(ctx context.Context, r Request, out any) error {
	c.enter()
	defer c.leave()
	var last error
	for attempt := 0; ; attempt++ {
		wait, err := c.attempt(ctx, r, out)
		if err == nil {
			return nil
		}
		var retry *retryable
		if !errors.As(err, &retry) {
			return err
		}
		last = retry.err
		if attempt >= c.maxRetries {
			return fmt.Errorf("%w (gave up after %d attempts)", last, attempt+1)
		}
		if wait <= 0 {
			wait = c.backoffFor(attempt)
		}
		c.Stats.Retries.Add(1)
		c.log.Debug("retrying", "path", r.Path, "attempt", attempt+1, "wait", wait.String(), "reason", last.Error())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (while waiting to retry: %v)", ctx.Err(), last) //nolint:errorlint // the run was stopped: that is the error; the last failure is only context
		case <-t.C:
		}
	}
}

// enter and leave bracket a GetJSON call, for Stats.Active.
func (c *Client) enter() {
	c.busyMu.Lock()
	if c.busy == 0 {
		c.busySince = time.Now()
	}
	c.busy++
	c.busyMu.Unlock()
}

func (c *Client) leave() {
	c.busyMu.Lock()
	c.busy--
	if c.busy == 0 {
		c.Stats.Active.Add(int64(time.Since(c.busySince)))
	}
	c.busyMu.Unlock()
}

// wait takes a slot of the rate budget, on the real clock; it returns the
// budget's generation the Request is sent under.
func (c *Client) wait(ctx context.Context) (uint64, error) {
	for {
		at, gen, reset := c.budget.reserve(time.Now())
		d := time.Until(at)
		if d <= 0 {
			return gen, ctx.Err()
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
			return gen, nil
		case <-reset:
			t.Stop() // the limit fell: take a slot at the new one
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		}
	}
}

// retryable marks an error worth another attempt.
type retryable struct{ err error }

func (r *retryable) Error() string { return r.err.Error() }

func (c *Client) backoffFor(attempt int) time.Duration {
	d := c.backoff << min(attempt, 20)
	if d > c.maxBackoff || d <= 0 {
		d = c.maxBackoff
	}
	// Full jitter over the upper half keeps retries spread out but bounded.
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func (c *Client) attempt(ctx context.Context, r Request, out any) (time.Duration, error) {
	gen, err := c.wait(ctx)
	if err != nil {
		return 0, fmt.Errorf("rate budget: %w", err)
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := c.base + r.Path
	if len(r.Query) > 0 {
		u += "?" + r.Query.Encode()
	}
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, fmt.Errorf("build Request for %s: %w", r.Path, err)
	}
	if c.scheme == "bearer" {
		req.Header.Set("Authorization", "Bearer "+string(*c.token))
	} else {
		req.Header.Set("Authorization", string(*c.token))
	}
	req.Header.Set("Accept", r.Accept)
	req.Header.Set("User-Agent", "chorus-elt")
	c.Stats.Requests.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		c.Stats.Failures.Add(1)
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, &retryable{fmt.Errorf("GET %s: %s", r.Path, c.Redact(scrubURLError(err)))}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		c.budget.onSuccess(time.Now())
	}
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if readErr == nil && int64(len(body)) > c.maxBody {
		return 0, &APIError{Status: resp.StatusCode, Path: r.Path, Detail: fmt.Sprintf("response larger than %d bytes", c.maxBody)}
	}

	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		if readErr != nil {
			c.Stats.Failures.Add(1)
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return 0, &retryable{fmt.Errorf("GET %s: truncated response body (%d bytes read): %s", r.Path, len(body), c.Redact(scrubURLError(readErr)))}
		}
		if err := decodeBody(body, out); err != nil {
			c.Stats.Failures.Add(1)
			return 0, &retryable{fmt.Errorf("GET %s: response is not the JSON expected (%d bytes, starts %q): %v", r.Path, len(body), Preview(c.redactBytes(body)), c.Redact(err.Error()))}
		}
		return 0, nil
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return 0, &AuthError{Status: code, Code: c.Redact(apiErrorCode(body)), Path: r.Path}
	case code == http.StatusNotFound:
		return 0, &NotFoundError{Path: r.Path}
	case code == http.StatusTooManyRequests:
		c.Stats.Throttled.Add(1)
		now := time.Now()
		wait := retryAfter(resp.Header.Get("Retry-After"), now)
		if c.budget.onThrottle(now, gen, wait) {
			lvl := slog.LevelDebug
			if c.Stats.Cuts.Load() == 1 {
				lvl = slog.LevelInfo // the first: the tenant's limit is below requests_per_second
			}
			c.log.Log(ctx, lvl, "429: rate budget lowered", "path", r.Path, "requests_per_second", fmt.Sprintf("%.2f", c.Stats.Limit()))
		}
		return wait, &retryable{fmt.Errorf("GET %s: HTTP 429 too many requests", r.Path)}
	case code == http.StatusGatewayTimeout && r.NoRetry504:
		c.Stats.Failures.Add(1)
		return 0, &GatewayTimeoutError{Path: r.Path}
	case code >= 500:
		c.Stats.Failures.Add(1)
		return retryAfter(resp.Header.Get("Retry-After"), time.Now()), &retryable{fmt.Errorf("GET %s: HTTP %d %s", r.Path, code, c.Redact(apiErrorDetail(c.redactBytes(body))))}
	default:
		return 0, &APIError{Status: code, Path: r.Path, Detail: c.Redact(apiErrorDetail(c.redactBytes(body)))}
	}
}

// The adaptive rate budget. Chorus publishes no rate limit, so the budget
// starts at requests_per_second and learns the tenant's limit from its 429s:
//
//   - on a 429 the limit falls to cutFactor × the rate the tenant accepted
//     over the last few seconds (and at least to cutFactor × itself, at most
//     to half of itself), and the next Request waits a full interval at the
//     new limit. A 429 to a Request sent before the last cut does not cut
//     again: one cut per overshoot, however many workers saw it. Nor does a
//     lone 429 within settle successes of the last cut: that cut has not had
//     the time to show whether it was enough, and 429s that have nothing to
//     do with the rate (a faulty tenant's) would otherwise drive the limit
//     down one by one; a second 429 in that span, or two in a row, cut.
//     Two 429s in a row, with no success between them, also hold every
//     Request until the server's Retry-After: the tenant is closed, not
//     merely full.
//   - each success then raises the limit by a fixed step, stepFraction of the
//     limit the cut set (additive: the limit climbs linearly), never above
//     requests_per_second; after probeEvery successes without a 429 the step
//     doubles, so that a limit cut too low, or a tenant that allows more
//     again, recovers in minutes rather than hours.
//
// Against a token bucket this draws a sawtooth on purpose: after a cut the
// limit sits under the tenant's rate and its bucket fills; the limit then
// climbs past the rate until the bucket is empty again and the next 429
// comes. The tenant's tokens are all spent (its bucket goes from empty to
// empty without overflowing), and a cycle is some 40–50 requests, with one
// 429. Random 429s still slow it down, less than they would without the
// settle rule: at 5% of the requests, a budget of 8/s falls to about 5.
const (
	cutFactor    = 0.85
	minKeep      = 0.5   // a cut keeps at least half the limit
	stepFraction = 0.008 // the increase per success, as a fraction of the limit after a cut
	probeEvery   = 50    // successes without a 429 after which the step doubles
	settle       = 25    // successes after a cut during which a lone 429 does not cut
	rateWindow   = 5 * time.Second
	floorRatio   = 0.01 // the limit never falls below requests_per_second ÷ 100
)

// budget paces a client's requests (a token bucket of burst 1, like
// rate.Limiter, as slots reserved one after the other) at a limit that
// adapts to the tenant's 429s. Its methods take the time explicitly, so that
// the control law can be tested, and simulated, on a fake clock; Client.wait
// puts it on the real one.
type budget struct {
	mu    sync.Mutex
	max   float64 // requests_per_second: the first and highest limit
	floor float64
	limit float64
	step  float64 // added to the limit per success
	gen   uint64  // cuts so far; a Request carries the gen it was sent under
	next  time.Time
	reset chan struct{} // closed at each cut or hold: waiters reserve a new slot

	sinceProbe int // successes since the last cut or step doubling
	sinceCut   int // successes since the last cut
	lateCut    int // 429s since the last cut (to requests sent after it)
	inARow     int // 429s since the last success
	hold       time.Time

	started time.Time      // first reservation
	recent  [256]time.Time // the last successes, a ring
	nRecent int            // successes recorded (the ring holds min(nRecent, 256))
	stats   *Stats         // limit figures are published here
	cuts    int64          // number of cuts
	since   time.Time      // first cut
	area    float64        // ∫ limit dt since the first cut
	changed time.Time      // last change of the limit
}

func newBudget(rps float64, stats *Stats) *budget {
	b := &budget{max: rps, floor: rps * floorRatio, limit: rps, step: rps * stepFraction, reset: make(chan struct{}), stats: stats}
	if stats == nil {
		b.stats = &Stats{}
	}
	b.publish()
	b.stats.minLimit.Store(math.Float64bits(rps))
	return b
}

// reserve takes the next Request slot: the Request may start at the time
// returned. It is sent under gen; a close of reset means the limit fell (or
// a hold began) before the slot came: the slot is to be given up and a new
// one reserved.
func (b *budget) reserve(now time.Time) (at time.Time, gen uint64, reset <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started.IsZero() {
		b.started = now
	}
	at = now
	if b.next.After(at) {
		at = b.next
	}
	if b.hold.After(at) {
		at = b.hold
	}
	b.next = at.Add(interval(b.limit))
	return at, b.gen, b.reset
}

func interval(limit float64) time.Duration {
	return time.Duration(float64(time.Second) / limit)
}

// onSuccess records an answer that was not a 429.
func (b *budget) onSuccess(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.recent[b.nRecent%len(b.recent)] = now
	b.nRecent++
	b.inARow = 0
	b.sinceCut++
	if b.cuts == 0 {
		return // still at requests_per_second
	}
	if b.sinceProbe++; b.sinceProbe >= probeEvery {
		b.sinceProbe = 0
		b.step *= 2
	}
	b.setLimit(now, min(b.max, b.limit+b.step))
}

// onThrottle records a 429 to a Request sent under gen, whose Retry-After
// said wait. It reports whether the limit was cut.
func (b *budget) onThrottle(now time.Time, gen uint64, wait time.Duration) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inARow++
	if b.inARow >= 2 && wait > 0 && now.Add(wait).After(b.hold) {
		b.hold = now.Add(wait)
		b.wake()
	}
	if gen != b.gen {
		return false // sent before the last cut: that cut answered it
	}
	if b.lateCut++; b.cuts > 0 && b.sinceCut < settle && b.lateCut < 2 && b.inARow < 2 {
		return false // a lone 429 while the last cut settles
	}
	obs := b.observed(now)
	nl := cutFactor * b.limit
	if obs > 0 {
		nl = min(nl, cutFactor*obs)
	}
	nl = max(nl, minKeep*b.limit, b.floor)
	if b.cuts == 0 {
		b.since, b.changed = now, now
	}
	b.cuts++
	b.setLimit(now, nl)
	b.step = stepFraction * nl
	b.sinceProbe, b.sinceCut, b.lateCut = 0, 0, 0
	b.gen++
	b.next = now.Add(interval(nl))
	b.wake()
	return true
}

// wake makes the requests waiting for a slot reserve again.
func (b *budget) wake() {
	close(b.reset)
	b.reset = make(chan struct{})
}

// observed is the rate of successes over the last rateWindow (or since the
// first Request, when that is shorter); 0 when too few to tell.
func (b *budget) observed(now time.Time) float64 {
	from := now.Add(-rateWindow)
	if b.started.After(from) {
		from = b.started
	}
	n := 0
	oldest := now
	for i := 0; i < min(b.nRecent, len(b.recent)); i++ {
		if t := b.recent[i]; t.After(from) {
			n++
			if t.Before(oldest) {
				oldest = t
			}
		}
	}
	if n == len(b.recent) {
		from = oldest // the ring is full: it covers less than the window
	}
	span := now.Sub(from).Seconds()
	if n < 2 || span <= 0 {
		return 0
	}
	return float64(n) / span
}

func (b *budget) setLimit(now time.Time, l float64) {
	if b.cuts > 0 {
		b.area += b.limit * now.Sub(b.changed).Seconds()
		b.changed = now
	}
	b.limit = l
	b.publish()
}

// publish stores the limit figures in the stats.
func (b *budget) publish() {
	s := b.stats
	s.limit.Store(math.Float64bits(b.limit))
	if m := math.Float64frombits(s.minLimit.Load()); b.limit < m {
		s.minLimit.Store(math.Float64bits(b.limit))
	}
	mean := b.limit
	if d := b.changed.Sub(b.since).Seconds(); b.cuts > 0 && d > 0 {
		mean = b.area / d
	}
	s.meanLimit.Store(math.Float64bits(mean))
	s.Cuts.Store(b.cuts)
}

// Redact removes the token from text built from a response or a transport
// error: a hostile or broken server may echo the Authorization header back,
// and error messages reach stdout in Airbyte TRACE and CONNECTION_STATUS
// messages, which the CLI's stderr filter does not see.
func (c *Client) Redact(s string) string {
	if len(*c.token) < 4 {
		return s
	}
	return strings.ReplaceAll(s, string(*c.token), "[redacted]")
}

// redactBytes is redact for a body about to be previewed: redacting before
// the preview is cut keeps a token at the cut from leaking in part.
func (c *Client) redactBytes(b []byte) []byte { return []byte(c.Redact(string(b))) }

// String describes the client without its token (fmt cannot see through
// the unexported field to Secret's own redaction).
func (c *Client) String() string {
	return fmt.Sprintf("chorus client for %s (%s auth)", c.base, c.scheme)
}

// Format prints String whatever the verb, %#v included (which would
// otherwise print every field).
func (c *Client) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, fmt.FormatString(f, verb), c.String())
}

// decodeBody decodes a response body. The body is first validated by
// encoding/json (goccy/go-json does not validate the values it skips, so a
// truncated or corrupt body could otherwise pass), then decoded by goccy,
// several times faster on transcripts; a panic inside it is turned into an
// ordinary decoding error.
func decodeBody(body []byte, out any) (err error) {
	if !stdjson.Valid(body) {
		var v any
		return fmt.Errorf("malformed JSON: %w", stdjson.Unmarshal(body, &v))
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed JSON (decoder panic: %v)", r)
		}
	}()
	return json.Unmarshal(body, out)
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
// It returns 0 when absent or unreadable, and caps the wait at 5 minutes.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(h, 64); err == nil {
		d = time.Duration(secs * float64(time.Second))
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	}
	if d <= 0 {
		return 0
	}
	return min(d, 5*time.Minute)
}

// apiErrorCode returns the first JSON:API error code in body, if any.
func apiErrorCode(body []byte) string {
	var e struct {
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Errors) > 0 {
		return e.Errors[0].Code
	}
	return ""
}

// apiErrorDetail summarises an error body: a JSON:API error or a preview.
func apiErrorDetail(body []byte) string {
	var e struct {
		Errors []struct {
			Code   string `json:"code"`
			Title  string `json:"title"`
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Errors) > 0 {
		x := e.Errors[0]
		return strings.TrimSpace(strings.Join([]string{x.Code, x.Title, x.Detail}, " "))
	}
	if len(body) == 0 {
		return "(empty body)"
	}
	return fmt.Sprintf("(body starts %q)", Preview(body))
}

// Preview is the first 80 bytes of a body, for error messages.
func Preview(b []byte) string {
	const n = 80
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

// scrubURLError drops the URL from net/http errors; paths are reported by
// the caller, and nothing of the Request headers is ever included.
func scrubURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
