-- Response shaping for the public REST listener.
--
-- Runs before the gRPC-JSON transcoder in the filter chain, so on the way back it sees the
-- transcoded response. With convert_grpc_status the transcoder turns a failed RPC into
-- Google's error JSON, {"code":<grpc code>,"message":...,"details":[ErrorInfo, BadRequest]}, with
-- an HTTP status guessed from the gRPC code. This script rewrites that into the REST contract,
-- {"code":"<CODE>","message":...[,"fields":[{"field","description"}]]}, with the status from
-- the error table, answers 201 for successful creates and drops every grpc-* header.
--
-- config.py prepends the tables this script reads, rendered from mesh_common.errors:
--   ERROR_STATUS     contract code -> HTTP status
--   GRPC_FALLBACK    numeric gRPC code -> contract code, for errors without a known ErrorInfo
--   GENERIC_MESSAGE  contract code -> message used when the upstream's text must not leak
--   CREATE_ROUTES    "METHOD /path" -> true for the RPCs that create a resource
--   METADATA_NS      dynamic metadata namespace used to pass state from request to response

-- Minimal JSON reader. Strings stay in their escaped JSON form: we only compare plain ASCII
-- values (codes, @type) and copy messages back out verbatim, which keeps the output valid JSON
-- without an unescape/escape round trip.
local NULL = {}

