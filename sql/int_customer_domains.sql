-- model: int_customer_domains
-- version: 1
-- depends: customers, free_mail_domains
-- description: One row per customer email domain (customers.domains split on
-- description: ";", lower-cased, "@" and "www." dropped). Free-mail domains are
-- description: left out: they never identify a customer.
WITH parts AS (
  SELECT
    c.customer_id,
    LOWER(TRIM(d)) AS raw_domain
  FROM {{ model("customers") }} AS c
  CROSS JOIN {{ unnest_split(COALESCE(c.domains, ''), ';', d) }}
),
cleaned AS (
  SELECT
    customer_id,
    {{ regexp_replace_all(raw_domain, '^(?:@|www\.)', '') }} AS domain
  FROM parts
)
SELECT DISTINCT customer_id, domain
FROM cleaned
WHERE domain <> ''
  AND NOT EXISTS (SELECT 1 FROM {{ model("free_mail_domains") }} AS f WHERE f.domain = cleaned.domain)
