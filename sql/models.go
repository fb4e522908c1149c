// Package sqlmodels embeds the versioned SQL models that package transforms
// renders and builds: one file per model, named after it, each starting
// with a header of "-- key: value" lines (model, version, depends,
// materialized, description). transforms/README.md documents the format and
// the macros the files may use.
package sqlmodels

import (
	"embed"
	"io/fs"
)

//go:embed *.sql
var files embed.FS

// FS returns the embedded model files.
func FS() fs.FS { return files }
