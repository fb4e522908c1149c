// Package version says which build this is: the module version, the VCS
// commit it was built from, and the DuckDB library linked in.
package version

import (
	"context"
	"database/sql"
	"fmt"
	"runtime/debug"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" driver
)

// Info is what --version prints.
type Info struct {
	Module string // module version ("(devel)" for a build from a checkout)
	Commit string // vcs.revision, with "-dirty" when the tree was modified
	Time   string // vcs.time
	Go     string
	DuckDB string // library version (v1.4.x)
}

// Get reads the build information and asks DuckDB its version.
func Get(ctx context.Context) Info {
	info := Info{Module: "unknown", Commit: "unknown"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		info.Module, info.Go = bi.Main.Version, bi.GoVersion
		dirty := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Commit = s.Value
			case "vcs.time":
				info.Time = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty {
			info.Commit += "-dirty"
		}
	}
	v, err := duckDBVersion(ctx)
	if err != nil {
		v = "unknown (" + err.Error() + ")"
	}
	info.DuckDB = v
	return info
}

func duckDBVersion(ctx context.Context) (string, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return "", err
	}
	defer db.Close()
	var v string
	err = db.QueryRowContext(ctx, "SELECT library_version FROM pragma_version()").Scan(&v)
	return v, err
}

// String is one line per fact.
func (i Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "chorus-elt %s\ncommit %s", i.Module, i.Commit)
	if i.Time != "" {
		fmt.Fprintf(&b, " (%s)", i.Time)
	}
	fmt.Fprintf(&b, "\n%s\nDuckDB %s\n", i.Go, i.DuckDB)
	return b.String()
}
