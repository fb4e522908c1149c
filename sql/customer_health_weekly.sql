-- model: customer_health_weekly
-- version: 2
-- depends: int_health_scores
-- description: Per customer and ISO week (Monday week_start), from the week of
-- description: its first call held to the week of as_of, the health inputs,
-- description: components, score and band evaluated at the week's end
-- description: (int_health_scores), with top_drivers — the three components
-- description: that moved the score most, in words, against the portfolio's
-- description: median — and score_change_30d, the change against the week
-- description: containing the day 30 days before (NULL when the customer had
-- description: no row then). v2: the ranking score; formulas and weights in
-- description: README.md, "Health score".
WITH scores AS (
  SELECT * FROM {{ model("int_health_scores") }}
),
-- One row per customer, week and component: its signed points, the value
-- it grades, and what its words need.
terms AS (
  SELECT
    s.customer_id,
    s.week_start,
    ord,
    CASE ord WHEN 1 THEN 'recency' WHEN 2 THEN 'cadence' WHEN 3 THEN 'talk_share' WHEN 4 THEN 'competitor'
      WHEN 5 THEN 'risk' WHEN 6 THEN 'overdue' ELSE 'next_step' END AS component,
    CASE ord WHEN 1 THEN 0 - s.penalty_recency WHEN 2 THEN 0 - s.penalty_cadence WHEN 3 THEN 0 - s.penalty_talk_share
      WHEN 4 THEN 0 - s.penalty_competitor WHEN 5 THEN 0 - s.penalty_risk WHEN 6 THEN 0 - s.penalty_overdue ELSE s.bonus END AS pts,
    CASE ord WHEN 1 THEN {{ cast(s.days_since_last_call, "float") }} WHEN 2 THEN {{ cast(s.calls_last_30d, "float") }}
      WHEN 3 THEN s.customer_talk_share WHEN 4 THEN s.competitor_call_share WHEN 5 THEN s.risk_call_share
      WHEN 6 THEN {{ cast(s.overdue_tasks, "float") }} ELSE s.next_step_call_share END AS val,
    CASE ord WHEN 4 THEN s.competitor_calls_30d WHEN 5 THEN s.risk_calls_30d ELSE s.next_step_calls_30d END AS calls_30d,
    s.transcribed_calls_30d,
    s.days_since_last_call,
    s.calls_last_30d,
    s.overdue_tasks
  FROM scores AS s
  CROSS JOIN {{ unnest_range(1, 7, ord) }}
),
-- The portfolio median of each value per week: the middle value, or the
-- mean of the two middle ones.
medians AS (
  SELECT week_start, component, AVG(val) AS median_val
  FROM (
    SELECT
      week_start,
      component,
      val,
      ROW_NUMBER() OVER (PARTITION BY week_start, component ORDER BY val) AS rn,
      COUNT(*) OVER (PARTITION BY week_start, component) AS n
    FROM terms
    WHERE val IS NOT NULL
  ) AS ordered
  WHERE 2 * rn BETWEEN n AND n + 2
  GROUP BY week_start, component
),
-- What a driver's words need: the values in tenths (for one decimal) and
-- in percent, the customer's and the portfolio median's.
term_values AS (
  SELECT
    t.*,
    {{ cast(ROUND(ABS(t.pts)), "int") }} AS pts_int,
    {{ cast(ROUND(t.val * 10), "int") }} AS val10,
    {{ cast(ROUND(m.median_val * 10), "int") }} AS median10,
    {{ cast(ROUND(100 * t.val), "int") }} AS val_pct,
    {{ cast(ROUND(100 * m.median_val), "int") }} AS median_pct
  FROM terms AS t
  LEFT JOIN medians AS m ON m.week_start = t.week_start AND m.component = t.component
  WHERE ROUND(ABS(t.pts)) >= 1
),
-- Numbers as words need them: x10 (tenths) as "1.3", or "2" when whole.
decimals AS (
  SELECT
    v.*,
    CASE WHEN MOD(val10, 10) = 0 THEN CAST({{ cast(FLOOR(val10 / 10), "int") }} AS {{ cast_type("string") }})
      ELSE CONCAT(CAST({{ cast(FLOOR(val10 / 10), "int") }} AS {{ cast_type("string") }}), '.', CAST(MOD(val10, 10) AS {{ cast_type("string") }})) END AS val_d1,
    CASE WHEN MOD(median10, 10) = 0 THEN CAST({{ cast(FLOOR(median10 / 10), "int") }} AS {{ cast_type("string") }})
      ELSE CONCAT(CAST({{ cast(FLOOR(median10 / 10), "int") }} AS {{ cast_type("string") }}), '.', CAST(MOD(median10, 10) AS {{ cast_type("string") }})) END AS median_d1
  FROM term_values AS v
),
-- A driver in words: "−12: competitor named in 80% of calls (4 of 5 in the
-- last 30 days, portfolio median 20%)"; the percentages are
-- recency-weighted, the counts those of the last 30 days.
worded AS (
  SELECT
    customer_id,
    week_start,
    ord,
    pts,
    CONCAT(
      CASE WHEN pts < 0 THEN '−' ELSE '+' END,
      CAST(pts_int AS {{ cast_type("string") }}),
      ': ',
      CASE component
        WHEN 'recency' THEN CONCAT('no call for ', CAST(days_since_last_call AS {{ cast_type("string") }}), ' days (portfolio median ',
          median_d1, ')')
        WHEN 'cadence' THEN CONCAT(val_d1, CASE WHEN val10 = 10 THEN ' call' ELSE ' calls' END, ' in the last 30 days (portfolio median ', median_d1, ')')
        WHEN 'talk_share' THEN CONCAT('customer spoke ', CAST(val_pct AS {{ cast_type("string") }}),
          '% of the time (portfolio median ', CAST(median_pct AS {{ cast_type("string") }}), '%)')
        WHEN 'overdue' THEN CONCAT(CAST(overdue_tasks AS {{ cast_type("string") }}),
          CASE WHEN overdue_tasks = 1 THEN ' overdue task' ELSE ' overdue tasks' END, ' (portfolio median ', median_d1, ')')
        ELSE CONCAT(
          CASE component WHEN 'competitor' THEN 'competitor named' WHEN 'risk' THEN 'risk or objection raised' ELSE 'next steps agreed' END,
          ' in ', CAST(val_pct AS {{ cast_type("string") }}), '% of calls (',
          CASE WHEN transcribed_calls_30d = 0 THEN 'none'
            ELSE CONCAT(CAST(calls_30d AS {{ cast_type("string") }}), ' of ', CAST(transcribed_calls_30d AS {{ cast_type("string") }})) END,
          ' in the last 30 days, portfolio median ', CAST(median_pct AS {{ cast_type("string") }}), '%)')
      END) AS driver
  FROM decimals
),
-- The three drivers with the most points (ties: in component order),
-- joined by "; ". Not STRING_AGG(… ORDER BY …): the BigQuery emulator the
-- tests run doubles the space of its delimiter; || is NULL with a NULL
-- operand in both dialects (DuckDB's CONCAT would skip it).
drivers AS (
  SELECT
    customer_id,
    week_start,
    MAX(CASE WHEN rk = 1 THEN driver END)
      || COALESCE('; ' || MAX(CASE WHEN rk = 2 THEN driver END), '')
      || COALESCE('; ' || MAX(CASE WHEN rk = 3 THEN driver END), '') AS top_drivers
  FROM (
    SELECT customer_id, week_start, driver,
      ROW_NUMBER() OVER (PARTITION BY customer_id, week_start ORDER BY ABS(pts) DESC, ord) AS rk
    FROM worded
  ) AS ranked_drivers
  WHERE rk <= 3
  GROUP BY customer_id, week_start
)
SELECT
  s.customer_id,
  s.week_start,
  s.point_at,
  s.calls_in_week,
  s.calls_to_date,
  s.calls_last_30d,
  s.calls_prev_30d,
  s.last_call_at,
  s.days_since_last_call,
  s.customer_talk_share,
  s.transcribed_calls_30d,
  s.competitor_calls_30d,
  s.risk_calls_30d,
  s.next_step_calls_30d,
  s.competitor_call_share,
  s.risk_call_share,
  s.next_step_call_share,
  s.engaging_questions,
  s.competitor_mentions,
  s.pricing_mentions,
  s.objection_mentions,
  s.risk_mentions,
  s.next_step_mentions,
  s.feature_request_mentions,
  s.open_tasks,
  s.overdue_tasks,
  ROUND(s.rank_cadence, 3) AS rank_cadence,
  ROUND(s.rank_talk_share, 3) AS rank_talk_share,
  ROUND(s.rank_competitor, 3) AS rank_competitor,
  ROUND(s.rank_risk, 3) AS rank_risk,
  ROUND(s.rank_overdue, 3) AS rank_overdue,
  ROUND(s.rank_next_step, 3) AS rank_next_step,
  s.penalty_recency,
  s.penalty_cadence,
  s.penalty_talk_share,
  s.penalty_competitor,
  s.penalty_risk,
  s.penalty_overdue,
  s.bonus,
  s.health_score,
  s.health_band,
  s.health_score - b.health_score AS score_change_30d,
  d.top_drivers
FROM scores AS s
LEFT JOIN drivers AS d ON d.customer_id = s.customer_id AND d.week_start = s.week_start
LEFT JOIN scores AS b
  ON b.customer_id = s.customer_id
  AND b.week_start = {{ date_trunc_week({{ date_add_days(CAST(s.point_at AS DATE), -30) }}) }}
