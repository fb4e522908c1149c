-- model: customer_health
-- version: 2
-- depends: customer_health_weekly, customers
-- description: One row per customer with calls: the health inputs, the
-- description: components, the score, its band, its top drivers in words and
-- description: its change over 30 days, as of as_of (the current week's row
-- description: of customer_health_weekly). v2: the ranking score (README.md,
-- description: "Health score").
SELECT
  h.customer_id,
  cu.name AS customer_name,
  cu.csm_email,
  cu.csm_name,
  h.point_at AS as_of,
  h.health_score,
  h.health_band,
  h.score_change_30d,
  h.top_drivers,
  h.last_call_at,
  h.days_since_last_call,
  h.calls_to_date AS calls_total,
  h.calls_last_30d,
  h.calls_prev_30d,
  h.customer_talk_share,
  h.transcribed_calls_30d,
  h.competitor_calls_30d,
  h.risk_calls_30d,
  h.next_step_calls_30d,
  h.competitor_call_share,
  h.risk_call_share,
  h.next_step_call_share,
  h.engaging_questions,
  h.competitor_mentions,
  h.pricing_mentions,
  h.objection_mentions,
  h.risk_mentions,
  h.next_step_mentions,
  h.feature_request_mentions,
  h.open_tasks,
  h.overdue_tasks,
  h.rank_cadence,
  h.rank_talk_share,
  h.rank_competitor,
  h.rank_risk,
  h.rank_overdue,
  h.rank_next_step,
  h.penalty_recency,
  h.penalty_cadence,
  h.penalty_talk_share,
  h.penalty_competitor,
  h.penalty_risk,
  h.penalty_overdue,
  h.bonus
FROM {{ model("customer_health_weekly") }} AS h
JOIN {{ model("customers") }} AS cu ON cu.customer_id = h.customer_id
WHERE h.week_start = {{ date_trunc_week({{ as_of_date() }}) }}
