-- model: stg_users
-- version: 1
-- materialized: view
-- description: The seller's Chorus users.
SELECT
  u.user_id,
  u.name,
  NULLIF(LOWER(TRIM(u.email)), '') AS email,
  u.role,
  u.team_id,
  u.active
FROM {{ raw("users") }} AS u
