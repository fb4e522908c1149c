package state

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chorus-elt/chorus-elt/schemas"
)

// ResetStreams forgets the state of the named streams (none: every
// stream), so that the next sync reads them from the start date again.
// A stream shares its state with its family (the call family has one
// cursor for calls and everything read from a call's detail), so the
// whole family is reset; the families reset are returned, sorted.
func (s *State) ResetStreams(names []string) ([]string, error) {
	fams := map[schemas.Family]bool{}
	for _, n := range names {
		st := schemas.Get(n)
		if st == nil {
			return nil, &Error{Msg: fmt.Sprintf("state: unknown stream %q (streams: %s)", n, strings.Join(schemas.Names(), ", "))}
		}
		fams[st.Family()] = true
	}
	if len(names) == 0 {
		for _, st := range schemas.All() {
			fams[st.Family()] = true
		}
	}
	var out []string
	for f := range fams {
		s.Reset(f)
		out = append(out, string(f))
	}
	slices.Sort(out)
	return out, nil
}

// SetWatermark moves the cursor of the stream's family to t: the next sync
// lists calls (or scorecards) from t on, minus the look-back. Directory
// streams (users, teams, user_teams) are read whole and have no cursor.
func (s *State) SetWatermark(stream string, t, now time.Time) error {
	st := schemas.Get(stream)
	switch {
	case st == nil:
		return &Error{Msg: fmt.Sprintf("state: unknown stream %q (streams: %s)", stream, strings.Join(schemas.Names(), ", "))}
	case t.IsZero() || t.After(now):
		return &Error{Msg: fmt.Sprintf("state: watermark %s is in the future (now %s)", t.Format(time.RFC3339), now.Format(time.RFC3339))}
	}
	t = t.UTC()
	switch st.Family() {
	case schemas.FamilyCalls:
		s.Calls.Watermark = &t
	case schemas.FamilyScorecards:
		keys := []string{}
		for _, k := range []string{"scorecards", "scorecard_answers"} {
			if s.Streams[k] != nil {
				keys = append(keys, k)
			}
		}
		if len(keys) == 0 {
			keys = []string{"scorecards"}
		}
		for _, k := range keys {
			s.Stream(k).Cursor = &t
		}
	default:
		return &Error{Msg: fmt.Sprintf("state: %s is read whole by every sync (family %s) and has no watermark", stream, st.Family())}
	}
	return nil
}

// Empty reports whether the state remembers nothing: no cursor, no call,
// no stream synced.
func (s *State) Empty() bool {
	return s.Calls.Watermark == nil && len(s.Calls.Known) == 0 && len(s.Calls.Pending) == 0 && len(s.Streams) == 0
}
