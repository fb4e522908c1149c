-- model: int_call_participants
-- version: 1
-- depends: stg_participants, int_seller_domains, free_mail_domains
-- description: Participants classified for matching: is_external when neither
-- description: a rep nor on a seller domain; is_free_mail for free-mail domains.
SELECT
  p.call_id,
  p.participant_key,
  p.name,
  p.email,
  p.email_domain,
  p.participant_type,
  p.is_rep,
  (s.domain IS NOT NULL) AS is_seller_domain,
  (f.domain IS NOT NULL) AS is_free_mail,
  (NOT p.is_rep AND s.domain IS NULL) AS is_external
FROM {{ model("stg_participants") }} AS p
LEFT JOIN {{ model("int_seller_domains") }} AS s ON s.domain = p.email_domain
LEFT JOIN {{ model("free_mail_domains") }} AS f ON f.domain = p.email_domain
