package streamrows

import "github.com/chorus-elt/chorus-elt/connector/chorusapi"

// Scorecard builds the scorecards row of a scorecard and its
// scorecard_answers rows.
func Scorecard(b *Batch, sc *chorusapi.Scorecard) {
	if r := b.row(sScorecards); r != nil {
		col := &colScorecards
		r.Str(col.ScorecardID, sc.ID)
		r.NullStr(col.CallID, sc.EngagementID)
		r.IntP(col.InitiativeID, sc.InitiativeID)
		r.NullStr(col.InitiativeName, sc.InitiativeName)
		r.NullStr(col.InitiativeDescription, sc.InitiativeDescription)
		r.NullStr(col.InitiativeURL, sc.InitiativeURL)
		r.IntP(col.RecipientUserID, sc.RecipientUserID)
		r.IntP(col.RecipientPersonID, sc.RecipientPersonID)
		r.NullStr(col.RecipientName, sc.RecipientName)
		r.IntP(col.ReviewerUserID, sc.ReviewerUserID)
		r.IntP(col.ReviewerPersonID, sc.ReviewerPersonID)
		r.NullStr(col.ReviewerName, sc.ReviewerName)
		r.TimeP(col.SubmittedAt, sc.SubmittedAt)
		r.BoolP(col.Seen, sc.Seen)
		r.NullStr(col.URL, sc.URL)
		r.Int(col.AnswerCount, int64(len(sc.Answers)))
		var sum float64
		var n int
		for _, a := range sc.Answers {
			if a.Score != nil {
				sum += float64(*a.Score)
				n++
			}
		}
		if n > 0 {
			r.Float(col.MeanScore, sum/float64(n))
		}
		if len(sc.Extra) > 0 {
			r.Str(col.Extra, mustJSON(sc.Extra))
		}
		r.End()
	}
	if r := b.row(sScorecardAnswers); r != nil {
		col := &colAnswers
		for _, a := range sc.Answers {
			r.Str(col.ScorecardID, sc.ID)
			r.Int(col.AnswerIndex, int64(a.Index))
			r.NullStr(col.CallID, sc.EngagementID)
			r.TimeP(col.SubmittedAt, sc.SubmittedAt)
			r.IntP(col.QuestionID, a.QuestionID)
			r.NullStr(col.QuestionText, a.QuestionText)
			r.IntP(col.Score, a.Score)
			r.NullStr(col.CommentText, a.CommentText)
			r.IntP(col.CommentTimeSeconds, a.CommentTime)
			if len(a.Extra) > 0 {
				r.Str(col.Extra, mustJSON(a.Extra))
			}
			r.End()
		}
	}
}
