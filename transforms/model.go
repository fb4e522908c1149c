package transforms

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Model is one SQL file.
type Model struct {
	Name         string
	Version      int
	Depends      []string // models and seeds it reads, as listed in the header
	Materialized string   // table or view
	Description  string
	File         string // path inside the models FS
	Checksum     string // sha256 of the file's bytes
	Body         string // the SQL after the header
}

var modelRefRe = regexp.MustCompile(`\{\{\s*model\(\s*["']([A-Za-z0-9_]+)["']\s*\)\s*\}\}`)

// parseModel reads a model file: a header of "-- key: value" lines, then
// the SELECT that defines it.
func parseModel(file string, src []byte) (*Model, error) {
	sum := sha256.Sum256(src)
	m := &Model{File: file, Checksum: hex.EncodeToString(sum[:]), Materialized: "table", Version: -1}
	lines := strings.Split(string(src), "\n")
	i := 0
	for ; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		if !strings.HasPrefix(l, "--") {
			break
		}
		key, val, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(l, "--")), ":")
		if !ok {
			continue // a plain comment
		}
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(key) {
		case "model":
			m.Name = val
		case "version":
			v, err := strconv.Atoi(val)
			if err != nil || v < 1 {
				return nil, fmt.Errorf("%s: line %d: version %q is not a positive integer", file, i+1, val)
			}
			m.Version = v
		case "depends":
			for _, d := range strings.Split(val, ",") {
				if d = strings.TrimSpace(d); d != "" {
					m.Depends = append(m.Depends, d)
				}
			}
		case "materialized":
			if val != "table" && val != "view" {
				return nil, fmt.Errorf("%s: line %d: materialized %q: want table or view", file, i+1, val)
			}
			m.Materialized = val
		case "description":
			if m.Description != "" {
				m.Description += " "
			}
			m.Description += val
		}
	}
	m.Body = strings.TrimSpace(strings.Join(lines[i:], "\n"))
	base := strings.TrimSuffix(path.Base(file), ".sql")
	switch {
	case m.Name == "":
		return nil, fmt.Errorf("%s: the header has no \"-- model: %s\" line", file, base)
	case m.Name != base:
		return nil, fmt.Errorf("%s: model %q must live in %s.sql", file, m.Name, m.Name)
	case !identRe.MatchString(m.Name):
		return nil, fmt.Errorf("%s: model name %q is not an identifier", file, m.Name)
	case m.Version < 1:
		return nil, fmt.Errorf("%s: the header has no \"-- version: N\" line", file)
	case m.Body == "":
		return nil, fmt.Errorf("%s: no SQL after the header", file)
	case strings.HasSuffix(strings.TrimSpace(m.Body), ";"):
		return nil, fmt.Errorf("%s: end the SELECT without a semicolon (the runner wraps it in CREATE OR REPLACE)", file)
	}
	// The header's depends must name exactly the models the SQL reads.
	refs := map[string]bool{}
	for _, r := range modelRefRe.FindAllStringSubmatch(m.Body, -1) {
		refs[r[1]] = true
	}
	listed := map[string]bool{}
	for _, d := range m.Depends {
		listed[d] = true
		if !refs[d] {
			return nil, fmt.Errorf("%s: depends lists %q but the SQL never reads {{ model(\"%s\") }}", file, d, d)
		}
	}
	for r := range refs {
		if !listed[r] {
			return nil, fmt.Errorf("%s: the SQL reads {{ model(\"%s\") }}; add it to \"-- depends:\"", file, r)
		}
	}
	sort.Strings(m.Depends)
	return m, nil
}

// loadModels reads every *.sql file of fsys and returns them in build
// order: dependencies first (a topological order; ties by name). seeds are
// tables the runner loads itself; models may depend on them.
func loadModels(fsys fs.FS, seeds []string) ([]*Model, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("transforms: list models: %w", err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("transforms: no *.sql model files found")
	}
	byName := map[string]*Model{}
	isSeed := map[string]bool{}
	for _, s := range seeds {
		isSeed[s] = true
	}
	for _, n := range names {
		src, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("transforms: read %s: %w", n, err)
		}
		m, err := parseModel(n, src)
		if err != nil {
			return nil, fmt.Errorf("transforms: %w", err)
		}
		if isSeed[m.Name] {
			return nil, fmt.Errorf("transforms: %s: %q is a seed table loaded by the runner; choose another name", n, m.Name)
		}
		byName[m.Name] = m
	}
	for _, m := range byName {
		for _, d := range m.Depends {
			if byName[d] == nil && !isSeed[d] {
				return nil, fmt.Errorf("transforms: %s: depends on %q, which is neither a model nor a seed (%s)", m.File, d, strings.Join(seeds, ", "))
			}
		}
	}
	return topoSort(byName, isSeed)
}

// topoSort orders models so that each comes after what it depends on
// (Kahn's algorithm, ready models taken by name). A cycle is an error that
// names its models.
func topoSort(byName map[string]*Model, isSeed map[string]bool) ([]*Model, error) {
	indeg := map[string]int{}
	users := map[string][]string{}
	for n, m := range byName {
		indeg[n] += 0
		for _, d := range m.Depends {
			if isSeed[d] {
				continue
			}
			indeg[n]++
			users[d] = append(users[d], n)
		}
	}
	var ready []string
	for n, d := range indeg {
		if d == 0 {
			ready = append(ready, n)
		}
	}
	var out []*Model
	for len(ready) > 0 {
		sort.Strings(ready)
		n := ready[0]
		ready = ready[1:]
		out = append(out, byName[n])
		for _, u := range users[n] {
			if indeg[u]--; indeg[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	if len(out) < len(byName) {
		var cyc []string
		for n, d := range indeg {
			if d > 0 {
				cyc = append(cyc, n)
			}
		}
		sort.Strings(cyc)
		return nil, fmt.Errorf("transforms: dependency cycle among models %s", strings.Join(cyc, ", "))
	}
	return out, nil
}
