-- model: int_call_signals
-- version: 2
-- depends: stg_trackers, signal_map
-- description: Each tracker that fired in a call with its signal category: the
-- description: first signal_map rule (by priority) whose tracker_name_pattern
-- description: matches the tracker's name or whose tracker_type_pattern matches
-- description: its type (case-insensitive RE2). Unmapped trackers are left out.
-- description: The rules are matched once per distinct name and type, then
-- description: joined back to the calls: a pattern read from a table is
-- description: compiled for every row it is tried on (v2; the rows are
-- description: unchanged).
WITH kinds AS (
  SELECT DISTINCT COALESCE(tracker_name, '') AS name_key, COALESCE(tracker_type, '') AS type_key
  FROM {{ model("stg_trackers") }}
),
matched AS (
  SELECT k.name_key, k.type_key, s.category, s.priority
  FROM kinds AS k
  JOIN {{ model("signal_map") }} AS s
    ON (s.tracker_name_pattern IS NOT NULL AND {{ regexp_matches(k.name_key, CONCAT('(?i)', s.tracker_name_pattern)) }})
    OR (s.tracker_type_pattern IS NOT NULL AND {{ regexp_matches(k.type_key, CONCAT('(?i)', s.tracker_type_pattern)) }})
)
SELECT
  t.call_id,
  t.tracker_name,
  t.tracker_type,
  m.category,
  m.priority AS rule_priority,
  t.mentions
FROM {{ model("stg_trackers") }} AS t
JOIN matched AS m
  ON m.name_key = COALESCE(t.tracker_name, '') AND m.type_key = COALESCE(t.tracker_type, '')
WHERE TRUE
QUALIFY ROW_NUMBER() OVER (PARTITION BY t.call_id, t.tracker_name ORDER BY m.priority) = 1
