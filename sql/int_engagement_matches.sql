-- model: int_engagement_matches
-- version: 2
-- depends: stg_calls, stg_engagements, customers, int_engagement_people, int_customer_domains
-- description: The customer of each engagement — recorded calls and the
-- description: others (emails, content views, …) alike — that matches one, by
-- description: the first rule that finds a customer: 1. crm_account_id
-- description: (account_id = customers.crm_account_id, case-insensitive;
-- description: confidence 1.0); 2. email_domain (external, non-free-mail people
-- description: whose domain is a customer domain or a subdomain of one;
-- description: confidence 0.5 + 0.4 x the share of such people that match);
-- description: 3. account_name (normalised account name = normalised customer
-- description: name; confidence 0.6). Ties within a rule: most matching
-- description: people, then the lowest customer_id. A call's people are its
-- description: participants; another engagement's, its listed emails.
WITH customers AS (
  SELECT
    customer_id,
    NULLIF(LOWER(TRIM(crm_account_id)), '') AS crm_norm,
    NULLIF({{ normalize_name(name) }}, '') AS name_norm
  FROM {{ model("customers") }}
),
accounts AS (
  SELECT call_id AS engagement_id, account_id_norm, account_name_norm, TRUE AS is_call
  FROM {{ model("stg_calls") }}
  UNION ALL
  SELECT engagement_id, account_id_norm, account_name_norm, FALSE AS is_call
  FROM {{ model("stg_engagements") }}
  WHERE NOT is_call
),
crm AS (
  SELECT a.engagement_id, cu.customer_id, 'crm_account_id' AS match_method, 1 AS method_rank, 1 AS votes, 1.0 AS match_confidence
  FROM accounts AS a
  JOIN customers AS cu ON cu.crm_norm = a.account_id_norm
),
external_people AS (
  SELECT engagement_id, COUNT(*) AS n
  FROM {{ model("int_engagement_people") }}
  WHERE is_external AND NOT is_free_mail AND email_domain IS NOT NULL
  GROUP BY engagement_id
),
domain_votes AS (
  SELECT p.engagement_id, d.customer_id, COUNT(DISTINCT p.participant_key) AS votes
  FROM {{ model("int_engagement_people") }} AS p
  JOIN {{ model("int_customer_domains") }} AS d
    ON p.email_domain = d.domain OR ENDS_WITH(p.email_domain, CONCAT('.', d.domain))
  WHERE p.is_external AND NOT p.is_free_mail
  GROUP BY p.engagement_id, d.customer_id
),
by_domain AS (
  SELECT v.engagement_id, v.customer_id, 'email_domain' AS match_method, 2 AS method_rank, v.votes,
    ROUND(0.5 + 0.4 * v.votes / e.n, 3) AS match_confidence
  FROM domain_votes AS v
  JOIN external_people AS e ON e.engagement_id = v.engagement_id
),
by_name AS (
  SELECT a.engagement_id, cu.customer_id, 'account_name' AS match_method, 3 AS method_rank, 1 AS votes, 0.6 AS match_confidence
  FROM accounts AS a
  JOIN customers AS cu ON cu.name_norm = a.account_name_norm
),
candidates AS (
  SELECT * FROM crm
  UNION ALL SELECT * FROM by_domain
  UNION ALL SELECT * FROM by_name
),
candidate_counts AS (
  SELECT engagement_id, COUNT(DISTINCT customer_id) AS n
  FROM candidates
  GROUP BY engagement_id
)
SELECT
  c.engagement_id,
  a.is_call,
  c.customer_id,
  c.match_method,
  c.match_confidence,
  c.votes AS match_votes,
  n.n AS candidate_customers
FROM candidates AS c
JOIN accounts AS a ON a.engagement_id = c.engagement_id
JOIN candidate_counts AS n ON n.engagement_id = c.engagement_id
WHERE TRUE
QUALIFY ROW_NUMBER() OVER (PARTITION BY c.engagement_id ORDER BY c.method_rank, c.votes DESC, c.customer_id) = 1
