package serve

import (
	"net/http"

	"github.com/chorus-elt/chorus-elt/cmd/internal/serve/answers"
)

// GET /api/chorus/ask?q=…
func (s *Server) apiAsk(w http.ResponseWriter, r *http.Request) {
	v, err := queryParams(r, "q")
	if err != nil {
		s.answer(w, r, nil, err)
		return
	}
	q, err := textParam(v, "q")
	if err != nil {
		s.answer(w, r, nil, err)
		return
	}
	if q == "" {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "ask a question with ?q=…", Examples: answers.AskExamples})
		return
	}
	ctx, cancel := s.withTimeout(r)
	defer cancel()
	a, err := s.store.Ask(ctx, q)
	if err != nil {
		status, msg := s.errorStatus(r, err)
		body := errorBody{Error: msg}
		if status == http.StatusBadRequest {
			body.Examples = answers.AskExamples
		}
		writeJSON(w, status, body)
		return
	}
	writeJSON(w, http.StatusOK, a)
}
