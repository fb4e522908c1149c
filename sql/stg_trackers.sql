-- model: stg_trackers
-- version: 1
-- materialized: view
-- description: Trackers that fired per call, with their mention count: the
-- description: number of tracker_mentions rows when the transcript was read,
-- description: else the API's match count.
WITH mentions AS (
  SELECT call_id, tracker_name, COUNT(*) AS mention_rows
  FROM {{ raw("tracker_mentions") }}
  GROUP BY call_id, tracker_name
)
SELECT
  t.call_id,
  t.tracker_name,
  t.tracker_id,
  t.tracker_type,
  t.match_count,
  COALESCE(m.mention_rows, t.match_count, 0) AS mentions
FROM {{ raw("trackers") }} AS t
LEFT JOIN mentions AS m ON m.call_id = t.call_id AND m.tracker_name = t.tracker_name
