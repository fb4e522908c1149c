package parquet

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/chorus-elt/chorus-elt/connector/streamrows"
)

// BenchmarkWriteBatch writes calls of 200 utterances and a few participants
// as the sync hands them over: one record per stream per call.
func BenchmarkWriteBatch(b *testing.B) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var utts, parts []streamrows.Row
	for i := range 200 {
		utts = append(utts, streamrows.Row{"call_id": "C1", "utterance_index": int64(i), "utterance_id": fmt.Sprintf("u%d", i),
			"speaker_id": int64(i % 3), "speaker_name": "Pat Buyer", "speaker_type": "customer", "start_seconds": float64(i) * 4.25,
			"duration_seconds": 3.5 + float64(i%7), "spoken_at": t0.Add(time.Duration(i) * 4250 * time.Millisecond), "word_count": int64(12),
			"text":     fmt.Sprintf("utterance number %d of a call about pricing, onboarding and the renewal next quarter", i),
			"engaging": i%5 == 0, "text_truncated": false, "_extra": fmt.Sprintf(`{"expired":false,"participant":%d}`, i%3),
			"_extracted_at": t0, "_sync_id": "s"})
	}
	for i := range 4 {
		parts = append(parts, streamrows.Row{"call_id": "C1", "participant_key": fmt.Sprintf("p:%d", i), "person_id": int64(i),
			"name": "Pat", "email": "pat@acme.example", "participant_type": "customer", "is_rep": false, "_extracted_at": t0, "_sync_id": "s"})
	}
	ur, err := streamrows.RecordOf("utterances", utts...)
	if err != nil {
		b.Fatal(err)
	}
	pr, err := streamrows.RecordOf("participants", parts...)
	if err != nil {
		b.Fatal(err)
	}
	const calls = 500
	ctx := context.Background()
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		sink, err := NewSink(b.TempDir(), "20260301T100000Z-bench0", nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		for range calls {
			for _, w := range []struct {
				s string
				r arrow.RecordBatch
			}{{"utterances", ur}, {"participants", pr}} {
				if err := sink.WriteBatch(ctx, w.s, w.r); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := sink.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(calls*204*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
