package warehouse

import (
	"context"
	"errors"
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want Target
		raw  string // RawSchema
	}{
		{"duckdb:chorus.duckdb", Target{Dialect: "duckdb", Path: "chorus.duckdb"}, "chorus_raw"},
		{"duckdb:/data/w.duckdb", Target{Dialect: "duckdb", Path: "/data/w.duckdb"}, "chorus_raw"},
		{"duckdb:C:/x/w.db", Target{Dialect: "duckdb", Path: "C:/x/w.db"}, "chorus_raw"},
		{"bigquery:my-project.chorus", Target{Dialect: "bigquery", Project: "my-project", Dataset: "chorus"}, "my-project.chorus_raw"},
		{"bigquery:p.Data_Set_2", Target{Dialect: "bigquery", Project: "p", Dataset: "Data_Set_2"}, "p.Data_Set_2_raw"},
	} {
		got, err := ParseURL(tc.url)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tc.url, err)
			continue
		}
		if got != tc.want || got.RawSchema() != tc.raw {
			t.Errorf("ParseURL(%q) = %+v (raw %s), want %+v (raw %s)", tc.url, got, got.RawSchema(), tc.want, tc.raw)
		}
	}
}

// Every URL ParseURL refuses is refused by Open the same way, before
// anything is opened.
func TestParseURLRefusesWhatOpenRefuses(t *testing.T) {
	for _, u := range []string{"", "chorus.duckdb", "duckdb:", "DuckDB:x.db", "postgres://x", "bigquery:proj", "bigquery:.ds",
		"bigquery:p.", "bigquery:p.d.e", "bigquery:p.bad-name", "bigquery:p.dåta", "bigquery:"} {
		_, perr := ParseURL(u)
		_, oerr := Open(context.Background(), u, Options{})
		var pe, oe *URLError
		if !errors.As(perr, &pe) || !errors.As(oerr, &oe) {
			t.Errorf("%q: ParseURL %v, Open %v; want a *URLError from both", u, perr, oerr)
		} else if pe.Error() != oe.Error() {
			t.Errorf("%q: ParseURL says %q, Open %q", u, pe, oe)
		}
	}
}
