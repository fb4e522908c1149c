package chorustest

import (
	"bytes"
	"fmt"
	"net/http"
	"time"
)

// Sales qualifications: Chorus extracts a qualification framework's fields
// (MEDDIC here) from calls linked to an opportunity. The tenant answers
// GET /api/v1/sales-qualifications/{recording_id} in the contract's
// SalesQualificationAnalysisDoc for complete calls with an opportunity, and
// 404 for the others.

// meddic are the framework's fields and the value the tenant extracts.
var meddic = []struct{ id, name, value, quote string }{
	{"metrics", "Metrics", "Cut ramp time by a third", "we want new reps ramped in two months instead of three"},
	{"economic_buyer", "Economic Buyer", "CFO signs off", "our CFO signs anything over fifty thousand"},
	{"decision_criteria", "Decision Criteria", "CRM integration, security review", "it has to work with our CRM and pass security"},
	{"decision_process", "Decision Process", "Pilot, then procurement", "we run a pilot first, then procurement takes over"},
	{"identify_pain", "Identify Pain", "Coaching does not scale", "managers cannot listen to every call"},
	{"champion", "Champion", "VP Ops", "I will push this internally"},
}

// TruthQualification is one extracted field of a call's analysis.
type TruthQualification struct {
	FieldID, FieldName, Value, Quote string
}

// Qualifications returns the fields the tenant serves for a call: nil for
// calls without an opportunity or without a transcript.
func (t *Tenant) Qualifications(callID string) []TruthQualification {
	e, ok := t.lookup(callID)
	if !ok || e.Plan == nil || e.OppID == "" {
		return nil
	}
	n := 3 + int(t.hashOf("sqf", e.ID)%4)
	out := make([]TruthQualification, n)
	for i := range out {
		f := meddic[i]
		out[i] = TruthQualification{f.id, f.name, f.value, f.quote}
	}
	return out
}

// qualification answers the sales-qualifications endpoint at now.
func (t *Tenant) qualification(id string, now time.Time) (int, []byte) {
	e, ok := t.lookup(id)
	fields := t.Qualifications(id)
	if !ok || fields == nil || t.processing(e, now) || e.Epoch > now.Unix() {
		return http.StatusNotFound, t.errorBody(404, "ZI0004", "Not Found", "No sales qualification analysis for this recording")
	}
	type field struct {
		FieldID    string  `json:"field_id"`
		FieldName  string  `json:"field_name"`
		ChangeType string  `json:"change_type"`
		NewValue   *string `json:"new_value"`
		Previous   *string `json:"previous_value"`
		Quote      *string `json:"supporting_quote"`
	}
	analysis := make([]field, len(fields))
	for i, f := range fields {
		analysis[i] = field{f.FieldID, f.FieldName, "ADDED", strPtr(f.Value), nil, strPtr(f.Quote)}
	}
	doc := map[string]any{"data": map[string]any{
		"type": "sales_qualification_analysis", "id": fmt.Sprintf("sqa-%s", e.ID[:12]),
		"attributes": map[string]any{
			"recording_id": e.ID, "sqf_name": "MEDDIC", "sqf_analysis": analysis,
			"generated_at": iso(e.StartedAt.Add(time.Duration(e.Duration*float64(time.Second)) + t.opts.ProcessingDelay)),
			"user_id":      e.OwnerUserID, "customer_id": 5550001, "opportunity_id": e.OppID,
			"conversation_duration": int64(e.Duration),
			"meeting_notes": map[string]any{
				"notes":      field{"notes", "Notes", "UPDATED", strPtr("Discussed " + e.Subject), strPtr(""), nil},
				"next_steps": field{"next_steps", "Next Steps", "ADDED", strPtr("Send the proposal"), nil, strPtr("send me the proposal")},
			},
		},
	}}
	var b bytes.Buffer
	writeJSON(&b, doc)
	return http.StatusOK, b.Bytes()
}
