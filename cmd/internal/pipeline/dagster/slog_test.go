package dagster_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline/dagster"
)

// TestLogHandler: records at the minimum level or above reach Dagster as
// "log" messages (Python level names, attributes as key=value, groups
// dotted); every record the next handler enables still reaches it.
func TestLogHandler(t *testing.T) {
	w := &lineWriter{}
	s := openStdout(t, w, contextData())
	var next bytes.Buffer
	l := slog.New(dagster.LogHandler(slog.NewTextHandler(&next, &slog.HandlerOptions{Level: slog.LevelDebug}), s, slog.LevelInfo))
	l.Debug("not sent", "k", 1)
	l.Info("extract finished", "calls", 12, "note", "two words")
	l.With("sync", "s1").WithGroup("load").Warn("slow", "seconds", 2.5)
	l.Error("failed", slog.Group("http", "status", 503))
	s.Close(nil)

	msgs := checkLines(t, []byte(strings.Join(w.writes, "")))
	want := []string{
		`{"message":"extract finished calls=12 note=\"two words\"","level":"INFO"}`,
		`{"message":"slow sync=s1 load.seconds=2.5","level":"WARNING"}`,
		`{"message":"failed http.status=503","level":"ERROR"}`,
	}
	var got []string
	for _, m := range msgs {
		if m.method == "log" {
			got = append(got, m.line[strings.Index(m.line, `"params":`)+len(`"params":`):len(m.line)-1])
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log messages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := strings.Count(next.String(), "\n"); n != 4 || !strings.Contains(next.String(), "not sent") {
		t.Errorf("the next handler got %d records:\n%s", n, next.String())
	}
	if h := dagster.LogHandler(slog.DiscardHandler, nil, slog.LevelInfo); h != slog.DiscardHandler {
		t.Error("without a session the handler is not the next one")
	}
}