local function skip_ws(s, i)
  return s:find("[^ \t\r\n]", i) or (#s + 1)
end

local function read_string(s, i)
  local j = i + 1
  while true do
    local k = s:find('[\\"]', j)
    if not k then error("unterminated string") end
    if s:sub(k, k) == "\\" then
      j = k + 2
    else
      return s:sub(i + 1, k - 1), k + 1
    end
  end
end

local read_value

local function read_container(s, i, close, is_object)
  local out = {}
  i = skip_ws(s, i + 1)
  if s:sub(i, i) == close then return out, i + 1 end
  while true do
    local key, value
    if is_object then
      if s:sub(i, i) ~= '"' then error("expected a key") end
      key, i = read_string(s, i)
      i = skip_ws(s, i)
      if s:sub(i, i) ~= ":" then error("expected ':'") end
      i = i + 1
    end
    value, i = read_value(s, i)
    if is_object then out[key] = value else out[#out + 1] = value end
    i = skip_ws(s, i)
    local c = s:sub(i, i)
    if c == close then return out, i + 1 end
    if c ~= "," then error("expected ',' or '" .. close .. "'") end
    i = skip_ws(s, i + 1)
  end
end

read_value = function(s, i)
  i = skip_ws(s, i)
  local c = s:sub(i, i)
  if c == "{" then return read_container(s, i, "}", true) end
  if c == "[" then return read_container(s, i, "]", false) end
  if c == '"' then return read_string(s, i) end
  local literal = s:match("^[%w%.%+%-]+", i)
  if not literal then error("unexpected character") end
  local value
  if literal == "true" then value = true
  elseif literal == "false" then value = false
  elseif literal == "null" then value = NULL
  else value = tonumber(literal) end
  if value == nil then error("bad literal") end
  return value, i + #literal
end

local function decode(s)
  local ok, value, i = pcall(read_value, s, 1)
  if ok and skip_ws(s, i) > #s then return value end
  return nil
end

-- Escape a plain Lua string (our own messages) for JSON.
local function quote(text)
  return (text:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    return string.format("\\u%04x", c:byte())
  end))
end

-- VALIDATION_ERROR always carries "fields" (possibly empty) so clients can rely on it.
local function error_json(code, escaped_message, fields)
  local parts = { '{"code":"', code, '","message":"', escaped_message, '"' }
  if code == "VALIDATION_ERROR" then
    local items = {}
    for _, f in ipairs(fields or {}) do
      items[#items + 1] = '{"field":"' .. f.field .. '","description":"' .. f.description .. '"}'
    end
    parts[#parts + 1] = ',"fields":[' .. table.concat(items, ",") .. "]"
  end
  parts[#parts + 1] = "}"
  return table.concat(parts)
end

local function camel(name)
  return (name:gsub("_(%l)", string.upper))
end

-- The transcoder's own rejections (local_reply_config wraps them as "Invalid request: ...")
-- name the offending field in snake_case; report it the way clients spell it.
local function fields_from_transcoder(escaped_message)
  local field = escaped_message:match('Could not find field \\"([%w_%.]+)\\"')
  if field then
    return { { field = camel(field), description = "is not a known parameter" } }
  end
  local name, description = escaped_message:match("^Invalid request: ([%a_][%w_%.]*): (.+)$")
  if name then
    return { { field = camel(name), description = description } }
  end
  return {}
end

local function type_is(detail, name)
  local t = type(detail) == "table" and detail["@type"]
  return type(t) == "string" and t:sub(-#name - 1) == "." .. name
end

-- Google's error JSON -> (code, escaped message, fields).
local function from_google_status(doc)
  local reason, fields = nil, {}
  if type(doc.details) == "table" then
    for _, detail in ipairs(doc.details) do
      if type_is(detail, "ErrorInfo") and type(detail.reason) == "string" then
        reason = detail.reason
      elseif type_is(detail, "BadRequest") and type(detail.fieldViolations) == "table" then
        for _, v in ipairs(detail.fieldViolations) do
          if type(v) == "table" then
            fields[#fields + 1] = {
              field = type(v.field) == "string" and v.field or "",
              description = type(v.description) == "string" and v.description or "",
            }
          end
        end
      end
    end
  end
  local message = type(doc.message) == "string" and doc.message or ""
  local code = reason
  if not (code and ERROR_STATUS[code]) then
    -- No contract reason: classify by gRPC code and do not echo text we did not write
    -- for server-side failures (it may be an exception string or Envoy's connect error).
    code = GRPC_FALLBACK[doc.code] or "INTERNAL"
    if GENERIC_MESSAGE[code] then message = quote(GENERIC_MESSAGE[code]) end
  end
  if message == "" then message = quote(GENERIC_MESSAGE[code] or "The request failed") end
  return code, message, fields
end

local function strip_grpc(map)
  if not map then return end
  local names = {}
  for name, _ in pairs(map) do
    if name:sub(1, 5) == "grpc-" then names[#names + 1] = name end
  end
  for _, name in ipairs(names) do map:remove(name) end
end

function envoy_on_request(handle)
  local headers = handle:headers()
  local path = (headers:get(":path") or ""):gsub("%?.*$", "")
  if CREATE_ROUTES[(headers:get(":method") or "") .. " " .. path] then
    handle:streamInfo():dynamicMetadata():set(METADATA_NS, "create", "true")
  end
end

function envoy_on_response(handle)
  local headers = handle:headers()
  local status = tonumber(headers:get(":status")) or 500
  local grpc_status = tonumber(headers:get("grpc-status") or "0") or 0

  if status < 400 and grpc_status == 0 then
    strip_grpc(headers)
    if status == 200 then
      local meta = handle:streamInfo():dynamicMetadata():get(METADATA_NS)
      if meta and meta["create"] == "true" then headers:replace(":status", "201") end
    end
    return
  end

  local body = handle:body(true)
  local raw = body:getBytes(0, body:length())
  -- body() may have paused the stream: only the header map fetched now is safe to change.
  headers = handle:headers()
  strip_grpc(headers)
  strip_grpc(handle:trailers())

  local doc = decode(raw)
  local code, message, fields, http_status
  if type(doc) == "table" and type(doc.code) == "string" and ERROR_STATUS[doc.code] then
    -- Already in contract shape: Envoy's local_reply_config produced it.
    if doc.code ~= "VALIDATION_ERROR" or doc.fields ~= nil then
      headers:replace("content-type", "application/json")
      return
    end
    code = doc.code
    message = type(doc.message) == "string" and doc.message or quote(GENERIC_MESSAGE[code])
    fields = fields_from_transcoder(message)
    http_status = status -- Envoy chose it (400, 413, ...): keep it
  elseif type(doc) == "table" and type(doc.code) == "number" then
    code, message, fields = from_google_status(doc)
  else
    -- Trailers-only gRPC error the transcoder did not convert, or a stray non-JSON body.
    code = GRPC_FALLBACK[grpc_status] or STATUS_FALLBACK[status] or "INTERNAL"
    message = quote(GENERIC_MESSAGE[code] or "The request failed")
  end

  local out = error_json(code, message, fields)
  body:setBytes(out)
  headers = handle:headers()
  headers:replace(":status", tostring(http_status or ERROR_STATUS[code] or status))
  headers:replace("content-type", "application/json")
  headers:replace("content-length", tostring(#out))
end
