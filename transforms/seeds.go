package transforms

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/chorus-elt/chorus-elt/warehouse/sqlquote"
)

// seedTable is a small table the runner writes from Go values.
type seedTable struct {
	name    string
	columns [][2]string // name, portable type
	rows    [][]any
}

// statements renders CREATE OR REPLACE TABLE plus INSERTs of at most 500
// rows each.
func (s *seedTable) statements(r *renderer) ([]string, string, error) {
	var cols []string
	for _, c := range s.columns {
		t, err := typeName(r.dialect, c[1])
		if err != nil {
			return nil, "", err
		}
		cols = append(cols, c[0]+" "+t)
	}
	table := r.table(r.modelSchema, s.name)
	out := []string{fmt.Sprintf("CREATE OR REPLACE TABLE %s (%s)", table, strings.Join(cols, ", "))}
	h := sha256.New()
	names := make([]string, len(s.columns))
	for i, c := range s.columns {
		names[i] = c[0]
	}
	for i := 0; i < len(s.rows); i += 500 {
		var vals []string
		for _, row := range s.rows[i:min(i+500, len(s.rows))] {
			lits := make([]string, len(row))
			for j, v := range row {
				lits[j] = literal(r.dialect, v)
			}
			t := "(" + strings.Join(lits, ", ") + ")"
			h.Write([]byte(t + "\n"))
			vals = append(vals, t)
		}
		out = append(out, fmt.Sprintf("INSERT INTO %s (%s) VALUES\n%s", table, strings.Join(names, ", "), strings.Join(vals, ",\n")))
	}
	return out, hex.EncodeToString(h.Sum(nil)), nil
}

var customerCols = [][2]string{{"customer_id", "string"}, {"name", "string"}, {"domains", "string"},
	{"crm_account_id", "string"}, {"csm_email", "string"}, {"csm_name", "string"}}

var tableNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*){0,2}$`)

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// seedSteps renders the seed tables. With a customers table to copy from it
// checks, unless this is a dry run, that the table has the columns and
// unique ids.
func seedSteps(ctx context.Context, e Engine, r *renderer, opt *Options) ([]*step, error) {
	var steps []*step
	add := func(s *seedTable) error {
		sqls, sum, err := s.statements(r)
		if err != nil {
			return err
		}
		steps = append(steps, &step{name: s.name, kind: "seed", checksum: sum, sql: sqls, count: true})
		return nil
	}

	// customers
	switch {
	case opt.Customers != nil:
		s := &seedTable{name: SeedCustomers, columns: customerCols}
		for _, c := range opt.Customers {
			s.rows = append(s.rows, []any{c.ID, c.Name, nullIfEmpty(strings.Join(c.Domains, ";")), nullIfEmpty(c.CRMAccountID), nullIfEmpty(c.CSMEmail), nullIfEmpty(c.CSMName)})
		}
		if err := add(s); err != nil {
			return nil, err
		}
	case opt.CustomersTable != "":
		st, err := customersFromTable(ctx, e, r, opt)
		if err != nil {
			return nil, err
		}
		steps = append(steps, st)
	default:
		var cols []string
		for _, c := range customerCols {
			t, _ := typeName(r.dialect, c[1])
			cols = append(cols, c[0]+" "+t)
		}
		steps = append(steps, &step{name: SeedCustomers, kind: "seed", checksum: "kept", count: true,
			sql: []string{fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (%s)", r.table(r.modelSchema, SeedCustomers), strings.Join(cols, ", "))}})
	}

	fm := &seedTable{name: SeedFreeMail, columns: [][2]string{{"domain", "string"}}}
	for _, d := range freeMailDomains() {
		fm.rows = append(fm.rows, []any{d})
	}
	if err := add(fm); err != nil {
		return nil, err
	}

	sd := &seedTable{name: SeedSellerDomains, columns: [][2]string{{"domain", "string"}}}
	seen := map[string]bool{}
	for _, d := range opt.SellerDomains {
		d = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(d), "@")))
		if d == "" || seen[d] {
			continue
		}
		if !domainRe.MatchString(d) {
			return nil, fmt.Errorf("transforms: seller domain %q is not a domain such as example.com", d)
		}
		seen[d] = true
		sd.rows = append(sd.rows, []any{d})
	}
	if err := add(sd); err != nil {
		return nil, err
	}

	sm := &seedTable{name: SeedSignalMap, columns: [][2]string{{"priority", "int"}, {"category", "string"}, {"tracker_name_pattern", "string"}, {"tracker_type_pattern", "string"}}}
	for i, rule := range opt.Signals.Rules {
		sm.rows = append(sm.rows, []any{i + 1, rule.Category, nullIfEmpty(rule.TrackerName), nullIfEmpty(rule.TrackerType)})
	}
	if err := add(sm); err != nil {
		return nil, err
	}

	hw := &seedTable{name: SeedHealthWeights, columns: [][2]string{{"name", "string"}, {"value", "float"}, {"description", "string"}}}
	names := slices.Sorted(maps.Keys(opt.Signals.Weights))
	sort.Strings(names)
	for _, n := range names {
		hw.rows = append(hw.rows, []any{n, opt.Signals.Weights[n], nullIfEmpty(WeightDoc[n])})
	}
	if err := add(hw); err != nil {
		return nil, err
	}
	return steps, nil
}

// customersFromTable copies an existing warehouse table into the customers
// seed, after checking its columns and ids.
func customersFromTable(ctx context.Context, e Engine, r *renderer, opt *Options) (*step, error) {
	src := opt.CustomersTable
	if !tableNameRe.MatchString(src) {
		return nil, fmt.Errorf("transforms: customers_table %q: want [project.]dataset.table or schema.table", src)
	}
	from := src
	if r.dialect == BigQuery {
		if strings.Count(src, ".") == 1 {
			from = strings.SplitN(r.modelSchema, ".", 2)[0] + "." + src
		}
		from = sqlquote.Ident(BigQuery, from)
	}
	var sel []string
	for _, c := range customerCols {
		t, _ := typeName(r.dialect, "string")
		sel = append(sel, fmt.Sprintf("CAST(%s AS %s) AS %s", c[0], t, c[0]))
	}
	query := fmt.Sprintf("SELECT %s FROM %s", strings.Join(sel, ", "), from)
	if !opt.DryRun {
		if _, err := e.Query(ctx, query+" LIMIT 1"); err != nil {
			return nil, fmt.Errorf("transforms: customers_table %s cannot be read with the columns %s: %w", src, strings.Join(CustomerColumns, ","), err)
		}
		dups, err := e.Query(ctx, fmt.Sprintf("SELECT customer_id, COUNT(*) AS n FROM (%s) AS c GROUP BY customer_id HAVING COUNT(*) > 1 OR customer_id IS NULL ORDER BY customer_id LIMIT 5", query))
		if err != nil {
			return nil, fmt.Errorf("transforms: customers_table %s: %w", src, err)
		}
		if len(dups) > 0 {
			var ids []string
			for _, d := range dups {
				ids = append(ids, fmt.Sprintf("%v (%v rows)", d["customer_id"], d["n"]))
			}
			return nil, fmt.Errorf("transforms: customers_table %s: customer_id must be unique and not null; found %s; nothing was changed", src, strings.Join(ids, ", "))
		}
	}
	return &step{name: SeedCustomers, kind: "seed", checksum: "table:" + src, count: true,
		sql: []string{fmt.Sprintf("CREATE OR REPLACE TABLE %s AS\n%s", r.table(r.modelSchema, SeedCustomers), query)}}, nil
}
