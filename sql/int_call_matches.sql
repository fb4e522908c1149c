-- model: int_call_matches
-- version: 1
-- depends: stg_calls, customers, int_call_participants, int_customer_domains
-- description: The customer of each call that matches one, by the first rule
-- description: that finds a customer: 1. crm_account_id (calls.account_id =
-- description: customers.crm_account_id, case-insensitive; confidence 1.0);
-- description: 2. email_domain (external, non-free-mail participants whose
-- description: domain is a customer domain or a subdomain of one; confidence
-- description: 0.5 + 0.4 x the share of such participants that match);
-- description: 3. account_name (normalised account name = normalised customer
-- description: name; confidence 0.6). Ties within a rule: most matching
-- description: participants, then the lowest customer_id.
WITH customers AS (
  SELECT
    customer_id,
    NULLIF(LOWER(TRIM(crm_account_id)), '') AS crm_norm,
    NULLIF({{ normalize_name(name) }}, '') AS name_norm
  FROM {{ model("customers") }}
),
crm AS (
  SELECT c.call_id, cu.customer_id, 'crm_account_id' AS match_method, 1 AS method_rank, 1 AS votes, 1.0 AS match_confidence
  FROM {{ model("stg_calls") }} AS c
  JOIN customers AS cu ON cu.crm_norm = c.account_id_norm
),
external_people AS (
  SELECT call_id, COUNT(*) AS n
  FROM {{ model("int_call_participants") }}
  WHERE is_external AND NOT is_free_mail AND email_domain IS NOT NULL
  GROUP BY call_id
),
domain_votes AS (
  SELECT p.call_id, d.customer_id, COUNT(DISTINCT p.participant_key) AS votes
  FROM {{ model("int_call_participants") }} AS p
  JOIN {{ model("int_customer_domains") }} AS d
    ON p.email_domain = d.domain OR ENDS_WITH(p.email_domain, CONCAT('.', d.domain))
  WHERE p.is_external AND NOT p.is_free_mail
  GROUP BY p.call_id, d.customer_id
),
by_domain AS (
  SELECT v.call_id, v.customer_id, 'email_domain' AS match_method, 2 AS method_rank, v.votes,
    ROUND(0.5 + 0.4 * v.votes / e.n, 3) AS match_confidence
  FROM domain_votes AS v
  JOIN external_people AS e ON e.call_id = v.call_id
),
by_name AS (
  SELECT c.call_id, cu.customer_id, 'account_name' AS match_method, 3 AS method_rank, 1 AS votes, 0.6 AS match_confidence
  FROM {{ model("stg_calls") }} AS c
  JOIN customers AS cu ON cu.name_norm = c.account_name_norm
),
candidates AS (
  SELECT * FROM crm
  UNION ALL SELECT * FROM by_domain
  UNION ALL SELECT * FROM by_name
)
SELECT
  call_id,
  customer_id,
  match_method,
  match_confidence,
  votes AS match_votes,
  COUNT(DISTINCT customer_id) OVER (PARTITION BY call_id) AS candidate_customers
FROM candidates
WHERE TRUE
QUALIFY ROW_NUMBER() OVER (PARTITION BY call_id ORDER BY method_rank, votes DESC, customer_id) = 1
