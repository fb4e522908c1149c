package serve

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/chorus-elt/chorus-elt/cmd/internal/serve/answers"
)

// errorBody is every error answer of the API.
type errorBody struct {
	Error    string   `json:"error"`
	Examples []string `json:"examples,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

// answer writes v, or the error as the status it stands for: 400 for bad
// input, 404 for an unknown id, 504 when the warehouse took too long, 500
// otherwise (its detail is logged, not shown).
func (s *Server) answer(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err == nil {
		writeJSON(w, http.StatusOK, v)
		return
	}
	status, msg := s.errorStatus(r, err)
	writeError(w, status, msg)
}

func (s *Server) errorStatus(r *http.Request, err error) (int, string) {
	var bad *answers.BadRequest
	switch {
	case errors.As(err, &bad):
		return http.StatusBadRequest, bad.Msg
	case errors.Is(err, answers.ErrNotFound):
		return http.StatusNotFound, err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		s.log.Error("warehouse query timed out", "path", r.URL.Path, "err", err)
		return http.StatusGatewayTimeout, "the warehouse did not answer in time"
	default:
		s.log.Error("request failed", "path", r.URL.Path, "err", err)
		return http.StatusInternalServerError, "internal error: the warehouse query failed (see the server log)"
	}
}

// withTimeout bounds a request's queries.
func (s *Server) withTimeout(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.opts.QueryTimeout)
}

// writeEntry writes a kept answer's JSON.
func writeEntry(w http.ResponseWriter, e *answers.Entry) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(e.JSON)
}

// GET /api/chorus/meetings
func (s *Server) apiMeetings(w http.ResponseWriter, r *http.Request) {
	v, err := queryParams(r, meetingParams...)
	if err != nil {
		s.answer(w, r, nil, err)
		return
	}
	f, err := meetingFilter(v)
	if err != nil {
		s.answer(w, r, nil, err)
		return
	}
	ctx, cancel := s.withTimeout(r)
	defer cancel()
	e, err := s.store.Meetings(ctx, f)
	if err != nil {
		s.answer(w, r, nil, err)
		return
	}
	writeEntry(w, e)
}

// byID answers a GET whose path names one id (and takes no parameters)
// with the kept answer of kind/id.
func (s *Server) byID(wildcard, kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := queryParams(r); err != nil {
			s.answer(w, r, nil, err)
			return
		}
		id, err := pathID(r, wildcard)
		if err != nil {
			s.answer(w, r, nil, err)
			return
		}
		ctx, cancel := s.withTimeout(r)
		defer cancel()
		e, err := s.store.ByID(ctx, kind, id)
		if err != nil {
			s.answer(w, r, nil, err)
			return
		}
		writeEntry(w, e)
	}
}

// GET /api/chorus/customers
func (s *Server) apiCustomers(w http.ResponseWriter, r *http.Request) {
	if _, err := queryParams(r); err != nil {
		s.answer(w, r, nil, err)
		return
	}
	ctx, cancel := s.withTimeout(r)
	defer cancel()
	list, err := s.store.Customers(ctx)
	s.answer(w, r, map[string]any{"customers": list}, err)
}
