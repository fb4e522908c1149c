package chorusapi

import (
	"context"
	"net/url"
	"time"

	json "github.com/goccy/go-json"

	"github.com/chorus-elt/chorus-elt/connector/client"
)

// SalesQualification is Chorus's extraction of a sales qualification
// framework (MEDDIC, BANT, …) from one call: the contract's
// SalesQualificationAnalysis.
type SalesQualification struct {
	ID            string
	Framework     string // sqf_name
	GeneratedAt   *time.Time
	UserID        *int64
	CustomerID    *int64 // Chorus's customer id, not the seller's customers
	OpportunityID string
	Duration      *int64 // conversation_duration, seconds
	Fields        []QualificationField
	Extra         Extra
}

// QualificationField is one field of the analysis; Section is "sqf" for
// the framework's fields, "notes" or "next_steps" for the meeting notes.
type QualificationField struct {
	Section       string
	ID            string
	Name          string
	ChangeType    string
	NewValue      *string
	PreviousValue *string
	Quote         *string
	Extra         Extra
}

// GetSalesQualification reads GET /api/v1/sales-qualifications/{id};
// *NotFoundError when Chorus has no analysis of the call.
func (a *V3) GetSalesQualification(ctx context.Context, id string) (*SalesQualification, error) {
	path := "/api/v1/sales-qualifications/" + url.PathEscape(id)
	var doc struct {
		Data json.RawMessage `json:"data"`
	}
	if err := a.c.GetJSON(ctx, client.Request{Path: path, Accept: jsonAPI}, &doc); err != nil {
		return nil, err
	}
	q := &SalesQualification{}
	nested := Extra{}
	left, ok := resource(doc.Data, func(k string, v json.RawMessage) bool {
		switch k {
		case "id":
			return takeStr(v, &q.ID)
		case "sqf_name":
			return takeStr(v, &q.Framework)
		case "generated_at":
			return takeTime(v, &q.GeneratedAt)
		case "user_id":
			return takeInt(v, &q.UserID)
		case "customer_id":
			return takeInt(v, &q.CustomerID)
		case "opportunity_id":
			return takeStr(v, &q.OpportunityID)
		case "conversation_duration":
			return takeInt(v, &q.Duration)
		case "sqf_analysis":
			return takeList(v, func(r json.RawMessage) bool { return q.addField("sqf", r) })
		case "meeting_notes":
			return sub(nested, k, v, func(k string, v json.RawMessage) bool {
				switch k {
				case "notes", "next_steps":
					return isNull(v) || q.addField(k, v)
				}
				return false
			})
		}
		return false
	})
	if !ok {
		return nil, &client.APIError{Path: path, Detail: "response has no data object"}
	}
	for k, v := range nested {
		if left == nil {
			left = Extra{}
		}
		left[k] = v
	}
	q.Extra = left
	return q, nil
}

func (q *SalesQualification) addField(section string, r json.RawMessage) bool {
	f := QualificationField{Section: section}
	var nv, pv, quote string
	var hasNV, hasPV, hasQuote bool
	left, ok := object(r, func(k string, v json.RawMessage) bool {
		switch k {
		case "field_id":
			return takeStr(v, &f.ID)
		case "field_name":
			return takeStr(v, &f.Name)
		case "change_type":
			return takeStr(v, &f.ChangeType)
		case "new_value":
			hasNV = !isNull(v)
			return takeStr(v, &nv)
		case "previous_value":
			hasPV = !isNull(v)
			return takeStr(v, &pv)
		case "supporting_quote":
			hasQuote = !isNull(v)
			return takeStr(v, &quote)
		}
		return false
	})
	if !ok || f.ID == "" {
		return false
	}
	if hasNV {
		f.NewValue = &nv
	}
	if hasPV {
		f.PreviousValue = &pv
	}
	if hasQuote {
		f.Quote = &quote
	}
	f.Extra = left
	q.Fields = append(q.Fields, f)
	return true
}
