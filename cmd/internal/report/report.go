// Package report formats what the commands print for people and for
// scripts: the run summary, query rows and search hits.
package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline"
	"github.com/chorus-elt/chorus-elt/schemas"
	"github.com/chorus-elt/chorus-elt/transforms"
)

// Run writes a run's summary for a person: totals, one line per stream in
// the order of the schemas, and the cursor.
func Run(w io.Writer, s *pipeline.Summary) {
	fmt.Fprintf(w, "sync %s → %s in %.1fs: %d calls, %d requests (%d retried), %d pending\n",
		s.SyncID, s.Warehouse, s.Seconds, s.Calls, s.Requests, s.Retries, s.Pending)
	names := make([]string, 0, len(s.Streams))
	for n := range s.Streams {
		names = append(names, n)
	}
	order := schemas.Names()
	rank := func(n string) int {
		if i := slices.Index(order, n); i >= 0 {
			return i
		}
		return len(order)
	}
	sort.Slice(names, func(i, j int) bool { return rank(names[i]) < rank(names[j]) })
	for _, n := range names {
		st := s.Streams[n]
		fmt.Fprintf(w, "  %-17s %8d rows %10d bytes %8d new %8d updated\n", n, st.Rows, st.Bytes, st.Inserted, st.Updated)
	}
	if s.Cursor != nil {
		fmt.Fprintf(w, "  cursor (calls.started_at watermark): %s\n", s.Cursor.Format(time.RFC3339))
	}
}

// Table prints rows as aligned columns, in the query's column order; lists
// and objects are shown as JSON.
func Table(w io.Writer, cols []string, rows []map[string]any) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "(no rows)")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	for _, r := range rows {
		vals := make([]string, len(cols))
		for i, c := range cols {
			vals[i] = cell(r[c])
		}
		fmt.Fprintln(tw, strings.Join(vals, "\t"))
	}
	return tw.Flush()
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		if x = x.UTC(); x.Equal(x.Truncate(24 * time.Hour)) {
			return x.Format(time.DateOnly) // DATE columns come back as midnight
		}
		return x.Format(time.RFC3339)
	case float64:
		return fmt.Sprintf("%.4g", x)
	case string:
		return clip(x)
	case []any, map[string]any:
		b, err := marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return clip(string(b))
	default:
		return fmt.Sprint(x)
	}
}

func clip(s string) string {
	if r := []rune(s); len(r) > 80 {
		return string(r[:77]) + "…"
	}
	return s
}

// marshal is json.Marshal without escaping <, > and &.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// JSONLines prints one JSON object per row, keys in the query's column
// order, text as it is (no \u003c for <).
func JSONLines(w io.Writer, cols []string, rows []map[string]any) error {
	for _, r := range rows {
		var b bytes.Buffer
		b.WriteByte('{')
		for i, c := range cols {
			k, err := marshal(c)
			if err != nil {
				return err
			}
			v, err := marshal(r[c])
			if err != nil {
				return fmt.Errorf("column %s: %w", c, err)
			}
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(k)
			b.WriteByte(':')
			b.Write(v)
		}
		b.WriteString("}\n")
		if _, err := w.Write(b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// Hits prints search hits: one JSON object each, or two lines (three with
// a link) for a person.
func Hits(w io.Writer, phrase string, hits []transforms.SearchHit, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, h := range hits {
			if err := enc.Encode(h); err != nil {
				return err
			}
		}
		return nil
	}
	if len(hits) == 0 {
		_, err := fmt.Fprintf(w, "no utterance holds %q\n", phrase)
		return err
	}
	for _, h := range hits {
		cust := "(no customer)"
		if h.CustomerID != "" {
			cust = h.CustomerID + " " + h.CustomerName
		}
		fmt.Fprintf(w, "%s  %s  %s — %s\n  [%s] %s (%s): %s\n", h.StartedAt.Format("2006-01-02 15:04"), h.CallID, h.CallTitle, cust,
			transforms.FormatOffset(h.Offset), h.Speaker, h.SpeakerType, h.Snippet)
		if h.Link != "" {
			if _, err := fmt.Fprintf(w, "  %s\n", h.Link); err != nil {
				return err
			}
		}
	}
	return nil
}
