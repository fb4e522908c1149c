-- model: int_call_signals
-- version: 1
-- depends: stg_trackers, signal_map
-- description: Each tracker that fired in a call with its signal category: the
-- description: first signal_map rule (by priority) whose tracker_name_pattern
-- description: matches the tracker's name or whose tracker_type_pattern matches
-- description: its type (case-insensitive RE2). Unmapped trackers are left out.
SELECT
  t.call_id,
  t.tracker_name,
  t.tracker_type,
  s.category,
  s.priority AS rule_priority,
  t.mentions
FROM {{ model("stg_trackers") }} AS t
JOIN {{ model("signal_map") }} AS s
  ON (s.tracker_name_pattern IS NOT NULL AND {{ regexp_matches(COALESCE(t.tracker_name, ''), CONCAT('(?i)', s.tracker_name_pattern)) }})
  OR (s.tracker_type_pattern IS NOT NULL AND {{ regexp_matches(COALESCE(t.tracker_type, ''), CONCAT('(?i)', s.tracker_type_pattern)) }})
WHERE TRUE
QUALIFY ROW_NUMBER() OVER (PARTITION BY t.call_id, t.tracker_name ORDER BY s.priority) = 1
