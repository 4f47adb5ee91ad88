-- The token rules jwt_authn cannot express (mesh_common.auth.check_claims applies the same in
-- the services). Runs right after jwt_authn and before RBAC, so a token breaking them is a 401
-- on every route, admin or public, never RBAC's 403.
--
-- config.py prepends CLOCK_SKEW_SECONDS, MAX_TOKEN_LIFETIME_SECONDS and UNAUTHENTICATED_JSON.

local function number(value)
  return type(value) == "number" and value == value
end

local function violates(claims)
  if type(claims.sub) ~= "string" or claims.sub == "" then return true end
  if not (number(claims.iat) and number(claims.exp)) then return true end
  if claims.iat > os.time() + CLOCK_SKEW_SECONDS then return true end
  return claims.exp - claims.iat > MAX_TOKEN_LIFETIME_SECONDS
end

function envoy_on_request(handle)
  local verified = handle:streamInfo():dynamicMetadata():get("envoy.filters.http.jwt_authn")
  local claims = verified and verified["jwt_payload"]
  -- No payload: no token was sent on a public route (jwt_authn refused every other case).
  if type(claims) == "table" and violates(claims) then
    handle:respond({ [":status"] = "401", ["content-type"] = "application/json" }, UNAUTHENTICATED_JSON)
  end
end
