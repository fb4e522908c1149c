-- model: customer_health
-- version: 1
-- depends: customer_health_weekly, customers
-- description: One row per customer with calls: the health inputs and score
-- description: as of as_of (the current week's row of customer_health_weekly).
SELECT
  h.customer_id,
  cu.name AS customer_name,
  cu.csm_email,
  cu.csm_name,
  h.point_at AS as_of,
  h.last_call_at,
  h.days_since_last_call,
  h.calls_to_date AS calls_total,
  h.calls_last_30d,
  h.calls_prev_30d,
  h.customer_talk_share,
  h.engaging_questions,
  h.competitor_mentions,
  h.pricing_mentions,
  h.objection_mentions,
  h.risk_mentions,
  h.next_step_mentions,
  h.feature_request_mentions,
  h.open_tasks,
  h.overdue_tasks,
  h.penalty_recency,
  h.penalty_trend,
  h.penalty_talk_share,
  h.penalty_signals,
  h.penalty_overdue,
  h.bonus,
  h.health_score,
  h.health_band
FROM {{ model("customer_health_weekly") }} AS h
JOIN {{ model("customers") }} AS cu ON cu.customer_id = h.customer_id
WHERE h.week_start = {{ date_trunc_week({{ as_of_date() }}) }}
