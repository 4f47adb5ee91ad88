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
--   ENUM_TYPES       full name -> true for every enum of the descriptor set
--   PATH_BINDINGS    {method, pattern, fields} for every HTTP rule that binds path variables:
--                    pattern is an anchored Lua pattern of the lower-cased path
--   METADATA_NS      dynamic metadata namespace used to pass state from request to response
--
-- On the way in it rejects query strings the transcoder would otherwise use to overwrite
-- fields the path already set (PATCH /v1/appointments/A/cancel?bookingId=B would cancel B),
-- and any query string on a method other than GET (those take body and path only).

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

-- Client text that may appear in a response: a short plain field path, or nothing.
local function safe_field(name)
  if #name <= 64 and name:match("^[%a_][%w_]*[%w_%.%[%]]*$") then return camel(name) end
  return nil
end

local INTEGER_TYPES = {
  TYPE_INT32 = true, TYPE_INT64 = true, TYPE_UINT32 = true, TYPE_UINT64 = true, TYPE_SINT32 = true,
  TYPE_SINT64 = true, TYPE_FIXED32 = true, TYPE_FIXED64 = true, TYPE_SFIXED32 = true, TYPE_SFIXED64 = true,
}

-- What is wrong with a field, from the transcoder's "<loc>: invalid value <value> for type <type>".
local function invalid_value_description(value, type_name)
  if type_name:match("^TYPE_") then
    if INTEGER_TYPES[type_name] and value:match("^%-?[%d%.]+[eE]?[%+%-]?%d*$") then
      return "is not a whole number in range"
    end
    return "has the wrong type"
  end
  local full = type_name:match("^type%.googleapis%.com/(.+)$")
  if full == nil then return "has an invalid value" end
  if ENUM_TYPES[full] then return "has an unknown value" end
  if full == "google.protobuf.Timestamp" then
    return "is not a valid timestamp (RFC 3339, for example 2030-01-01T10:00:00Z)"
  end
  if full == "google.protobuf.Duration" then return "is not a valid duration (for example 3600s)" end
  return "has an invalid value"
end

local function field_error(message, field, description)
  return quote(message), { { field = field, description = quote(description) } }
end

-- The transcoder's own rejection text (JSON-escaped, as local_reply_config put it in
-- "message") -> (escaped sentence, fields). It names protobuf types, parser state and
-- echoes pieces of the request, so none of it is copied out: only a field path, checked
-- to be plain, and our own words.
local function from_transcoder(escaped)
  local name = escaped:match('^Could not find field \\"([^\\"]*)\\"')
  if name then
    local field = safe_field(name)
    local message = "The query string has a parameter that this endpoint does not accept."
    if field then return field_error(message, field, "is not a known parameter") end
    return quote(message), {}
  end

  local loc, value, type_name = escaped:match("^(.-): invalid value (.*) for type (.+)$")
  if loc and loc:match("^[%w_%.%[%]]*$") then
    local field
    if value:match("^Starting an object") or value:match("^Starting a list") then
      -- Emitted before the field joins the location: the "type" is the field's name.
      if type_name:match("^[%a_][%w_]*$") then
        field = safe_field(loc == "" and type_name or loc .. "." .. type_name)
      end
      if field then
        return field_error("Field '" .. field .. "' has the wrong type.", field, "has the wrong type")
      end
      return quote("A field in the request has the wrong type."), {}
    end
    local description = invalid_value_description(value, type_name)
    -- A list element's location always says [0], whichever element it was: name the list.
    local list_path, indexes = loc:gsub("%[%d*%]", "")
    if indexes > 0 then description = "has an item that " .. description end
    field = list_path ~= "" and safe_field(list_path) or nil
    if field then return field_error("Field '" .. field .. "' " .. description .. ".", field, description) end
    return quote("A field in the request " .. description .. "."), {}
  end

  local missing_loc, missing = escaped:match("^([%w_%.%[%]]*): missing field ([%w_]+)$")
  if missing then
    local field = safe_field(missing_loc == "" and missing or missing_loc .. "." .. missing)
    if field then return field_error("Field '" .. field .. "' is required.", field, "is required") end
  end

  -- The JSON parser appends the offending input and a caret on lines of their own; checked
  -- before the phrases below, which that input could contain.
  if escaped:find("\\n", 1, true) or escaped:find("\\u000a", 1, true) then
    return quote("The request body is not valid JSON."), {}
  end
  local unknown = escaped:match("^([%w_%.%[%]]+): Cannot find field")
  if unknown or escaped:find("Cannot find field", 1, true) then
    local field = unknown and safe_field(unknown)
    local message = "The request body has a field that this endpoint does not accept."
    if field then return field_error(message, field, "is not a known field") end
    return quote(message), {}
  end
  if escaped:find("Root element must be a message", 1, true) then
    return quote("The request body must be a JSON object."), {}
  end
  if escaped:find("Proto field is not repeating, cannot start list", 1, true) then
    return quote("A field that takes a single value was given a list."), {}
  end
  return quote(GENERIC_MESSAGE["VALIDATION_ERROR"] .. "."), {}
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

