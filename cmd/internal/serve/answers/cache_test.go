package answers

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestCacheEvicts(t *testing.T) {
	c := newCache(testDuckDB(t), 40<<10, time.Minute)
	ctx := context.Background()
	load := func(n int) func(context.Context) (any, error) {
		return func(context.Context) (any, error) { return strings.Repeat("x", n), nil }
	}
	for i := range 10 {
		if _, err := c.get(ctx, string(rune('a'+i)), load(3000)); err != nil {
			t.Fatal(err)
		}
	}
	st := c.Stats()
	if st.Bytes > 40<<10 || st.Evictions == 0 || st.Entries >= 10 {
		t.Errorf("%+v", st)
	}
	// The newest is kept, the oldest is not.
	if _, ok := c.items["j"]; !ok {
		t.Error("the newest answer was evicted")
	}
	if _, ok := c.items["a"]; ok {
		t.Error("the oldest answer was kept")
	}
	// One answer may not take over the cache.
	if _, err := c.get(ctx, "big", load(20<<10)); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.items["big"]; ok {
		t.Error("an answer of half the cache was kept")
	}
}
