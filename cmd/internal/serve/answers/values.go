package answers

import (
	"fmt"
	"math"
	"math/big"
	"time"
)

// A row is one answer row of Warehouse.Query, column name → value. The
// drivers hand back different Go types for the same SQL type (DuckDB: a
// SUM of integers is a *big.Int, a DATE a time.Time; BigQuery: a DATE is a
// civil.Date, a NUMERIC a *big.Rat), so values are read through these
// helpers rather than by type assertion.
type row map[string]any

func (r row) str(col string) string {
	switch x := r[col].(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	default:
		return fmt.Sprint(x)
	}
}

func (r row) float(col string) float64 {
	f, _ := toFloat(r[col])
	return f
}

// optFloat is the value, or nil when it is NULL (for JSON).
func (r row) optFloat(col string) *float64 {
	f, ok := toFloat(r[col])
	if !ok {
		return nil
	}
	return &f
}

// optInt is the value, or nil when it is NULL (for JSON).
func (r row) optInt(col string) *int64 {
	f, ok := toFloat(r[col])
	if !ok {
		return nil
	}
	n := int64(math.Round(f))
	return &n
}

func (r row) int(col string) int64 {
	f, _ := toFloat(r[col])
	return int64(math.Round(f))
}

func (r row) bool(col string) bool {
	b, _ := r[col].(bool)
	return b
}

// time reads a TIMESTAMP (or DATE) as a UTC time; zero when NULL.
func (r row) time(col string) time.Time {
	switch x := r[col].(type) {
	case time.Time:
		return x.UTC()
	case interface {
		In(*time.Location) time.Time
	}: // civil.Date, civil.DateTime
		return x.In(time.UTC)
	}
	return time.Time{}
}

// date reads a DATE as "YYYY-MM-DD"; "" when NULL.
func (r row) date(col string) string {
	t := r.time(col)
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

// toFloat converts any numeric driver value; ok is false for NULL and
// non-numbers.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case int16:
		return float64(x), true
	case int8:
		return float64(x), true
	case int:
		return float64(x), true
	case uint64:
		return float64(x), true
	case uint32:
		return float64(x), true
	case *big.Int:
		if x == nil {
			return 0, false
		}
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	case *big.Rat:
		if x == nil {
			return 0, false
		}
		f, _ := x.Float64()
		return f, true
	case interface{ Float64() float64 }: // duckdb.Decimal
		return x.Float64(), true
	}
	return 0, false
}

// jsonValue makes a driver value fit for encoding/json: times as RFC 3339,
// BigQuery dates as YYYY-MM-DD, big numbers as float64.
func jsonValue(v any) any {
	switch x := v.(type) {
	case nil, string, bool, float64, int64, int32, int:
		return x
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case interface {
		In(*time.Location) time.Time
	}:
		return fmt.Sprint(x)
	case []byte:
		return string(x)
	}
	if f, ok := toFloat(v); ok {
		return f
	}
	return fmt.Sprint(v)
}
