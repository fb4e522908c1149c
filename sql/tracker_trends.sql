-- model: tracker_trends
-- version: 1
-- depends: int_call_signals, customer_calls
-- description: Weekly (ISO week, Monday week_start) mention counts per
-- description: customer and signal category; customer_id is NULL for calls
-- description: that matched no customer.
SELECT
  {{ date_trunc_week(c.started_at) }} AS week_start,
  c.customer_id,
  c.customer_name,
  s.category,
  SUM(s.mentions) AS mentions,
  COUNT(DISTINCT s.call_id) AS calls,
  STRING_AGG(DISTINCT s.tracker_name, '; ' ORDER BY s.tracker_name) AS trackers
FROM {{ model("int_call_signals") }} AS s
JOIN {{ model("customer_calls") }} AS c ON c.call_id = s.call_id
GROUP BY {{ date_trunc_week(c.started_at) }}, c.customer_id, c.customer_name, s.category
