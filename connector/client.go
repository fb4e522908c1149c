package connector

import (
	"context"
	stdjson "encoding/json"
	"errors"
	"fmt"
	json "github.com/goccy/go-json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Client talks HTTP to a Chorus tenant: authentication, a shared token-bucket
// rate budget, per-request timeouts and retries with exponential backoff and
// jitter that honour Retry-After. It knows nothing of the API's shapes; the
// adapter does.
type Client struct {
	base       string
	token      Secret
	scheme     string
	http       *http.Client
	limiter    *rate.Limiter
	timeout    time.Duration
	maxRetries int
	backoff    time.Duration // first backoff; doubles per attempt
	maxBackoff time.Duration
	maxBody    int64
	log        *slog.Logger
	Stats      ClientStats
}

// ClientStats counts what the client did; safe for concurrent use.
type ClientStats struct {
	Requests  atomic.Int64 // HTTP requests sent, retries included
	Retries   atomic.Int64
	Throttled atomic.Int64 // 429 answers
	Failures  atomic.Int64 // 5xx, network errors and truncated bodies
}

// ClientOptions tune a Client; zero values take the config's settings.
type ClientOptions struct {
	HTTPClient *http.Client
	Backoff    time.Duration // default 500ms
	MaxBackoff time.Duration // default 30s
	Logger     *slog.Logger
}

// NewClient builds a client from a validated config.
func NewClient(cfg *Config, opt ClientOptions) *Client {
	hc := opt.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	c := &Client{
		base:       cfg.BaseURL,
		token:      cfg.APIToken,
		scheme:     cfg.AuthScheme,
		http:       hc,
		limiter:    rate.NewLimiter(rate.Limit(cfg.RequestsPerSecond), 1),
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
	return fmt.Sprintf("chorus rejected the API token (HTTP %d%s on %s): check api_token / %s and auth_scheme (raw or bearer)", e.Status, code, e.Path, TokenEnv)
}

// NotFoundError is a 404: the object does not exist or the token's user may
// not see it (Chorus answers 404 for private recordings).
type NotFoundError struct{ Path string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("chorus: %s not found (deleted, private, or not visible to the token's user)", e.Path)
}

// GatewayTimeoutError is a 504 on a request that asked not to retry it, so
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

// request describes one GET.
type request struct {
	path        string
	query       url.Values
	accept      string
	noRetry504  bool
	description string
}

// getJSON performs the request with retries and decodes the body into out.
func (c *Client) getJSON(ctx context.Context, r request, out any) error {
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
		c.log.Debug("retrying", "path", r.path, "attempt", attempt+1, "wait", wait.String(), "reason", last.Error())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (while waiting to retry: %v)", ctx.Err(), last)
		case <-t.C:
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

func (c *Client) attempt(ctx context.Context, r request, out any) (time.Duration, error) {
	if err := c.limiter.Wait(ctx); err != nil {
		return 0, fmt.Errorf("rate budget: %w", err)
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, fmt.Errorf("build request for %s: %w", r.path, err)
	}
	if c.scheme == "bearer" {
		req.Header.Set("Authorization", "Bearer "+string(c.token))
	} else {
		req.Header.Set("Authorization", string(c.token))
	}
	req.Header.Set("Accept", r.accept)
	req.Header.Set("User-Agent", "chorus-elt")
	c.Stats.Requests.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		c.Stats.Failures.Add(1)
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, &retryable{fmt.Errorf("GET %s: %s", r.path, c.redact(scrubURLError(err)))}
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if readErr == nil && int64(len(body)) > c.maxBody {
		return 0, &APIError{Status: resp.StatusCode, Path: r.path, Detail: fmt.Sprintf("response larger than %d bytes", c.maxBody)}
	}

	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		if readErr != nil {
			c.Stats.Failures.Add(1)
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return 0, &retryable{fmt.Errorf("GET %s: truncated response body (%d bytes read): %s", r.path, len(body), c.redact(scrubURLError(readErr)))}
		}
		if err := decodeBody(body, out); err != nil {
			c.Stats.Failures.Add(1)
			return 0, &retryable{fmt.Errorf("GET %s: response is not the JSON expected (%d bytes, starts %q): %v", r.path, len(body), preview(c.redactBytes(body)), c.redact(err.Error()))}
		}
		return 0, nil
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return 0, &AuthError{Status: code, Code: c.redact(apiErrorCode(body)), Path: r.path}
	case code == http.StatusNotFound:
		return 0, &NotFoundError{Path: r.path}
	case code == http.StatusTooManyRequests:
		c.Stats.Throttled.Add(1)
		return retryAfter(resp.Header.Get("Retry-After"), time.Now()), &retryable{fmt.Errorf("GET %s: HTTP 429 too many requests", r.path)}
	case code == http.StatusGatewayTimeout && r.noRetry504:
		c.Stats.Failures.Add(1)
		return 0, &GatewayTimeoutError{Path: r.path}
	case code >= 500:
		c.Stats.Failures.Add(1)
		return retryAfter(resp.Header.Get("Retry-After"), time.Now()), &retryable{fmt.Errorf("GET %s: HTTP %d %s", r.path, code, c.redact(apiErrorDetail(c.redactBytes(body))))}
	default:
		return 0, &APIError{Status: code, Path: r.path, Detail: c.redact(apiErrorDetail(c.redactBytes(body)))}
	}
}

// redact removes the token from text built from a response or a transport
// error: a hostile or broken server may echo the Authorization header back,
// and error messages reach stdout in Airbyte TRACE and CONNECTION_STATUS
// messages, which the CLI's stderr filter does not see.
func (c *Client) redact(s string) string {
	if len(c.token) < 4 {
		return s
	}
	return strings.ReplaceAll(s, string(c.token), "[redacted]")
}

// redactBytes is redact for a body about to be previewed: redacting before
// the preview is cut keeps a token at the cut from leaking in part.
func (c *Client) redactBytes(b []byte) []byte { return []byte(c.redact(string(b))) }

// String describes the client without its token (fmt cannot see through
// the unexported field to Secret's own redaction).
func (c *Client) String() string {
	return fmt.Sprintf("chorus client for %s (%s auth)", c.base, c.scheme)
}

// decodeBody decodes a response body. The body is first validated by
// encoding/json (goccy/go-json does not validate the values it skips, so a
// truncated or corrupt body could otherwise pass), then decoded by goccy,
// several times faster on transcripts; a panic inside it is turned into an
// ordinary decoding error.
func decodeBody(body []byte, out any) (err error) {
	if !stdjson.Valid(body) {
		var v any
		return fmt.Errorf("malformed JSON: %v", stdjson.Unmarshal(body, &v))
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
	return fmt.Sprintf("(body starts %q)", preview(body))
}

func preview(b []byte) string {
	const n = 80
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

// scrubURLError drops the URL from net/http errors; paths are reported by
// the caller, and nothing of the request headers is ever included.
func scrubURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
