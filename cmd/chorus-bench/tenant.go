package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
)

const benchToken = "bench-token"

// served is a simulated tenant served by this process, with the moments of
// its first request and last response.
type served struct {
	URL    string
	Tenant *chorustest.Tenant
	srv    *http.Server
	first  atomic.Int64 // unix nanos
	last   atomic.Int64
	teams  atomic.Int64
	// this process's CPU time (nanoseconds) at the first request and at
	// the last teams listing: the tenant's share of the machine during the
	// extract
	cpuFirst, cpuTeams atomic.Int64

	// tee, when set, receives the body of every successful conversation
	// detail, one JSON document per line (the baseline's input).
	teeMu    sync.Mutex
	tee      io.Writer
	teeBytes int64
	teeDocs  int64
}

func serve(opts chorustest.Options, tee io.Writer) (*served, error) {
	opts.Token = benchToken
	s := &served{Tenant: chorustest.New(opts), tee: tee}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.URL = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln) //nolint:errcheck // ends with Close
	return s, nil
}

func (s *served) Close() { s.srv.Close() }

// Span is the time from the first request received to the last response
// sent.
func (s *served) Span() time.Duration {
	f, l := s.first.Load(), s.last.Load()
	if f == 0 || l < f {
		return 0
	}
	return time.Duration(l - f)
}

func (s *served) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.first.CompareAndSwap(0, time.Now().UnixNano()) {
		s.cpuFirst.Store(int64(selfCPU()))
	}
	if s.tee != nil && strings.HasPrefix(r.URL.Path, "/api/v1/conversations/") {
		cw := &captureWriter{ResponseWriter: w, status: http.StatusOK}
		s.Tenant.ServeHTTP(cw, r)
		if cw.status == http.StatusOK {
			body := bytes.TrimRight(cw.body.Bytes(), "\n")
			s.teeMu.Lock()
			s.tee.Write(body)         //nolint:errcheck // checked on close
			s.tee.Write([]byte{'\n'}) //nolint:errcheck
			s.teeBytes += int64(len(body) + 1)
			s.teeDocs++
			s.teeMu.Unlock()
		}
	} else {
		s.Tenant.ServeHTTP(w, r)
	}
	now := time.Now().UnixNano()
	s.last.Store(now)
	if r.URL.Path == "/api/v1/teams" {
		s.teams.Store(now)
		s.cpuTeams.Store(int64(selfCPU()))
	}
}

// TenantCPU is the CPU time this process spent from the first request to
// the last teams listing: serving the tenant (and the NDJSON copy).
func (s *served) TenantCPU() time.Duration {
	return time.Duration(s.cpuTeams.Load() - s.cpuFirst.Load())
}

// ExtractEnd is when the last teams listing was answered: the extract's
// last request (the directory streams follow the calls).
func (s *served) ExtractEnd() time.Time { return time.Unix(0, s.teams.Load()) }

type captureWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *captureWriter) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *captureWriter) Write(p []byte) (int, error) {
	c.body.Write(p)
	return c.ResponseWriter.Write(p)
}

// maxRSSKB is a finished process's peak resident set, in KiB.
func maxRSSKB(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss
	}
	return 0
}
