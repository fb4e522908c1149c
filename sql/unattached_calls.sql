-- model: unattached_calls
-- version: 1
-- depends: customer_calls, int_call_participants
-- description: Calls that matched no customer, with what could identify them.
-- description: Models are rebuilt from raw on every run, so such a call
-- description: attaches by itself once its customer is in the customer list.
WITH domains AS (
  SELECT
    call_id,
    STRING_AGG(DISTINCT email_domain, '; ' ORDER BY email_domain) AS external_domains,
    SUM(CASE WHEN NOT is_free_mail AND email_domain IS NOT NULL THEN 1 ELSE 0 END) AS company_emails,
    SUM(CASE WHEN is_free_mail THEN 1 ELSE 0 END) AS free_mail_emails
  FROM {{ model("int_call_participants") }}
  WHERE is_external
  GROUP BY call_id
)
SELECT
  c.call_id,
  c.title,
  c.started_at,
  c.account_id,
  c.account_name,
  d.external_domains,
  c.participant_emails,
  c.owner_name,
  c.owner_email,
  c.url,
  CASE
    WHEN c.account_id IS NULL AND c.account_name IS NULL AND COALESCE(d.company_emails, 0) = 0 AND COALESCE(d.free_mail_emails, 0) > 0
      THEN 'only free-mail participants and no CRM account'
    WHEN c.account_id IS NULL AND c.account_name IS NULL AND COALESCE(d.company_emails, 0) = 0
      THEN 'no CRM account and no external email'
    ELSE 'no customer has this CRM account id, email domain or name'
  END AS reason
FROM {{ model("customer_calls") }} AS c
LEFT JOIN domains AS d ON d.call_id = c.call_id
WHERE c.customer_id IS NULL
