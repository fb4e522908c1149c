-- model: rep_scorecards
-- version: 1
-- depends: stg_users
-- description: Scorecards per rep (the scored user) and ISO week of
-- description: submission: how many, how many answers, the mean, lowest and
-- description: highest score, the distinct reviewers and calls, and the
-- description: weakest question of the week (lowest mean score; ties by name).
WITH answers AS (
  SELECT
    s.recipient_user_id AS user_id,
    {{ date_trunc_week(s.submitted_at) }} AS week_start,
    a.question_text,
    a.score
  FROM {{ raw("scorecards") }} AS s
  JOIN {{ raw("scorecard_answers") }} AS a ON a.scorecard_id = s.scorecard_id
  -- answers at positions a later edit removed stay in the raw table:
  -- answer_count says how many are current
  WHERE a.score IS NOT NULL AND a.answer_index < COALESCE(s.answer_count, 0)
),
weakest AS (
  SELECT user_id, week_start, question_text, AVG(score) AS question_mean
  FROM answers
  GROUP BY user_id, week_start, question_text
  QUALIFY ROW_NUMBER() OVER (PARTITION BY user_id, week_start ORDER BY AVG(score), question_text) = 1
),
cards AS (
  SELECT
    s.recipient_user_id AS user_id,
    MAX(s.recipient_name) AS recipient_name,
    {{ date_trunc_week(s.submitted_at) }} AS week_start,
    COUNT(DISTINCT s.scorecard_id) AS scorecards,
    COUNT(DISTINCT s.reviewer_user_id) AS reviewers,
    COUNT(DISTINCT s.call_id) AS calls
  FROM {{ raw("scorecards") }} AS s
  WHERE s.recipient_user_id IS NOT NULL AND s.submitted_at IS NOT NULL
  GROUP BY s.recipient_user_id, {{ date_trunc_week(s.submitted_at) }}
),
scores AS (
  SELECT user_id, week_start, COUNT(*) AS answers, AVG(score) AS mean_score, MIN(score) AS min_score, MAX(score) AS max_score
  FROM answers
  GROUP BY user_id, week_start
)
SELECT
  c.user_id,
  COALESCE(u.name, c.recipient_name) AS rep_name,
  u.email AS rep_email,
  u.team_id,
  c.week_start,
  c.scorecards,
  COALESCE(sc.answers, 0) AS answers,
  ROUND(sc.mean_score, 2) AS mean_score,
  sc.min_score,
  sc.max_score,
  c.reviewers,
  c.calls,
  w.question_text AS weakest_question,
  ROUND(w.question_mean, 2) AS weakest_question_mean
FROM cards AS c
LEFT JOIN scores AS sc ON sc.user_id = c.user_id AND sc.week_start = c.week_start
LEFT JOIN weakest AS w ON w.user_id = c.user_id AND w.week_start = c.week_start
LEFT JOIN {{ model("stg_users") }} AS u ON u.user_id = c.user_id
