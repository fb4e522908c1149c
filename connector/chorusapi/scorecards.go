package chorusapi

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	json "github.com/goccy/go-json"

	"github.com/chorus-elt/chorus-elt/connector/client"
)

const scorecardsPath = "/api/v1/scorecards"

// ListScorecards implements API: GET /api/v1/scorecards (JSON:API, the
// contract's ScorecardsDoc), filter[submitted]=from:to with "*" for an open
// end, page[size] and page[number].
func (a *V3) ListScorecards(ctx context.Context, q ScorecardQuery) (ScorecardPage, error) {
	end := func(t time.Time) string {
		if t.IsZero() {
			return "*"
		}
		return t.UTC().Format(time.RFC3339)
	}
	v := url.Values{}
	v.Set("filter[submitted]", end(q.SubmittedFrom)+":"+end(q.SubmittedTo))
	if q.Size > 0 {
		v.Set("page[size]", strconv.Itoa(q.Size))
	}
	v.Set("page[number]", strconv.Itoa(max(1, q.Page)))
	var raw json.RawMessage
	if err := a.c.GetJSON(ctx, client.Request{Path: scorecardsPath, Query: v, Accept: jsonAPI}, &raw); err != nil {
		return ScorecardPage{}, err
	}
	// A response without a data array is not an empty page: taking it for
	// one would end the listing and move the cursor past scorecards never
	// listed. "data": null is an empty page.
	items, err := listItems(raw, "scorecards")
	if err != nil {
		return ScorecardPage{}, &client.APIError{Path: scorecardsPath, Detail: a.c.Redact(err.Error())}
	}
	p := ScorecardPage{Count: len(items)}
	for _, it := range items {
		sc, err := decodeScorecard(it)
		if err != nil {
			p.Unreadable = append(p.Unreadable, a.c.Redact(err.Error()))
			continue
		}
		p.Scorecards = append(p.Scorecards, sc)
	}
	return p, nil
}

// decodeScorecard reads one Scorecard resource ({"type", "id",
// "attributes"}, or a flat object). Every key it does not model is kept in
// Extra: unknown keys, and the unmodelled keys of initiative, recipient and
// reviewer under their own key.
func decodeScorecard(it json.RawMessage) (Scorecard, error) {
	var sc Scorecard
	nested := Extra{}
	person := func(uid, pid **int64, name *string) func(k string, v json.RawMessage) bool {
		return func(k string, v json.RawMessage) bool {
			switch k {
			case "user_id":
				return takeInt(v, uid)
			case "person_id":
				return takeInt(v, pid)
			case "name":
				return takeStr(v, name)
			}
			return false
		}
	}
	left, ok := resource(it, func(k string, v json.RawMessage) bool {
		switch k {
		case "id":
			return takeStr(v, &sc.ID)
		case "engagement":
			return takeStr(v, &sc.EngagementID)
		case "initiative":
			return sub(nested, k, v, func(k string, v json.RawMessage) bool {
				switch k {
				case "id":
					return takeInt(v, &sc.InitiativeID)
				case "name":
					return takeStr(v, &sc.InitiativeName)
				case "description":
					return takeStr(v, &sc.InitiativeDescription)
				case "url":
					return takeStr(v, &sc.InitiativeURL)
				}
				return false
			})
		case "recipient":
			return sub(nested, k, v, person(&sc.RecipientUserID, &sc.RecipientPersonID, &sc.RecipientName))
		case "reviewer":
			return sub(nested, k, v, person(&sc.ReviewerUserID, &sc.ReviewerPersonID, &sc.ReviewerName))
		case "submitted":
			return takeTime(v, &sc.SubmittedAt)
		case "seen":
			return takeBool(v, &sc.Seen)
		case "url":
			return takeStr(v, &sc.URL)
		case "scores":
			i := 0
			return takeList(v, func(r json.RawMessage) bool {
				a, ok := decodeAnswer(r, i)
				i++
				if ok {
					sc.Answers = append(sc.Answers, a)
				}
				return ok
			})
		}
		return false
	})
	if !ok {
		return Scorecard{}, fmt.Errorf("scorecard is not a JSON object (starts %q)", client.Preview(it))
	}
	if sc.ID == "" {
		return Scorecard{}, fmt.Errorf("scorecard without id (starts %q)", client.Preview(it))
	}
	for k, v := range nested {
		if left == nil {
			left = Extra{}
		}
		left[k] = v
	}
	sc.Extra = left
	return sc, nil
}

// decodeAnswer reads one entry of scores; index is its position in the list.
func decodeAnswer(r json.RawMessage, index int) (ScorecardAnswer, bool) {
	a := ScorecardAnswer{Index: index}
	nested := Extra{}
	left, ok := object(r, func(k string, v json.RawMessage) bool {
		switch k {
		case "question":
			return sub(nested, k, v, func(k string, v json.RawMessage) bool {
				switch k {
				case "id":
					return takeInt(v, &a.QuestionID)
				case "text":
					return takeStr(v, &a.QuestionText)
				}
				return false
			})
		case "score":
			return takeInt(v, &a.Score)
		case "comment":
			return sub(nested, k, v, func(k string, v json.RawMessage) bool {
				switch k {
				case "text":
					return takeStr(v, &a.CommentText)
				case "time":
					return takeInt(v, &a.CommentTime)
				}
				return false
			})
		}
		return false
	})
	if !ok {
		return ScorecardAnswer{}, false
	}
	for k, v := range nested {
		if left == nil {
			left = Extra{}
		}
		left[k] = v
	}
	a.Extra = left
	return a, true
}
