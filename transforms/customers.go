package transforms

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"regexp"
	"strings"
)

// Customer is one row of the customer list.
type Customer struct {
	ID           string
	Name         string
	Domains      []string
	CRMAccountID string
	CSMEmail     string
	CSMName      string
}

// CustomerColumns are the columns a customers CSV must have (in any order;
// other columns are ignored).
var CustomerColumns = []string{"customer_id", "name", "domains", "crm_account_id", "csm_email", "csm_name"}

// CustomersError lists every problem found in a customer list. Nothing is
// loaded when there is one.
type CustomersError struct {
	File     string
	Problems []string
}

func (e *CustomersError) Error() string {
	const show = 20
	p := e.Problems
	more := ""
	if len(p) > show {
		more = fmt.Sprintf("; … and %d more", len(p)-show)
		p = p[:show]
	}
	return fmt.Sprintf("customers %s: %d problem(s), nothing was loaded: %s%s", e.File, len(e.Problems), strings.Join(p, "; "), more)
}

var domainRe = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$`)

// ReadCustomersFile reads a customers CSV file.
func ReadCustomersFile(path string) ([]Customer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("customers: %w", err)
	}
	defer f.Close()
	return ReadCustomersCSV(f, path)
}

// ReadCustomersCSV reads and validates a customer list with the header
// customer_id,name,domains,crm_account_id,csm_email,csm_name. domains holds
// one or more domains separated by ";" (an "@" or "www." prefix is
// dropped). customer_id and name are required and ids unique; emails and
// domains must be well formed. Every problem is reported with its line and
// column; name is used in messages.
func ReadCustomersCSV(r io.Reader, name string) ([]Customer, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &CustomersError{File: name, Problems: []string{"line 1: the file is empty; want the header " + strings.Join(CustomerColumns, ",")}}
	}
	if err != nil {
		return nil, &CustomersError{File: name, Problems: []string{err.Error()}}
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := col[h]; dup {
			return nil, &CustomersError{File: name, Problems: []string{fmt.Sprintf("line 1: column %q appears twice", h)}}
		}
		col[h] = i
	}
	var problems []string
	for _, c := range CustomerColumns {
		if _, ok := col[c]; !ok {
			problems = append(problems, fmt.Sprintf("line 1: missing column %q (want %s)", c, strings.Join(CustomerColumns, ",")))
		}
	}
	if len(problems) > 0 {
		return nil, &CustomersError{File: name, Problems: problems}
	}
	out := []Customer{}
	firstLine := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				problems = append(problems, fmt.Sprintf("line %d, column %d: %v", pe.StartLine, pe.Column, pe.Err))
				if errors.Is(pe.Err, csv.ErrFieldCount) {
					continue
				}
				break // the reader cannot resynchronise after a quoting error
			}
			problems = append(problems, err.Error())
			break
		}
		line, _ := cr.FieldPos(0)
		get := func(c string) string {
			if i := col[c]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		bad := func(c, format string, a ...any) {
			problems = append(problems, fmt.Sprintf("line %d, column %s: %s", line, c, fmt.Sprintf(format, a...)))
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		c := Customer{ID: get("customer_id"), Name: get("name"), CRMAccountID: get("crm_account_id"),
			CSMEmail: strings.ToLower(get("csm_email")), CSMName: get("csm_name")}
		if c.ID == "" {
			bad("customer_id", "empty; every customer needs an id")
		} else if first, dup := firstLine[c.ID]; dup {
			bad("customer_id", "duplicate id %q (first on line %d)", c.ID, first)
		} else {
			firstLine[c.ID] = line
		}
		if c.Name == "" {
			bad("name", "empty")
		}
		if c.CSMEmail != "" {
			if a, err := mail.ParseAddress(c.CSMEmail); err != nil || a.Address != c.CSMEmail || !strings.Contains(c.CSMEmail[strings.LastIndexByte(c.CSMEmail, '@')+1:], ".") {
				bad("csm_email", "%q is not an email address", c.CSMEmail)
			}
		}
		for _, d := range strings.Split(get("domains"), ";") {
			d = strings.ToLower(strings.TrimSpace(d))
			d = strings.TrimPrefix(strings.TrimPrefix(d, "@"), "www.")
			if d == "" {
				continue
			}
			if !domainRe.MatchString(d) {
				bad("domains", "%q is not a domain such as example.com", d)
				continue
			}
			c.Domains = append(c.Domains, d)
		}
		out = append(out, c)
	}
	if len(problems) > 0 {
		return nil, &CustomersError{File: name, Problems: problems}
	}
	return out, nil
}
