-- model: customer_tasks
-- version: 2
-- depends: stg_action_items, customer_calls, health_weights
-- description: One task per action item. task_id = md5(call_id | normalised
-- description: text), so re-syncs never duplicate a task and an item the API
-- description: reports twice is one task. Assigned to the customer's CSM, or to
-- description: the call owner when the call matched no customer. due_date is
-- description: parsed from the due phrase (else the text) relative to the call
-- description: date, else the call date + var default_due_days; due_rule says
-- description: which rule applied. status (v2: a lifecycle, as Chorus has no
-- description: completion feed), evaluated at as_of, first rule that applies:
-- description: followed_up when a later call with the same customer took place
-- description: (started after the task's call, at or before as_of, not a
-- description: no-show: followed_up_at / followed_up_call_id name the first);
-- description: stale when more than health_weights.task_stale_days calendar
-- description: days passed from the call to as_of; overdue when due_date <
-- description: the as_of date; else open. open and overdue are the actionable
-- description: ones (what the health score and a CSM's open tasks count).
WITH items AS (
  SELECT
    a.*,
    TRIM({{ regexp_replace_all(LOWER(a.text), '[^\p{L}\p{N}]+', ' ') }}) AS text_norm,
    LOWER(COALESCE(a.due_hint, a.text)) AS due_text
  FROM {{ model("stg_action_items") }} AS a
),
unique_items AS (
  SELECT
    i.*,
    {{ md5_hex(CONCAT(i.call_id, '|', i.text_norm)) }} AS task_id
  FROM items AS i
  WHERE TRUE
  QUALIFY ROW_NUMBER() OVER (PARTITION BY i.call_id, i.text_norm
    ORDER BY CASE WHEN i.source = 'chorus' THEN 0 ELSE 1 END, i.item_index) = 1
),
with_call AS (
  SELECT
    u.*,
    c.customer_id,
    c.customer_name,
    c.csm_email,
    c.csm_name,
    c.owner_email,
    c.owner_name,
    c.title AS call_title,
    c.url,
    c.started_at,
    COALESCE(c.call_date, {{ as_of_date() }}) AS d0,
    {{ isodow(COALESCE(c.call_date, {{ as_of_date() }})) }} AS dow0
  FROM unique_items AS u
  LEFT JOIN {{ model("customer_calls") }} AS c ON c.call_id = u.call_id
),
phrases AS (
  SELECT
    w.*,
    {{ try_cast({{ regexp_extract(due_text, '\b(\d{4}-\d{2}-\d{2})\b') }}, "date") }} AS iso_date,
    {{ regexp_extract(due_text, '\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)(?:uary|ruary|ch|il|e|y|ust|t|tember|ember|ober)?\.?\s+\d{1,2}(?:st|nd|rd|th)?\b') }} AS md_month,
    {{ regexp_extract(due_text, '\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)(?:uary|ruary|ch|il|e|y|ust|t|tember|ember|ober)?\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b') }} AS md_day,
    {{ regexp_extract(due_text, '(?:^|[^\d/])(\d{1,2})/\d{1,2}(?:/\d{2,4})?\b') }} AS num_month,
    {{ regexp_extract(due_text, '(?:^|[^\d/])\d{1,2}/(\d{1,2})(?:/\d{2,4})?\b') }} AS num_day,
    {{ regexp_extract(due_text, '\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b') }} AS weekday_word,
    {{ regexp_extract(due_text, '\bin\s+(\d+|a|an|one|two|three|four|five|six|seven|a couple of|a few)\s+(?:business\s+|working\s+)?days?\b') }} AS in_days_word,
    {{ regexp_extract(due_text, '\bin\s+(\d+|a|an|one|two|three|four|a couple of|a few)\s+weeks?\b') }} AS in_weeks_word
  FROM with_call AS w
),
numbers AS (
  SELECT
    p.*,
    CASE md_month WHEN 'jan' THEN 1 WHEN 'feb' THEN 2 WHEN 'mar' THEN 3 WHEN 'apr' THEN 4 WHEN 'may' THEN 5
      WHEN 'jun' THEN 6 WHEN 'jul' THEN 7 WHEN 'aug' THEN 8 WHEN 'sep' THEN 9 WHEN 'oct' THEN 10
      WHEN 'nov' THEN 11 WHEN 'dec' THEN 12 END AS md_month_num,
    CASE weekday_word WHEN 'monday' THEN 1 WHEN 'tuesday' THEN 2 WHEN 'wednesday' THEN 3 WHEN 'thursday' THEN 4
      WHEN 'friday' THEN 5 WHEN 'saturday' THEN 6 WHEN 'sunday' THEN 7 END AS weekday_num,
    CASE
      WHEN in_days_word IN ('a', 'an', 'one') THEN 1 WHEN in_days_word = 'two' THEN 2
      WHEN in_days_word IN ('three', 'a couple of', 'a few') THEN 3 WHEN in_days_word = 'four' THEN 4
      WHEN in_days_word = 'five' THEN 5 WHEN in_days_word = 'six' THEN 6 WHEN in_days_word = 'seven' THEN 7
      ELSE {{ try_cast(in_days_word, "int") }} END AS in_days,
    CASE
      WHEN in_weeks_word IN ('a', 'an', 'one') THEN 1 WHEN in_weeks_word IN ('two', 'a couple of') THEN 2
      WHEN in_weeks_word IN ('three', 'a few') THEN 3 WHEN in_weeks_word = 'four' THEN 4
      ELSE {{ try_cast(in_weeks_word, "int") }} END AS in_weeks
  FROM phrases AS p
),
dates AS (
  SELECT
    n.*,
    {{ try_cast(CONCAT(CAST(EXTRACT(YEAR FROM d0) AS {{ cast_type("string") }}), '-', LPAD(CAST(md_month_num AS {{ cast_type("string") }}), 2, '0'), '-', LPAD(md_day, 2, '0')), "date") }} AS md_date,
    {{ try_cast(CONCAT(CAST(EXTRACT(YEAR FROM d0) AS {{ cast_type("string") }}), '-', LPAD(num_month, 2, '0'), '-', LPAD(num_day, 2, '0')), "date") }} AS num_date
  FROM numbers AS n
),
ruled AS (
  SELECT
    d.*,
    CASE
      WHEN iso_date IS NOT NULL THEN 'date'
      WHEN md_date IS NOT NULL THEN 'month_day'
      WHEN num_date IS NOT NULL THEN 'numeric_date'
      WHEN {{ regexp_matches(due_text, '\btomorrow\b') }} THEN 'tomorrow'
      WHEN {{ regexp_matches(due_text, '\b(today|tonight|eod|end of (the )?day)(?:$|[^\x27\p{L}])') }} THEN 'today'
      WHEN in_days IS NOT NULL THEN 'in_days'
      WHEN in_weeks IS NOT NULL THEN 'in_weeks'
      WHEN weekday_num IS NOT NULL AND {{ regexp_matches(due_text, '\bnext\s+(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b') }} THEN 'next_weekday'
      WHEN weekday_num IS NOT NULL THEN 'weekday'
      WHEN {{ regexp_matches(due_text, '\b(end of (the )?week|eow|this week)\b') }} THEN 'end_of_week'
      WHEN {{ regexp_matches(due_text, '\bnext week\b') }} THEN 'next_week'
      WHEN {{ regexp_matches(due_text, '\b(end of (the )?month|eom|this month)\b') }} THEN 'end_of_month'
      WHEN {{ regexp_matches(due_text, '\bnext month\b') }} THEN 'next_month'
      WHEN {{ regexp_matches(due_text, '\b(end of (the )?quarter|eoq|this quarter)\b') }} THEN 'end_of_quarter'
      WHEN {{ regexp_matches(due_text, '\b(end of (the )?year|eoy|this year)\b') }} THEN 'end_of_year'
      ELSE 'default'
    END AS due_rule
  FROM dates AS d
),
due AS (
  SELECT
    r.*,
    CASE due_rule
      WHEN 'date' THEN iso_date
      WHEN 'month_day' THEN CASE WHEN md_date < d0 THEN {{ date_add_months(md_date, 12) }} ELSE md_date END
      WHEN 'numeric_date' THEN CASE WHEN num_date < d0 THEN {{ date_add_months(num_date, 12) }} ELSE num_date END
      WHEN 'tomorrow' THEN {{ date_add_days(d0, 1) }}
      WHEN 'today' THEN d0
      WHEN 'in_days' THEN {{ date_add_days(d0, in_days) }}
      WHEN 'in_weeks' THEN {{ date_add_days(d0, 7 * in_weeks) }}
      WHEN 'next_weekday' THEN {{ date_add_days(d0, 8 - dow0 + weekday_num - 1) }}
      WHEN 'weekday' THEN {{ date_add_days(d0, MOD(weekday_num - dow0 + 6, 7) + 1) }}
      WHEN 'end_of_week' THEN {{ date_add_days(d0, CASE WHEN dow0 <= 5 THEN 5 - dow0 ELSE 12 - dow0 END) }}
      WHEN 'next_week' THEN {{ date_add_days(d0, 12 - dow0) }}
      WHEN 'end_of_month' THEN LAST_DAY(d0)
      WHEN 'next_month' THEN LAST_DAY({{ date_add_months(d0, 1) }})
      WHEN 'end_of_quarter' THEN {{ date_add_days({{ date_add_months({{ date_trunc_quarter(d0) }}, 3) }}, -1) }}
      WHEN 'end_of_year' THEN {{ try_cast(CONCAT(CAST(EXTRACT(YEAR FROM d0) AS {{ cast_type("string") }}), '-12-31'), "date") }}
      ELSE {{ date_add_days(d0, {{ var("default_due_days") }}) }}
    END AS due_date
  FROM ruled AS r
),
settings AS (
  SELECT MAX(CASE WHEN name = 'task_stale_days' THEN value END) AS task_stale_days
  FROM {{ model("health_weights") }}
),
-- The first later call with the same customer that took place: the task
-- was followed up then, whatever was said.
follow_ups AS (
  SELECT d.task_id, c.call_id AS followed_up_call_id, c.started_at AS followed_up_at
  FROM due AS d
  JOIN {{ model("customer_calls") }} AS c
    ON c.customer_id = d.customer_id
    AND c.started_at > d.started_at
    AND c.started_at <= {{ as_of() }}
  WHERE NOT COALESCE(c.no_show, FALSE) AND COALESCE(c.transcript_status, '') <> 'no_show'
  QUALIFY ROW_NUMBER() OVER (PARTITION BY d.task_id ORDER BY c.started_at, c.call_id) = 1
),
lifecycle AS (
  SELECT
    d.*,
    f.followed_up_at,
    f.followed_up_call_id,
    CASE
      WHEN f.followed_up_at IS NOT NULL THEN 'followed_up'
      WHEN d.started_at IS NOT NULL AND {{ ts_diff_days(d.started_at, {{ as_of() }}) }} > s.task_stale_days THEN 'stale'
      WHEN d.due_date < {{ as_of_date() }} THEN 'overdue'
      ELSE 'open'
    END AS status
  FROM due AS d
  LEFT JOIN follow_ups AS f ON f.task_id = d.task_id
  CROSS JOIN settings AS s
)
SELECT
  task_id,
  call_id,
  customer_id,
  customer_name,
  text AS description,
  source,
  owner_hint,
  COALESCE(csm_email, owner_email) AS assignee_email,
  COALESCE(csm_name, owner_name) AS assignee_name,
  CASE WHEN csm_email IS NOT NULL OR csm_name IS NOT NULL THEN 'csm' ELSE 'call_owner' END AS assigned_to,
  due_hint,
  due_rule,
  due_date,
  status,
  followed_up_at,
  followed_up_call_id,
  started_at AS created_at,
  call_title,
  url AS call_url,
  utterance_index,
  utterance_start_seconds,
  CASE
    WHEN url IS NULL THEN NULL
    WHEN utterance_start_seconds IS NULL THEN url
    ELSE CONCAT(url, '#t=', CAST(CAST(FLOOR(utterance_start_seconds) AS {{ cast_type("int") }}) AS {{ cast_type("string") }}))
  END AS call_link,
  item_index
FROM lifecycle
