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
--   REQUEST_ROUTES   {method, pattern, message, body, bound} for every HTTP rule: the request
--                    message, whether the body is the message ("*"), path-bound JSON names
--   REQUEST_SCHEMAS  message full name -> JSON name -> {kind, repeated, type}
--   ENUM_VALUES      enum full name -> value name -> true
-- and, before them all, `json`: the JSON reader of json.lua.
--
-- On the way in it rejects query strings the transcoder would otherwise use to overwrite
-- fields the path already set (PATCH /v1/appointments/A/cancel?bookingId=B would cancel B),
-- and any query string on a method other than GET (those take body and path only).

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

-- What gRPC accepts as metadata (its spec: key 1*(0-9 a-z _ - .), value 1*(%x20-%x7E)); HTTP
-- allows more (x!y, obs-text), and such a header would fail the upstream call.
local function grpc_can_carry(name, value)
  return name:match("^[0-9a-z_%.%-]+$") ~= nil and not value:find("[^\32-\126]")
end

local function strip_grpc_metadata(map)
  local names = {}
  for name, value in pairs(map) do
    if name:sub(1, 1) ~= ":" and (name:sub(1, 5) == "grpc-" or name:sub(-4) == "-bin" or not grpc_can_carry(name, value)) then
      names[#names + 1] = name
    end
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

-- ------------------------------------------------------------------------ strict input
-- The transcoder is lenient ("yes" for a bool, enum numbers, single quotes, duplicate keys,
-- unknown fields dropped), so requests are checked here first against REQUEST_SCHEMAS, which
-- config.py generates from the descriptor set: bodies must be RFC 8259 JSON whose fields are
-- the request message's JSON (lowerCamelCase) names with the right types; query strings
-- name each known field once, with a value, enums by name. Everything is UTF-8 text.

local INT_RANGES = {
  int32 = { -2147483648, 2147483647 }, uint32 = { 0, 4294967295 },
  int64 = { -9223372036854775808, 9223372036854775807 }, uint64 = { 0, 18446744073709551615 },
}
local FLOAT_KINDS = { double = true, float = true }

-- What is wrong with one value of a field of this spec, or nil; messages recurse.
local check_message

local function value_problem(spec, node, path, problems)
  if node.t == "null" then return nil end -- proto3 JSON: null is the field's default
  local kind = spec.kind
  if kind == "string" then
    if node.t ~= "string" then return "has the wrong type" end
  elseif kind == "bool" then
    if node.t ~= "bool" then return "has the wrong type" end
  elseif INT_RANGES[kind] then
    local text = node.v
    -- 64-bit integers are strings in proto3 JSON (doubles cannot hold them); both accepted.
    if node.t == "string" and (kind == "int64" or kind == "uint64") then
      if not text:match("^%-?%d+$") then return "has the wrong type" end
    elseif node.t ~= "number" then
      return "has the wrong type"
    end
    if not text:match("^%-?%d+$") then return "is not a whole number in range" end
    local value, range = tonumber(text), INT_RANGES[kind]
    if value < range[1] or value > range[2] then return "is not a whole number in range" end
  elseif FLOAT_KINDS[kind] then
    if node.t ~= "number" then return "has the wrong type" end
  elseif kind == "enum" then
    if node.t ~= "string" or not ENUM_VALUES[spec.type][node.v] then return "has an unknown value" end
  elseif kind == "timestamp" then
    if node.t ~= "string" then return "is not a valid timestamp (RFC 3339, for example 2030-01-01T10:00:00Z)" end
  elseif kind == "duration" then
    if node.t ~= "string" then return "is not a valid duration (for example 3600s)" end
  elseif kind == "message" then
    if node.t ~= "object" then return "has the wrong type" end
    check_message(spec.type, node, path .. ".", problems, {})
  end
  return nil
end

-- A request can hold thousands of bad fields; the answer names the first ones only.
local MAX_PROBLEMS = 20

local function plain_name(name)
  return #name <= 64 and name:match("^[%a_][%w_]*$") ~= nil
end

-- Adds {field, description} to problems for every field of node that breaks the schema of
-- message type_name; skip names fields the request path sets (the path's value wins, so
-- a body or query value for them would silently be dropped).
check_message = function(type_name, node, prefix, problems, skip)
  local fields, seen = REQUEST_SCHEMAS[type_name], {}
  for index, key in ipairs(node.keys) do
    if #problems >= MAX_PROBLEMS then return end
    local spec, field = fields[key], prefix .. key
    local description
    if not plain_name(key) then
      description = "unnamed"
    elseif seen[key] then
      description = "is given more than once"
    elseif skip[key] then
      description = "is set by the request path and cannot be given in the body"
    elseif not spec then
      local camel_name = camel(key)
      description = "is not a known field"
      if camel_name ~= key and fields[camel_name] then description = description .. " (the name is " .. camel_name .. ")" end
    else
      local value = node.values[index]
      if spec.repeated and value.t ~= "null" then
        if value.t ~= "array" then
          description = "has the wrong type"
        else
          for _, item in ipairs(value.items) do
            local problem = item.t == "null" and "has the wrong type" or value_problem(spec, item, field, problems)
            if problem then
              description = "has an item that " .. problem
              break
            end
          end
        end
      else
        description = value_problem(spec, value, field, problems)
      end
    end
    seen[key] = true
    if description then problems[#problems + 1] = { field = field, description = description } end
  end
end

-- The schema entry of this request, or nil when no HTTP rule has its method and path.
local function request_route(method, path)
  local lowered = path:lower():gsub("/+$", "")
  for _, route in ipairs(REQUEST_ROUTES) do
    if route.method == method and lowered:match(route.pattern) then return route end
  end
  return nil
end

-- (escaped message, fields) for a list of problems; unnamed ones are not echoed.
local function problems_reply(problems, what, noun)
  local fields, unnamed = {}, false
  for _, p in ipairs(problems) do
    if p.description == "unnamed" then
      unnamed = true
    else
      fields[#fields + 1] = { field = p.field, description = quote(p.description) }
    end
  end
  if #problems == 1 and not unnamed then
    return quote("Field '" .. problems[1].field .. "' " .. problems[1].description .. "."), fields
  end
  if #problems == 1 then return quote("The " .. what .. " has a " .. noun .. " that this endpoint does not accept."), fields end
  return quote("The " .. what .. " has several invalid " .. noun .. "s."), fields
end

local function body_violation(route, raw)
  local doc = json.decode(raw)
  if doc == nil then return quote("The request body is not valid JSON."), {} end
  if doc.t ~= "object" then return quote("The request body must be a JSON object."), {} end
  local problems = {}
  check_message(route.message, doc, "", problems, route.bound)
  if #problems > 0 then return problems_reply(problems, "request body", "field") end
  return nil
end

local function percent_decode(text)
  return (text:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- Percent-encoded UTF-8 text: every % starts an escape (the transcoder would pass "%zz" on as is).
local function valid_encoded_text(raw, decode)
  return not raw:gsub("%%%x%x", ""):find("%", 1, true) and json.valid_text(decode(raw), false)
end

-- The query of a GET call, parameter by parameter (the path-variable rules ran before).
local function strict_query_violation(route, query)
  local fields = REQUEST_SCHEMAS[route.message]
  local problems, seen = {}, {}
  for pair in query:gmatch("[^&]+") do
    if #problems >= MAX_PROBLEMS then break end
    local raw_name, raw_value = pair:match("^([^=]*)=(.*)$")
    local name = url_decode(raw_name or pair)
    local field = plain_name(name) and name or nil
    local description
    if not valid_encoded_text(raw_name or pair, url_decode) or (raw_value and not valid_encoded_text(raw_value, url_decode)) then
      description = "is not valid UTF-8 text"
    elseif not raw_name then
      description = "needs a value (name=value)"
    elseif not field then
      description = "unnamed"
    elseif not fields[name] or route.bound[name] then
      -- The transcoder also takes proto (snake_case) names; the contract has one spelling.
      description = "is not a known parameter"
    elseif seen[name] and not fields[name].repeated then
      description = "is given more than once"
    elseif fields[name].kind == "enum" and not ENUM_VALUES[fields[name].type][url_decode(raw_value)] then
      description = "has an unknown value"
    end
    if field then seen[field] = true end
    if description then
      problems[#problems + 1] = { field = field or "", description = field and description or "unnamed",
        utf8 = description == "is not valid UTF-8 text" }
    end
  end
  if #problems == 0 then return nil end
  for _, p in ipairs(problems) do
    if p.utf8 and p.description == "unnamed" then return quote("The query string is not valid UTF-8 text."), {} end
  end
  return problems_reply(problems, "query string", "parameter")
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
  local function reject(message, fields)
    handle:respond({ [":status"] = "400", ["content-type"] = "application/json" },
      error_json("VALIDATION_ERROR", message, fields))
  end
  -- Headers gRPC interprets (grpc-timeout, grpc-encoding, binary "-bin" metadata) are not a
  -- REST client's to send, and headers gRPC metadata cannot carry are dropped: forwarded, either
  -- fails the upstream call (a 500).
  strip_grpc_metadata(headers)
  -- Path variables are strings: bytes that are not UTF-8 text would fail the service's
  -- protobuf decoding (a 500).
  if not valid_encoded_text(path, percent_decode) then
    return reject(quote("The request path is not valid UTF-8 text."), {})
  end
  local route = request_route(method, path)
  if query then
    local message, fields = query_violation(method, path, query)
    if not message and route and not route.body then message, fields = strict_query_violation(route, query) end
    if message then return reject(message, fields) end
  end
  if CREATE_ROUTES[(headers:get(":method") or "") .. " " .. path] then
    handle:streamInfo():dynamicMetadata():set(METADATA_NS, "create", "true")
  end
  if route and route.body then
    local body = handle:body()
    local raw = body and body:getBytes(0, body:length()) or ""
    -- An empty body is the empty message, as for the transcoder.
    if raw ~= "" then
      local message, fields = body_violation(route, raw)
      if message then return reject(message, fields) end
    end
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

  local node = json.decode(raw, { verbatim = true })
  local doc = node and json.plain(node)
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
