-- model: stg_participants
-- version: 1
-- materialized: view
-- description: People on each call; email and domain lower-cased, is_rep filled from participant_type.
SELECT
  p.call_id,
  p.participant_key,
  p.person_id,
  p.user_id,
  p.name,
  NULLIF(LOWER(TRIM(p.email)), '') AS email,
  NULLIF(LOWER(TRIM(COALESCE(p.email_domain, CASE WHEN STRPOS(p.email, '@') > 0 THEN SUBSTR(p.email, STRPOS(p.email, '@') + 1) END))), '') AS email_domain,
  p.title,
  p.company_name,
  COALESCE(p.participant_type, 'unknown') AS participant_type,
  COALESCE(p.is_rep, p.participant_type = 'rep', FALSE) AS is_rep
FROM {{ raw("participants") }} AS p
