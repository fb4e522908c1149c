-- model: int_health_scores
-- version: 1
-- depends: int_call_facts, customer_tasks, health_weights
-- description: The health score of customer_health_weekly without its words:
-- description: per customer and ISO week (Monday week_start), from the week of
-- description: its first call held to the week of as_of, evaluated at the
-- description: week's end (point_at: the next Monday 00:00, or as_of for the
-- description: current week) over the customer's calls held up to point_at
-- description: (no-shows are left out): the inputs, the recency-weighted rates
-- description: (weight 2^(-age / decay_half_life_days), age in calendar days),
-- description: the portfolio ranks (PERCENT_RANK among the customers of the
-- description: same week), the graded components, the score and its band.
-- description: Tasks count when actionable at point_at (not followed up by
-- description: then, not stale). Formulas and weights: README.md, "Health
-- description: score". A table of its own so that customer_health_weekly
-- description: reads the scores once for the words and the 30-day change.
WITH w AS (
  SELECT
    MAX(CASE WHEN name = 'decay_half_life_days' THEN value END) AS decay_half_life_days,
    MAX(CASE WHEN name = 'portfolio_share' THEN value END) AS portfolio_share,
    MAX(CASE WHEN name = 'recency_points' THEN value END) AS recency_points,
    MAX(CASE WHEN name = 'recency_grace_days' THEN value END) AS recency_grace_days,
    MAX(CASE WHEN name = 'recency_half_days' THEN value END) AS recency_half_days,
    MAX(CASE WHEN name = 'cadence_points' THEN value END) AS cadence_points,
    MAX(CASE WHEN name = 'cadence_target_per_30d' THEN value END) AS cadence_target_per_30d,
    MAX(CASE WHEN name = 'talk_share_points' THEN value END) AS talk_share_points,
    MAX(CASE WHEN name = 'talk_share_target' THEN value END) AS talk_share_target,
    MAX(CASE WHEN name = 'competitor_points' THEN value END) AS competitor_points,
    MAX(CASE WHEN name = 'competitor_share_ref' THEN value END) AS competitor_share_ref,
    MAX(CASE WHEN name = 'risk_points' THEN value END) AS risk_points,
    MAX(CASE WHEN name = 'risk_share_ref' THEN value END) AS risk_share_ref,
    MAX(CASE WHEN name = 'overdue_points' THEN value END) AS overdue_points,
    MAX(CASE WHEN name = 'overdue_tasks_ref' THEN value END) AS overdue_tasks_ref,
    MAX(CASE WHEN name = 'next_step_points' THEN value END) AS next_step_points,
    MAX(CASE WHEN name = 'next_step_share_ref' THEN value END) AS next_step_share_ref,
    MAX(CASE WHEN name = 'task_stale_days' THEN value END) AS task_stale_days,
    MAX(CASE WHEN name = 'green_min' THEN value END) AS green_min,
    MAX(CASE WHEN name = 'amber_min' THEN value END) AS amber_min
  FROM {{ model("health_weights") }}
),
calls AS (
  SELECT * FROM {{ model("int_call_facts") }} WHERE started_at <= {{ as_of() }} AND NOT no_show
),
firsts AS (
  SELECT customer_id, {{ date_trunc_week(MIN(started_at)) }} AS first_week
  FROM calls
  GROUP BY customer_id
),
points AS (
  SELECT
    f.customer_id,
    f.first_week,
    {{ date_add_days(f.first_week, 7 * i) }} AS week_start,
    CASE
      WHEN {{ date_add_days(f.first_week, 7 * i) }} = {{ date_trunc_week({{ as_of_date() }}) }} THEN {{ as_of() }}
      ELSE {{ cast({{ date_add_days(f.first_week, 7 * i + 7) }}, "timestamp") }}
    END AS point_at
  FROM firsts AS f
  CROSS JOIN {{ unnest_range(0, CAST(FLOOR({{ ts_diff_days(f.first_week, {{ date_trunc_week({{ as_of_date() }}) }}) }} / 7) AS {{ cast_type("int") }}), i) }}
),
-- The recency-weighted sums, built lean: a call's weight at a point is
-- 2^(-(point's date − call's date) / decay_half_life_days), which is
-- 2^(-(point's date − first_week) / h) × 2^((call's date − first_week) / h).
-- The first factor is the same for every call of a point and cancels out
-- of every share, so only the second (g) is summed: per week (call_weeks),
-- then up to each point (a running sum): one row per customer and week
-- throughout, whatever the number of calls. (2^(days / h) stays finite for
-- 1000 × h days of history.)
call_weeks AS (
  SELECT
    c.customer_id,
    {{ date_trunc_week(c.started_at) }} AS week_start,
    COUNT(*) AS calls_in_week,
    MAX(c.started_at) AS last_call_at,
    SUM(CASE WHEN c.has_transcript THEN c.g ELSE 0 END) AS transcript_g,
    SUM(CASE WHEN c.has_transcript AND c.competitor_mentions > 0 THEN c.g ELSE 0 END) AS competitor_g,
    SUM(CASE WHEN c.has_transcript AND c.risk_mentions + c.objection_mentions > 0 THEN c.g ELSE 0 END) AS risk_g,
    SUM(CASE WHEN c.has_transcript AND c.next_step_mentions > 0 THEN c.g ELSE 0 END) AS next_step_g,
    SUM(CASE WHEN c.customer_talk_share IS NOT NULL AND c.talk_seconds > 0 THEN c.g * c.customer_talk_share * c.talk_seconds END) AS talk_share_g,
    SUM(CASE WHEN c.customer_talk_share IS NOT NULL AND c.talk_seconds > 0 THEN c.g * c.talk_seconds END) AS talk_g
  FROM (
    SELECT k.*, POWER(2, {{ ts_diff_days(f.first_week, k.started_at) }} / w.decay_half_life_days) AS g
    FROM calls AS k
    JOIN firsts AS f ON f.customer_id = k.customer_id
    CROSS JOIN w
  ) AS c
  GROUP BY c.customer_id, {{ date_trunc_week(c.started_at) }}
),
running AS (
  SELECT
    p.customer_id,
    p.week_start,
    p.point_at,
    COALESCE(k.calls_in_week, 0) AS calls_in_week,
    SUM(COALESCE(k.calls_in_week, 0)) OVER (PARTITION BY p.customer_id ORDER BY p.week_start ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS calls_to_date,
    MAX(k.last_call_at) OVER (PARTITION BY p.customer_id ORDER BY p.week_start ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS last_call_at,
    SUM(COALESCE(k.transcript_g, 0)) OVER (PARTITION BY p.customer_id ORDER BY p.week_start ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS transcript_g,
    SUM(COALESCE(k.competitor_g, 0)) OVER (PARTITION BY p.customer_id ORDER BY p.week_start ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS competitor_g,
    SUM(COALESCE(k.risk_g, 0)) OVER (PARTITION BY p.customer_id ORDER BY p.week_start ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS risk_g,
    SUM(COALESCE(k.next_step_g, 0)) OVER (PARTITION BY p.customer_id ORDER BY p.week_start ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS next_step_g,
    SUM(k.talk_share_g) OVER (PARTITION BY p.customer_id ORDER BY p.week_start ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS talk_share_g,
    SUM(k.talk_g) OVER (PARTITION BY p.customer_id ORDER BY p.week_start ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS talk_g
  FROM points AS p
  LEFT JOIN call_weeks AS k ON k.customer_id = p.customer_id AND k.week_start = p.week_start
),
-- The last 60 days' calls of each point (each call meets about nine
-- points): the last-30-day sums, shown as inputs, and the 30 before.
recent AS (
  SELECT
    p.customer_id,
    p.week_start,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} THEN 1 ELSE 0 END) AS calls_last_30d,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} THEN 0 ELSE 1 END) AS calls_prev_30d,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} THEN c.engaging_questions ELSE 0 END) AS engaging_questions,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} THEN c.competitor_mentions ELSE 0 END) AS competitor_mentions,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} THEN c.pricing_mentions ELSE 0 END) AS pricing_mentions,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} THEN c.objection_mentions ELSE 0 END) AS objection_mentions,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} THEN c.risk_mentions ELSE 0 END) AS risk_mentions,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} THEN c.next_step_mentions ELSE 0 END) AS next_step_mentions,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} THEN c.feature_request_mentions ELSE 0 END) AS feature_request_mentions,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} AND c.has_transcript THEN 1 ELSE 0 END) AS transcribed_calls_30d,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} AND c.has_transcript AND c.competitor_mentions > 0 THEN 1 ELSE 0 END) AS competitor_calls_30d,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} AND c.has_transcript AND c.risk_mentions + c.objection_mentions > 0 THEN 1 ELSE 0 END) AS risk_calls_30d,
    SUM(CASE WHEN c.started_at > {{ ts_add_days(p.point_at, -30) }} AND c.has_transcript AND c.next_step_mentions > 0 THEN 1 ELSE 0 END) AS next_step_calls_30d
  FROM points AS p
  JOIN calls AS c
    ON c.customer_id = p.customer_id
    AND c.started_at <= p.point_at
    AND c.started_at > {{ ts_add_days(p.point_at, -60) }}
  GROUP BY p.customer_id, p.week_start
),
call_agg AS (
  SELECT
    r.customer_id,
    r.week_start,
    r.point_at,
    r.last_call_at,
    r.calls_to_date,
    r.calls_in_week,
    COALESCE(x.calls_last_30d, 0) AS calls_last_30d,
    COALESCE(x.calls_prev_30d, 0) AS calls_prev_30d,
    COALESCE(x.engaging_questions, 0) AS engaging_questions,
    COALESCE(x.competitor_mentions, 0) AS competitor_mentions,
    COALESCE(x.pricing_mentions, 0) AS pricing_mentions,
    COALESCE(x.objection_mentions, 0) AS objection_mentions,
    COALESCE(x.risk_mentions, 0) AS risk_mentions,
    COALESCE(x.next_step_mentions, 0) AS next_step_mentions,
    COALESCE(x.feature_request_mentions, 0) AS feature_request_mentions,
    COALESCE(x.transcribed_calls_30d, 0) AS transcribed_calls_30d,
    COALESCE(x.competitor_calls_30d, 0) AS competitor_calls_30d,
    COALESCE(x.risk_calls_30d, 0) AS risk_calls_30d,
    COALESCE(x.next_step_calls_30d, 0) AS next_step_calls_30d,
    -- Recency-weighted shares of the calls with a transcript (their
    -- trackers are known) in which a signal came up.
    r.competitor_g / NULLIF(r.transcript_g, 0) AS competitor_share_raw,
    r.risk_g / NULLIF(r.transcript_g, 0) AS risk_share_raw,
    r.next_step_g / NULLIF(r.transcript_g, 0) AS next_step_share_raw,
    -- The customer's share of talk time, weighted by talk time and recency.
    r.talk_share_g / NULLIF(r.talk_g, 0) AS talk_share_raw
  FROM running AS r
  LEFT JOIN recent AS x ON x.customer_id = r.customer_id AND x.week_start = r.week_start
),
-- Tasks actionable at the point: created by then, not followed up by then
-- (the first later call held with the customer), not stale (at most
-- task_stale_days calendar days old); overdue when also due before the
-- point's date.
task_agg AS (
  SELECT
    p.customer_id,
    p.week_start,
    COUNT(*) AS open_tasks,
    SUM(CASE WHEN t.due_date < CAST(p.point_at AS DATE) THEN 1 ELSE 0 END) AS overdue_tasks
  FROM points AS p
  JOIN {{ model("customer_tasks") }} AS t ON t.customer_id = p.customer_id AND t.created_at <= p.point_at
  CROSS JOIN w
  WHERE (t.followed_up_at IS NULL OR t.followed_up_at > p.point_at)
    AND {{ ts_diff_days(t.created_at, p.point_at) }} <= w.task_stale_days
  GROUP BY p.customer_id, p.week_start
),
-- The rates, rounded as shown; ranks and grades use the rounded values.
rates AS (
  SELECT
    a.*,
    {{ ts_diff_days(a.last_call_at, a.point_at) }} AS days_since_last_call,
    ROUND(a.talk_share_raw, 3) AS customer_talk_share,
    ROUND(a.competitor_share_raw, 3) AS competitor_call_share,
    ROUND(a.risk_share_raw, 3) AS risk_call_share,
    ROUND(a.next_step_share_raw, 3) AS next_step_call_share,
    COALESCE(t.open_tasks, 0) AS open_tasks,
    COALESCE(t.overdue_tasks, 0) AS overdue_tasks
  FROM call_agg AS a
  LEFT JOIN task_agg AS t ON t.customer_id = a.customer_id AND t.week_start = a.week_start
),
-- Portfolio ranks among the customers of the same week with a value: the
-- share of the others that are better off (0: nobody; 1: everybody); ties
-- share the better rank. For the bonus, the share that are worse off.
ranks AS (
  SELECT
    customer_id,
    week_start,
    PERCENT_RANK() OVER (PARTITION BY week_start ORDER BY calls_last_30d DESC) AS rank_cadence,
    CASE WHEN customer_talk_share IS NOT NULL THEN PERCENT_RANK() OVER (
      PARTITION BY week_start, customer_talk_share IS NULL ORDER BY customer_talk_share DESC) END AS rank_talk_share,
    CASE WHEN competitor_call_share IS NOT NULL THEN PERCENT_RANK() OVER (
      PARTITION BY week_start, competitor_call_share IS NULL ORDER BY competitor_call_share) END AS rank_competitor,
    CASE WHEN risk_call_share IS NOT NULL THEN PERCENT_RANK() OVER (
      PARTITION BY week_start, risk_call_share IS NULL ORDER BY risk_call_share) END AS rank_risk,
    PERCENT_RANK() OVER (PARTITION BY week_start ORDER BY overdue_tasks) AS rank_overdue,
    CASE WHEN next_step_call_share IS NOT NULL THEN PERCENT_RANK() OVER (
      PARTITION BY week_start, next_step_call_share IS NULL ORDER BY next_step_call_share) END AS rank_next_step
  FROM (
    SELECT customer_id, week_start, calls_last_30d, customer_talk_share, competitor_call_share, risk_call_share,
      overdue_tasks, next_step_call_share
    FROM rates
  ) AS narrow
),
ranked AS (
  SELECT r.*, k.rank_cadence, k.rank_talk_share, k.rank_competitor, k.rank_risk, k.rank_overdue, k.rank_next_step
  FROM rates AS r
  JOIN ranks AS k ON k.customer_id = r.customer_id AND k.week_start = r.week_start
),
-- Each component: points × ((1 − portfolio_share) × absolute grade +
-- portfolio_share × rank); recency is absolute only. Rounded to 2 decimals,
-- as shown: the score is computed from the shown values.
components AS (
  SELECT
    k.*,
    ROUND(w.recency_points * POWER(GREATEST(0, k.days_since_last_call - w.recency_grace_days), 2)
      / (POWER(GREATEST(0, k.days_since_last_call - w.recency_grace_days), 2) + POWER(w.recency_half_days, 2)), 2) AS penalty_recency,
    ROUND(w.cadence_points * ((1 - w.portfolio_share) * GREATEST(0, w.cadence_target_per_30d - k.calls_last_30d) / w.cadence_target_per_30d
      + w.portfolio_share * k.rank_cadence), 2) AS penalty_cadence,
    ROUND(CASE WHEN k.customer_talk_share IS NULL THEN 0
      ELSE w.talk_share_points * ((1 - w.portfolio_share) * GREATEST(0, w.talk_share_target - k.customer_talk_share) / w.talk_share_target
        + w.portfolio_share * k.rank_talk_share) END, 2) AS penalty_talk_share,
    ROUND(CASE WHEN k.competitor_call_share IS NULL THEN 0
      ELSE w.competitor_points * ((1 - w.portfolio_share) * k.competitor_call_share / (k.competitor_call_share + w.competitor_share_ref)
        + w.portfolio_share * k.rank_competitor) END, 2) AS penalty_competitor,
    ROUND(CASE WHEN k.risk_call_share IS NULL THEN 0
      ELSE w.risk_points * ((1 - w.portfolio_share) * k.risk_call_share / (k.risk_call_share + w.risk_share_ref)
        + w.portfolio_share * k.rank_risk) END, 2) AS penalty_risk,
    ROUND(w.overdue_points * ((1 - w.portfolio_share) * k.overdue_tasks / (k.overdue_tasks + w.overdue_tasks_ref)
      + w.portfolio_share * k.rank_overdue), 2) AS penalty_overdue,
    ROUND(CASE WHEN k.next_step_call_share IS NULL THEN 0
      ELSE w.next_step_points * ((1 - w.portfolio_share) * k.next_step_call_share / (k.next_step_call_share + w.next_step_share_ref)
        + w.portfolio_share * k.rank_next_step) END, 2) AS bonus,
    w.green_min,
    w.amber_min
  FROM ranked AS k
  CROSS JOIN w
),
scored AS (
  SELECT
    c.*,
    CAST(ROUND(GREATEST(0, LEAST(100, 100 - c.penalty_recency - c.penalty_cadence - c.penalty_talk_share
      - c.penalty_competitor - c.penalty_risk - c.penalty_overdue + c.bonus))) AS {{ cast_type("int") }}) AS health_score
  FROM components AS c
)
SELECT
  s.*,
  CASE WHEN s.health_score >= s.green_min THEN 'green' WHEN s.health_score >= s.amber_min THEN 'amber' ELSE 'red' END AS health_band
FROM scored AS s
