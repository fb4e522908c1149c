// Package clienv is the command line's environment: the token filter on
// its output, the logger, the terminal, the stop signals, the order of its
// arguments, usage errors and the warehouse's environment variables.
package clienv

import (
	"bytes"
	"io"
	"sync"
)

// Redactor removes the API token from everything written through it, as a
// last line of defence: the token is never logged on purpose.
type Redactor struct {
	mu     sync.Mutex
	w      io.Writer
	secret []byte
}

// NewRedactor filters what is written to w.
func NewRedactor(w io.Writer) *Redactor { return &Redactor{w: w} }

// TokenWitness is a writer that wants to know what the redactor did: the
// tests, which read the output as the commands wrote it and count the
// tokens replaced (a token the filter caught is still a leak). The redactor
// hands it the filtered bytes (out), the bytes it was given (in) and the
// number of replacements, instead of calling Write.
type TokenWitness interface {
	WriteRedacted(out, in []byte, replaced int) (int, error)
}

// SetSecret arms the filter with the token (shorter than 4 bytes: ignored).
func (r *Redactor) SetSecret(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(s) >= 4 {
		r.secret = []byte(s)
	}
}

func (r *Redactor) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out, n := p, 0
	if len(r.secret) > 0 {
		if n = bytes.Count(p, r.secret); n > 0 {
			out = bytes.ReplaceAll(p, r.secret, []byte("[redacted]"))
		}
	}
	var err error
	if tw, ok := r.w.(TokenWitness); ok {
		_, err = tw.WriteRedacted(out, p, n)
	} else {
		_, err = r.w.Write(out)
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// Filter returns p without the token (for files written beside the
// streams: the Dagster Pipes messages, the summary file).
func (r *Redactor) Filter(p []byte) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.secret) == 0 {
		return p
	}
	return bytes.ReplaceAll(p, r.secret, []byte("[redacted]"))
}
