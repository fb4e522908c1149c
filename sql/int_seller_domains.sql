-- model: int_seller_domains
-- version: 1
-- depends: seller_domains_config, stg_users, stg_participants, int_customer_domains, free_mail_domains
-- description: The seller's own email domains, never matched to a customer:
-- description: the configured list, the domains of the seller's Chorus users,
-- description: and the domains of rep participants that are not a customer's
-- description: domain. Free-mail domains are left out (they are excluded anyway).
WITH d AS (
  SELECT LOWER(TRIM(domain)) AS domain, 'config' AS source
  FROM {{ model("seller_domains_config") }}
  UNION ALL
  SELECT SUBSTR(email, STRPOS(email, '@') + 1) AS domain, 'users' AS source
  FROM {{ model("stg_users") }}
  WHERE STRPOS(email, '@') > 0
  UNION ALL
  SELECT p.email_domain AS domain, 'rep_participants' AS source
  FROM {{ model("stg_participants") }} AS p
  WHERE p.is_rep AND p.email_domain IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM {{ model("int_customer_domains") }} AS cd WHERE cd.domain = p.email_domain)
)
SELECT domain, MIN(source) AS source
FROM d
WHERE domain IS NOT NULL AND domain <> ''
  AND NOT EXISTS (SELECT 1 FROM {{ model("free_mail_domains") }} AS f WHERE f.domain = d.domain)
GROUP BY domain
