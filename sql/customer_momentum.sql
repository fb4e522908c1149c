-- model: customer_momentum
-- version: 1
-- depends: customer_calls, int_call_facts, customer_tasks, customer_touchpoints, stg_sales_qualifications, customers
-- description: Deal and relationship momentum (PRD FR-4) per customer and ISO
-- description: week (Monday week_start), from the week of the customer's first
-- description: activity (an attached call or touchpoint) to the week of as_of:
-- description: calls held, email and other touchpoints (the engagements
-- description: stream), the deal as of the week's end and its stage changes
-- description: (from the calls' deal fields: a call whose stage differs from
-- description: the previous call's of the same opportunity), next steps agreed
-- description: (calls with a next_step tracker, an action item or a sales
-- description: qualification next_steps note), pricing and objection
-- description: discussions, qualification coverage (framework fields with a
-- description: value so far; NULL when no qualification is synced for the
-- description: customer), and a momentum score: the week's points, their sum
-- description: over 4 weeks against the 4 before, and the trend. Points and
-- description: stage ranks: README.md, "Momentum".
WITH deal_calls AS (
  -- Every attached call with a deal stage (no-shows too: the stage is the
  -- CRM's), with the stage's rank from the usual CRM stage names
  -- (case-insensitive, the first that matches): lost 0, won 6, negotiation
  -- 5, proposal 4, evaluation 3, qualification 2, prospecting 1; other names
  -- have no rank.
  SELECT
    c.customer_id,
    c.call_id,
    c.started_at,
    {{ date_trunc_week(c.started_at) }} AS week_start,
    c.opportunity_id,
    c.opportunity_name,
    TRIM(c.deal_stage) AS deal_stage,
    CASE
      WHEN {{ regexp_matches(LOWER(c.deal_stage), '\b(closed.?lost|lost|disqualified|no decision)\b') }} THEN 0
      WHEN {{ regexp_matches(LOWER(c.deal_stage), '\b(closed.?won|won)\b') }} THEN 6
      WHEN {{ regexp_matches(LOWER(c.deal_stage), 'negotiat|contract|commit|legal|procurement') }} THEN 5
      WHEN {{ regexp_matches(LOWER(c.deal_stage), 'proposal|quote|pricing') }} THEN 4
      WHEN {{ regexp_matches(LOWER(c.deal_stage), 'demo|solution|evaluat|needs|value|technical|pilot|proof|poc') }} THEN 3
      WHEN {{ regexp_matches(LOWER(c.deal_stage), 'qualif') }} THEN 2
      WHEN {{ regexp_matches(LOWER(c.deal_stage), 'prospect|discover|lead|\bnew\b') }} THEN 1
    END AS stage_rank
  FROM {{ model("customer_calls") }} AS c
  WHERE c.customer_id IS NOT NULL AND c.opportunity_id IS NOT NULL AND TRIM(COALESCE(c.deal_stage, '')) <> ''
    AND c.started_at <= {{ as_of() }}
),
-- Each deal call with the previous one's stage of the same opportunity,
-- and whether it is the customer's latest deal call of its week.
ranked_stages AS (
  SELECT
    d.*,
    LAG(d.deal_stage) OVER (PARTITION BY d.customer_id, d.opportunity_id ORDER BY d.started_at, d.call_id) AS prev_stage,
    LAG(d.stage_rank) OVER (PARTITION BY d.customer_id, d.opportunity_id ORDER BY d.started_at, d.call_id) AS prev_rank,
    ROW_NUMBER() OVER (PARTITION BY d.customer_id, d.opportunity_id ORDER BY d.started_at, d.call_id) AS nth,
    ROW_NUMBER() OVER (PARTITION BY d.customer_id, d.week_start ORDER BY d.started_at DESC, d.call_id DESC) AS latest_in_week
  FROM deal_calls AS d
),
task_counts AS (
  SELECT call_id, COUNT(*) AS tasks FROM {{ model("customer_tasks") }} GROUP BY call_id
),
next_step_notes AS (
  SELECT call_id, COUNT(*) AS notes
  FROM {{ model("stg_sales_qualifications") }}
  WHERE section = 'next_steps' AND new_value IS NOT NULL
  GROUP BY call_id
),
-- Qualification fields with a value, for the framework of the customer's
-- latest analysis.
qual_calls AS (
  SELECT
    q.call_id,
    q.framework,
    q.field_id,
    q.new_value,
    c.customer_id,
    c.started_at,
    FIRST_VALUE(q.framework) OVER (PARTITION BY c.customer_id ORDER BY c.started_at DESC, c.call_id DESC, q.field_id
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS latest_framework
  FROM {{ model("stg_sales_qualifications") }} AS q
  JOIN {{ model("customer_calls") }} AS c ON c.call_id = q.call_id
  WHERE q.section = 'sqf' AND q.framework IS NOT NULL AND c.customer_id IS NOT NULL AND c.started_at <= {{ as_of() }}
),
-- A framework's fields: the known frameworks' count, else every field seen
-- for it across customers.
framework_sizes AS (
  SELECT
    framework,
    CASE framework WHEN 'MEDDIC' THEN 6 WHEN 'MEDDICC' THEN 7 WHEN 'MEDDPICC' THEN 8 WHEN 'BANT' THEN 4 WHEN 'SPIN' THEN 4
      ELSE COUNT(DISTINCT field_id) END AS fields_total
  FROM qual_calls
  GROUP BY framework
),
-- Everything that happened, one row per event with the columns it counts
-- (the rest 0), summed per customer and week in one pass: calls held
-- (no-shows left out) with what was discussed, touchpoints that are not
-- recorded calls (emails; the others: unrecorded meetings, content viewed,
-- ...), deal calls (stage changes; the latest of the week names the deal),
-- and qualification fields of the latest framework, in the week each was
-- first covered.
events AS (
  SELECT
    f.customer_id,
    {{ date_trunc_week(f.started_at) }} AS week_start,
    1 AS calls,
    CASE WHEN f.next_step_mentions > 0 OR COALESCE(t.tasks, 0) > 0 OR COALESCE(n.notes, 0) > 0 THEN 1 ELSE 0 END AS next_step_calls,
    f.next_step_mentions,
    COALESCE(t.tasks, 0) AS tasks_created,
    CASE WHEN f.pricing_mentions > 0 THEN 1 ELSE 0 END AS pricing_calls,
    f.pricing_mentions,
    CASE WHEN f.objection_mentions > 0 THEN 1 ELSE 0 END AS objection_calls,
    f.objection_mentions,
    0 AS emails,
    0 AS other_touchpoints,
    0 AS new_opportunities,
    0 AS deal_stage_changes,
    0 AS deal_stage_advances,
    0 AS deal_stage_setbacks,
    CAST(NULL AS {{ cast_type("string") }}) AS opportunity_id,
    CAST(NULL AS {{ cast_type("string") }}) AS opportunity_name,
    CAST(NULL AS {{ cast_type("string") }}) AS deal_stage,
    0 AS new_qualification_fields
  FROM {{ model("int_call_facts") }} AS f
  LEFT JOIN task_counts AS t ON t.call_id = f.call_id
  LEFT JOIN next_step_notes AS n ON n.call_id = f.call_id
  WHERE NOT f.no_show AND f.started_at <= {{ as_of() }}
  UNION ALL
  SELECT
    customer_id, {{ date_trunc_week(started_at) }}, 0, 0, 0, 0, 0, 0, 0, 0,
    CASE WHEN engagement_type = 'email' THEN 1 ELSE 0 END,
    CASE WHEN engagement_type = 'email' THEN 0 ELSE 1 END,
    0, 0, 0, 0, NULL, NULL, NULL, 0
  FROM {{ model("customer_touchpoints") }}
  WHERE customer_id IS NOT NULL AND NOT COALESCE(is_call, FALSE) AND started_at <= {{ as_of() }}
  UNION ALL
  -- A change: the stage differs from the previous call's of the
  -- opportunity. An advance: to a higher rank (lost excepted); a setback:
  -- to a lower rank, or to lost from anything else.
  SELECT
    customer_id, week_start, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    CASE WHEN nth = 1 THEN 1 ELSE 0 END,
    CASE WHEN LOWER(deal_stage) <> LOWER(prev_stage) THEN 1 ELSE 0 END,
    CASE WHEN LOWER(deal_stage) <> LOWER(prev_stage) AND stage_rank > prev_rank AND stage_rank > 0 THEN 1 ELSE 0 END,
    CASE WHEN LOWER(deal_stage) <> LOWER(prev_stage) AND (stage_rank = 0 OR stage_rank < prev_rank) THEN 1 ELSE 0 END,
    CASE WHEN latest_in_week = 1 THEN opportunity_id END,
    CASE WHEN latest_in_week = 1 THEN opportunity_name END,
    CASE WHEN latest_in_week = 1 THEN deal_stage END,
    0
  FROM ranked_stages
  UNION ALL
  SELECT customer_id, MIN({{ date_trunc_week(started_at) }}), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, 1
  FROM qual_calls
  WHERE framework = latest_framework AND new_value IS NOT NULL
  GROUP BY customer_id, field_id
),
by_week AS (
  SELECT
    customer_id,
    week_start,
    SUM(calls) AS calls,
    SUM(emails) AS emails,
    SUM(other_touchpoints) AS other_touchpoints,
    MAX(opportunity_id) AS opportunity_id,
    MAX(opportunity_name) AS opportunity_name,
    MAX(deal_stage) AS deal_stage,
    SUM(new_opportunities) AS new_opportunities,
    SUM(deal_stage_changes) AS deal_stage_changes,
    SUM(deal_stage_advances) AS deal_stage_advances,
    SUM(deal_stage_setbacks) AS deal_stage_setbacks,
    SUM(next_step_calls) AS next_step_calls,
    SUM(next_step_mentions) AS next_step_mentions,
    SUM(tasks_created) AS tasks_created,
    SUM(pricing_calls) AS pricing_calls,
    SUM(pricing_mentions) AS pricing_mentions,
    SUM(objection_calls) AS objection_calls,
    SUM(objection_mentions) AS objection_mentions,
    SUM(new_qualification_fields) AS new_qualification_fields
  FROM events
  GROUP BY customer_id, week_start
),
-- The weeks of each customer: from its first activity to the as-of week
-- (weeks without activity have no by_week row).
weeks AS (
  SELECT f.customer_id, {{ date_add_days(f.first_week, 7 * i) }} AS week_start
  FROM (SELECT customer_id, MIN(week_start) AS first_week FROM by_week GROUP BY customer_id) AS f
  CROSS JOIN {{ unnest_range(0, CAST(FLOOR({{ ts_diff_days(f.first_week, {{ date_trunc_week({{ as_of_date() }}) }}) }} / 7) AS {{ cast_type("int") }}), i) }}
),
-- The week's momentum points (README.md, "Momentum"); deal_weeks numbers
-- the weeks that named a deal so far, so that a week without a deal call
-- keeps the last deal named (below).
weekly AS (
  SELECT
    w.customer_id,
    w.week_start,
    COALESCE(b.calls, 0) AS calls,
    COALESCE(b.emails, 0) AS emails,
    COALESCE(b.other_touchpoints, 0) AS other_touchpoints,
    b.opportunity_id AS week_opportunity_id,
    b.opportunity_name AS week_opportunity_name,
    b.deal_stage AS week_deal_stage,
    COALESCE(b.new_opportunities, 0) AS new_opportunities,
    COALESCE(b.deal_stage_changes, 0) AS deal_stage_changes,
    COALESCE(b.deal_stage_advances, 0) AS deal_stage_advances,
    COALESCE(b.deal_stage_setbacks, 0) AS deal_stage_setbacks,
    COALESCE(b.next_step_calls, 0) AS next_step_calls,
    COALESCE(b.next_step_mentions, 0) AS next_step_mentions,
    COALESCE(b.tasks_created, 0) AS tasks_created,
    COALESCE(b.pricing_calls, 0) AS pricing_calls,
    COALESCE(b.pricing_mentions, 0) AS pricing_mentions,
    COALESCE(b.objection_calls, 0) AS objection_calls,
    COALESCE(b.objection_mentions, 0) AS objection_mentions,
    COALESCE(b.new_qualification_fields, 0) AS new_fields,
    10 * COALESCE(b.deal_stage_advances, 0) - 10 * COALESCE(b.deal_stage_setbacks, 0) + 5 * COALESCE(b.new_opportunities, 0)
      + 3 * COALESCE(b.next_step_calls, 0) + 2 * COALESCE(b.new_qualification_fields, 0) + COALESCE(b.calls, 0)
      + COALESCE(b.emails, 0) + COALESCE(b.pricing_calls, 0) - 2 * COALESCE(b.objection_calls, 0) AS momentum_points,
    COALESCE(b.calls, 0) + COALESCE(b.emails, 0) + COALESCE(b.other_touchpoints, 0) + COALESCE(b.deal_stage_changes, 0) AS activity
  FROM weeks AS w
  LEFT JOIN by_week AS b ON b.customer_id = w.customer_id AND b.week_start = w.week_start
),
-- Running and rolling sums (one window order per customer): momentum over
-- 4 weeks and the 4 before, qualification fields covered so far.
rolled AS (
  SELECT
    k.*,
    COUNT(k.week_deal_stage) OVER (PARTITION BY k.customer_id ORDER BY k.week_start ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS deal_weeks,
    SUM(k.new_fields) OVER (PARTITION BY k.customer_id ORDER BY k.week_start ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS fields_covered,
    SUM(k.momentum_points) OVER (PARTITION BY k.customer_id ORDER BY k.week_start ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) AS momentum_4w,
    COALESCE(SUM(k.momentum_points) OVER (PARTITION BY k.customer_id ORDER BY k.week_start ROWS BETWEEN 7 PRECEDING AND 4 PRECEDING), 0)
      AS momentum_prev_4w,
    SUM(k.activity) OVER (PARTITION BY k.customer_id ORDER BY k.week_start ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) AS activity_4w
  FROM weekly AS k
),
-- The deal as of each week's end: that of the last week that named one.
-- Qualification coverage: NULL when no qualification is synced for the
-- customer.
carried AS (
  SELECT
    r.*,
    MAX(r.week_opportunity_id) OVER (PARTITION BY r.customer_id, r.deal_weeks) AS opportunity_id,
    MAX(r.week_opportunity_name) OVER (PARTITION BY r.customer_id, r.deal_weeks) AS opportunity_name,
    MAX(r.week_deal_stage) OVER (PARTITION BY r.customer_id, r.deal_weeks) AS deal_stage
  FROM rolled AS r
)
SELECT
  r.customer_id,
  cu.name AS customer_name,
  r.week_start,
  r.calls,
  r.emails,
  r.other_touchpoints,
  r.opportunity_id,
  r.opportunity_name,
  r.deal_stage,
  r.new_opportunities,
  r.deal_stage_changes,
  r.deal_stage_advances,
  r.deal_stage_setbacks,
  r.next_step_calls,
  r.next_step_mentions,
  r.tasks_created,
  r.pricing_calls,
  r.pricing_mentions,
  r.objection_calls,
  r.objection_mentions,
  fw.framework AS qualification_framework,
  CASE WHEN fw.framework IS NOT NULL THEN r.new_fields END AS new_qualification_fields,
  CASE WHEN fw.framework IS NOT NULL THEN r.fields_covered END AS qualification_fields_covered,
  fs.fields_total AS qualification_fields_total,
  CASE WHEN fw.framework IS NOT NULL THEN ROUND(r.fields_covered / fs.fields_total, 3) END AS qualification_coverage,
  r.momentum_points,
  r.momentum_4w,
  r.momentum_prev_4w,
  CASE
    WHEN r.activity_4w = 0 THEN 'stalled'
    WHEN r.momentum_4w - r.momentum_prev_4w >= 5 THEN 'rising'
    WHEN r.momentum_4w - r.momentum_prev_4w <= -5 THEN 'falling'
    ELSE 'steady'
  END AS momentum_trend
FROM carried AS r
JOIN {{ model("customers") }} AS cu ON cu.customer_id = r.customer_id
LEFT JOIN (SELECT DISTINCT customer_id, latest_framework AS framework FROM qual_calls) AS fw ON fw.customer_id = r.customer_id
LEFT JOIN framework_sizes AS fs ON fs.framework = fw.framework