local function url_decode(text)
  text = text:gsub("%+", " ")
  return (text:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- The transcoder resolves a query parameter by the field's proto or JSON name; compare
-- without case and underscores so that every spelling of a bound field is caught.
local function field_key(name)
  return (name:lower():gsub("_", ""))
end

-- Field paths the path template of this request binds: key -> name as clients spell it.
local function path_bound_fields(method, path)
  local bound = {}
  local lowered = path:lower():gsub("/+$", "")
  for _, rule in ipairs(PATH_BINDINGS) do
    if rule.method == method and lowered:match(rule.pattern) then
      for _, field in ipairs(rule.fields) do bound[field_key(field)] = camel(field) end
    end
  end
  return bound
end

-- The query-string rules; returns (escaped message, fields) of the rejection, or nil.
local function query_violation(method, path, query)
  local bound = path_bound_fields(method, path)
  local fields, seen, overrides = {}, {}, false
  for pair in query:gmatch("[^&]+") do
    local name = url_decode(pair:match("^[^=]*"))
    -- bookingId, booking_id.x, bookingId[0]: the field named is the one before . or [.
    local bound_name = nil
    local prefix = ""
    for part in name:gsub("%[.*$", ""):gmatch("[^%.]+") do
      prefix = prefix == "" and part or prefix .. "." .. part
      bound_name = bound_name or bound[field_key(prefix)]
    end
    local field, description
    if bound_name then
      overrides = true
      field, description = bound_name, "is set by the request path and cannot be given in the query string"
    elseif method ~= "GET" then
      field, description = safe_field(name), "query parameters are only accepted on GET requests"
    end
    if field and not seen[field] then
      seen[field] = true
      fields[#fields + 1] = { field = field, description = quote(description) }
    end
  end
  if overrides then
    return quote("The query string cannot change a value that the request path sets."), fields
  end
  if method ~= "GET" and query ~= "" then
    return quote("Query parameters are only accepted on GET requests; send the input in the JSON body."), fields
  end
  return nil
end

function envoy_on_request(handle)
  local headers = handle:headers()
  local method = (headers:get(":method") or ""):upper()
  local target = headers:get(":path") or ""
  local path = target:gsub("%?.*$", "")
  local query = target:match("%?(.*)$")
  if query then
    local message, fields = query_violation(method, path, query)
    if message then
      local out = error_json("VALIDATION_ERROR", message, fields)
      handle:respond({ [":status"] = "400", ["content-type"] = "application/json" }, out)
      return
    end
  end
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
    -- Only the transcoder's rejections come without "fields" (see local_reply_config).
    code = doc.code
    message, fields = from_transcoder(type(doc.message) == "string" and doc.message or "")
    http_status = status -- Envoy chose it: keep it
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
