-- model: customer_health_weekly
-- version: 1
-- depends: int_call_facts, customer_tasks, health_weights
-- description: Per customer and ISO week (Monday week_start), from the week of
-- description: its first call to the week of as_of, the health inputs and score
-- description: evaluated at the week's end (point_at: the next Monday 00:00, or
-- description: as_of for the current week). Windows: last 30 days = (point_at -
-- description: 30d, point_at]; the 30 before = (point_at - 60d, point_at - 30d].
-- description: Tasks count when their call is at or before point_at; overdue
-- description: when due_date < the date of point_at. The score formula and its
-- description: weights are documented in transforms/README.md.
WITH w AS (
  SELECT
    MAX(CASE WHEN name = 'recency_grace_days' THEN value END) AS recency_grace_days,
    MAX(CASE WHEN name = 'recency_penalty_per_day' THEN value END) AS recency_penalty_per_day,
    MAX(CASE WHEN name = 'recency_penalty_max' THEN value END) AS recency_penalty_max,
    MAX(CASE WHEN name = 'trend_penalty_max' THEN value END) AS trend_penalty_max,
    MAX(CASE WHEN name = 'talk_share_target' THEN value END) AS talk_share_target,
    MAX(CASE WHEN name = 'talk_share_penalty_max' THEN value END) AS talk_share_penalty_max,
    MAX(CASE WHEN name = 'competitor_penalty_per_mention' THEN value END) AS competitor_penalty_per_mention,
    MAX(CASE WHEN name = 'risk_penalty_per_mention' THEN value END) AS risk_penalty_per_mention,
    MAX(CASE WHEN name = 'objection_penalty_per_mention' THEN value END) AS objection_penalty_per_mention,
    MAX(CASE WHEN name = 'pricing_penalty_per_mention' THEN value END) AS pricing_penalty_per_mention,
    MAX(CASE WHEN name = 'signal_penalty_max' THEN value END) AS signal_penalty_max,
    MAX(CASE WHEN name = 'overdue_task_penalty' THEN value END) AS overdue_task_penalty,
    MAX(CASE WHEN name = 'overdue_penalty_max' THEN value END) AS overdue_penalty_max,
    MAX(CASE WHEN name = 'next_step_bonus_per_mention' THEN value END) AS next_step_bonus_per_mention,
    MAX(CASE WHEN name = 'engaging_question_bonus' THEN value END) AS engaging_question_bonus,
    MAX(CASE WHEN name = 'bonus_max' THEN value END) AS bonus_max,
    MAX(CASE WHEN name = 'green_min' THEN value END) AS green_min,
    MAX(CASE WHEN name = 'amber_min' THEN value END) AS amber_min
  FROM {{ model("health_weights") }}
),
calls AS (
  SELECT * FROM {{ model("int_call_facts") }} WHERE started_at <= {{ as_of() }}
),
firsts AS (
  SELECT customer_id, {{ date_trunc_week(MIN(started_at)) }} AS first_week
  FROM calls
  GROUP BY customer_id
),
points AS (
  SELECT
    f.customer_id,
    {{ date_add_days(f.first_week, 7 * i) }} AS week_start,
    CASE
      WHEN {{ date_add_days(f.first_week, 7 * i) }} = {{ date_trunc_week({{ as_of_date() }}) }} THEN {{ as_of() }}
      ELSE {{ cast({{ date_add_days(f.first_week, 7 * i + 7) }}, "timestamp") }}
    END AS point_at
  FROM firsts AS f
  CROSS JOIN {{ unnest_range(0, CAST(FLOOR({{ ts_diff_days(f.first_week, {{ date_trunc_week({{ as_of_date() }}) }}) }} / 7) AS {{ cast_type("int") }}), i) }}
),
call_agg AS (
  SELECT
    p.customer_id,
    p.week_start,
    p.point_at,
    MAX(c.started_at) AS last_call_at,
    COUNT(*) AS calls_to_date,
    SUM(CASE WHEN {{ date_trunc_week(c.started_at) }} = p.week_start THEN 1 ELSE 0 END) AS calls_in_week,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} THEN 1 ELSE 0 END) AS calls_last_30d,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -60) }} AND c.started_at <= {{ ts_add_days(p.point_at, -30) }} THEN 1 ELSE 0 END) AS calls_prev_30d,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} AND c.customer_talk_share IS NOT NULL AND c.talk_seconds > 0 THEN c.customer_talk_share * c.talk_seconds END)
      / NULLIF(SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} AND c.customer_talk_share IS NOT NULL AND c.talk_seconds > 0 THEN c.talk_seconds END), 0) AS customer_talk_share,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} THEN c.engaging_questions ELSE 0 END) AS engaging_questions,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} THEN c.competitor_mentions ELSE 0 END) AS competitor_mentions,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} THEN c.pricing_mentions ELSE 0 END) AS pricing_mentions,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} THEN c.objection_mentions ELSE 0 END) AS objection_mentions,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} THEN c.risk_mentions ELSE 0 END) AS risk_mentions,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} THEN c.next_step_mentions ELSE 0 END) AS next_step_mentions,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} THEN c.feature_request_mentions ELSE 0 END) AS feature_request_mentions
  FROM points AS p
  JOIN calls AS c ON c.customer_id = p.customer_id AND c.started_at <= p.point_at
  GROUP BY p.customer_id, p.week_start, p.point_at
),
task_agg AS (
  SELECT
    p.customer_id,
    p.week_start,
    COUNT(*) AS open_tasks,
    SUM(CASE WHEN t.due_date < CAST(p.point_at AS DATE) THEN 1 ELSE 0 END) AS overdue_tasks
  FROM points AS p
  JOIN {{ model("customer_tasks") }} AS t ON t.customer_id = p.customer_id AND t.created_at <= p.point_at
  GROUP BY p.customer_id, p.week_start
),
inputs AS (
  SELECT
    a.*,
    {{ ts_diff_days(a.last_call_at, a.point_at) }} AS days_since_last_call,
    COALESCE(t.open_tasks, 0) AS open_tasks,
    COALESCE(t.overdue_tasks, 0) AS overdue_tasks
  FROM call_agg AS a
  LEFT JOIN task_agg AS t ON t.customer_id = a.customer_id AND t.week_start = a.week_start
),
penalties AS (
  SELECT
    i.*,
    LEAST(w.recency_penalty_max, w.recency_penalty_per_day * GREATEST(0, i.days_since_last_call - w.recency_grace_days)) AS penalty_recency,
    CASE WHEN i.calls_prev_30d > 0 AND i.calls_last_30d < i.calls_prev_30d
      THEN w.trend_penalty_max * (i.calls_prev_30d - i.calls_last_30d) / i.calls_prev_30d ELSE 0 END AS penalty_trend,
    CASE WHEN i.customer_talk_share IS NOT NULL AND i.customer_talk_share < w.talk_share_target
      THEN w.talk_share_penalty_max * (w.talk_share_target - i.customer_talk_share) / w.talk_share_target ELSE 0 END AS penalty_talk_share,
    LEAST(w.signal_penalty_max,
      i.competitor_mentions * w.competitor_penalty_per_mention + i.risk_mentions * w.risk_penalty_per_mention
      + i.objection_mentions * w.objection_penalty_per_mention + i.pricing_mentions * w.pricing_penalty_per_mention) AS penalty_signals,
    LEAST(w.overdue_penalty_max, i.overdue_tasks * w.overdue_task_penalty) AS penalty_overdue,
    LEAST(w.bonus_max, i.next_step_mentions * w.next_step_bonus_per_mention + i.engaging_questions * w.engaging_question_bonus) AS bonus,
    w.green_min,
    w.amber_min
  FROM inputs AS i
  CROSS JOIN w
),
scored AS (
  SELECT
    p.*,
    CAST(ROUND(GREATEST(0, LEAST(100, 100 - p.penalty_recency - p.penalty_trend - p.penalty_talk_share - p.penalty_signals - p.penalty_overdue + p.bonus))) AS {{ cast_type("int") }}) AS health_score
  FROM penalties AS p
)
SELECT
  customer_id,
  week_start,
  point_at,
  calls_in_week,
  calls_to_date,
  last_call_at,
  days_since_last_call,
  calls_last_30d,
  calls_prev_30d,
  ROUND(customer_talk_share, 3) AS customer_talk_share,
  engaging_questions,
  competitor_mentions,
  pricing_mentions,
  objection_mentions,
  risk_mentions,
  next_step_mentions,
  feature_request_mentions,
  open_tasks,
  overdue_tasks,
  ROUND(penalty_recency, 2) AS penalty_recency,
  ROUND(penalty_trend, 2) AS penalty_trend,
  ROUND(penalty_talk_share, 2) AS penalty_talk_share,
  ROUND(penalty_signals, 2) AS penalty_signals,
  ROUND(penalty_overdue, 2) AS penalty_overdue,
  ROUND(bonus, 2) AS bonus,
  health_score,
  CASE WHEN health_score >= green_min THEN 'green' WHEN health_score >= amber_min THEN 'amber' ELSE 'red' END AS health_band
FROM scored
