-- model: int_engagement_people
-- version: 1
-- depends: int_call_participants, stg_engagements, int_seller_domains, free_mail_domains
-- description: The people on every engagement, classified for customer
-- description: matching: a call's participants (int_call_participants), and for
-- description: the other engagements (emails, content views, …) the listed
-- description: participant emails — external when not on a seller domain.
WITH listed AS (
  SELECT
    e.engagement_id,
    LOWER(TRIM(p)) AS email
  FROM {{ model("stg_engagements") }} AS e
  CROSS JOIN {{ unnest_list(e.participant_emails, p) }}
  WHERE NOT e.is_call
),
classified AS (
  SELECT
    l.engagement_id,
    l.email,
    NULLIF(SUBSTR(l.email, STRPOS(l.email, '@') + 1), '') AS email_domain
  FROM listed AS l
  WHERE STRPOS(l.email, '@') > 0
)
SELECT
  call_id AS engagement_id,
  participant_key,
  email_domain,
  is_external,
  is_free_mail,
  TRUE AS is_call
FROM {{ model("int_call_participants") }}
UNION ALL
SELECT DISTINCT
  c.engagement_id,
  CONCAT('e:', c.email) AS participant_key,
  c.email_domain,
  (s.domain IS NULL) AS is_external,
  (f.domain IS NOT NULL) AS is_free_mail,
  FALSE AS is_call
FROM classified AS c
LEFT JOIN {{ model("int_seller_domains") }} AS s ON s.domain = c.email_domain
LEFT JOIN {{ model("free_mail_domains") }} AS f ON f.domain = c.email_domain
