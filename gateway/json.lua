-- The gateway's one JSON reader (RFC 8259), shared by both directions of contract.lua.
--
-- decode(s) returns a tree of nodes {t = "object"|"array"|"string"|"number"|"bool"|"null"}:
-- objects keep their keys in order (with duplicates, which the request checks refuse), numbers
-- their literal text, strings both their text (v) and their escaped form as written (raw).
-- Requests are checked on v (strict: UTF-8 text, no raw control characters). Responses are
-- read with { verbatim = true }: their strings are only compared as plain ASCII (codes, @type)
-- or copied back out, so they stay in their escaped form, which keeps the output valid JSON
-- without an unescape/escape round trip, whatever text the upstream put in them.
--
-- config.py inlines this file (as a function whose result is the module) ahead of contract.lua:
-- Envoy's Lua filter runs one inline chunk, in the dev mesh and in the cluster alike.

local M = {}

local MAX_DEPTH = 32
local ESCAPES = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

function M.skip_ws(s, i)
  return s:find("[^ \t\r\n]", i) or (#s + 1)
end

-- RFC 3629 UTF-8: no overlong forms, surrogates or code points past U+10FFFF. With
-- allow_controls false, C0 controls and DEL are refused too (never meaningful in a URL);
-- NUL is always refused (PostgreSQL text cannot hold it).
function M.valid_text(s, allow_controls)
  local i, n = 1, #s
  while i <= n do
    local c = s:byte(i)
    local len, cp
    if c < 0x80 then
      len, cp = 1, c
    elseif c >= 0xC2 and c <= 0xDF then
      len, cp = 2, c - 0xC0
    elseif c >= 0xE0 and c <= 0xEF then
      len, cp = 3, c - 0xE0
    elseif c >= 0xF0 and c <= 0xF4 then
      len, cp = 4, c - 0xF0
    else
      return false
    end
    if i + len - 1 > n then return false end
    for k = i + 1, i + len - 1 do
      local b = s:byte(k)
      if b < 0x80 or b > 0xBF then return false end
      cp = cp * 64 + (b - 0x80)
    end
    if (len == 3 and cp < 0x800) or (len == 4 and (cp < 0x10000 or cp > 0x10FFFF)) then return false end
    if cp >= 0xD800 and cp <= 0xDFFF then return false end
    if cp == 0 or (not allow_controls and (cp < 0x20 or cp == 0x7F)) then return false end
    i = i + len
  end
  return true
end

local function utf8_char(cp)
  if cp < 0x80 then return string.char(cp) end
  if cp < 0x800 then return string.char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return string.char(0xE0 + math.floor(cp / 4096), 0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return string.char(0xF0 + math.floor(cp / 262144), 0x80 + math.floor(cp / 4096) % 64,
    0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
end


local function text_string(s, i)
  local out, j = {}, i + 1
  while true do
    -- RFC 8259: only U+0000-U+001F must be escaped (DEL may appear as it is).
    local k = s:find('[\\"%z\1-\31]', j)
    if not k then error("unterminated string") end
    out[#out + 1] = s:sub(j, k - 1)
    local c = s:sub(k, k)
    if c == '"' then
      local text = table.concat(out)
      if not M.valid_text(text, true) then error("bad text") end
      return text, k + 1
    end
    if c ~= "\\" then error("control character in a string") end
    local e = s:sub(k + 1, k + 1)
    if ESCAPES[e] then
      out[#out + 1] = ESCAPES[e]
      j = k + 2
    elseif e == "u" then
      local hex = s:match("^%x%x%x%x", k + 2)
      if not hex then error("bad escape") end
      local cp = tonumber(hex, 16)
      j = k + 6
      if cp >= 0xD800 and cp <= 0xDBFF then
        local low = s:match("^\\u(%x%x%x%x)", j)
        local lo = low and tonumber(low, 16)
        if not lo or lo < 0xDC00 or lo > 0xDFFF then error("lone surrogate") end
        cp = 0x10000 + (cp - 0xD800) * 1024 + (lo - 0xDC00)
        j = j + 6
      elseif cp >= 0xDC00 and cp <= 0xDFFF then
        error("lone surrogate")
      end
      out[#out + 1] = utf8_char(cp)
    else
      error("bad escape")
    end
  end
end

-- RFC 8259 number: -?(0|[1-9]digits)(.digits)?([eE][+-]?digits)?; no NaN, Infinity, leading
-- zeros or "1." (a following digit after "0" fails at the caller: it expects a delimiter).
local function json_number(s, i)
  local j = i
  if s:sub(j, j) == "-" then j = j + 1 end
  local c = s:sub(j, j)
  if c == "0" then
    j = j + 1
  elseif c:match("^[1-9]$") then
    j = select(2, s:find("^%d+", j)) + 1
  else
    return nil
  end
  if s:sub(j, j) == "." then
    local last = select(2, s:find("^%d+", j + 1))
    if not last then return nil end
    j = last + 1
  end
  if s:sub(j, j):match("^[eE]$") then
    local k = j + 1
    if s:sub(k, k):match("^[%+%-]$") then k = k + 1 end
    local last = select(2, s:find("^%d+", k))
    if not last then return nil end
    j = last + 1
  end
  return s:sub(i, j - 1), j
end

-- A string in its escaped form, as written: only the closing quote is looked for.
local function verbatim_string(s, i)
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

local function read_string(s, i, opts)
  local raw, j = verbatim_string(s, i)
  if opts.verbatim then return { t = "string", raw = raw }, j end
  local text = text_string(s, i)
  return { t = "string", v = text, raw = raw }, j
end

local read_value

local function read_container(s, i, depth, is_object, opts)
  if depth > MAX_DEPTH then error("too deep") end
  local close = is_object and "}" or "]"
  local node = is_object and { t = "object", keys = {}, values = {} } or { t = "array", items = {} }
  i = M.skip_ws(s, i + 1)
  if s:sub(i, i) == close then return node, i + 1 end
  while true do
    if is_object then
      if s:sub(i, i) ~= '"' then error("expected a key") end
      local key
      key, i = read_string(s, i, opts)
      i = M.skip_ws(s, i)
      if s:sub(i, i) ~= ":" then error("expected ':'") end
      local value
      value, i = read_value(s, i + 1, depth + 1, opts)
      node.keys[#node.keys + 1] = opts.verbatim and key.raw or key.v
      node.values[#node.values + 1] = value
    else
      local value
      value, i = read_value(s, i, depth + 1, opts)
      node.items[#node.items + 1] = value
    end
    i = M.skip_ws(s, i)
    local c = s:sub(i, i)
    if c == close then return node, i + 1 end
    if c ~= "," then error("expected ',' or '" .. close .. "'") end
    i = M.skip_ws(s, i + 1)
  end
end

local LITERALS = { ["true"] = { t = "bool", v = true }, ["false"] = { t = "bool", v = false }, ["null"] = { t = "null" } }

read_value = function(s, i, depth, opts)
  i = M.skip_ws(s, i)
  local c = s:sub(i, i)
  if c == "{" then return read_container(s, i, depth, true, opts) end
  if c == "[" then return read_container(s, i, depth, false, opts) end
  if c == '"' then return read_string(s, i, opts) end
  for literal, node in pairs(LITERALS) do
    if s:sub(i, i + #literal - 1) == literal then return node, i + #literal end
  end
  local number, j = json_number(s, i)
  if not number then error("bad literal") end
  return { t = "number", v = number }, j
end

-- The document's root node, or nil when s is not one JSON value (opts: { verbatim = true }).
function M.decode(s, opts)
  local ok, value, i = pcall(read_value, s, 1, 1, opts or {})
  if ok and M.skip_ws(s, i) > #s then return value end
  return nil
end

-- Stands for JSON null in plain().
M.NULL = {}

-- A node as plain Lua values: objects and arrays as tables (a repeated key: the last value),
-- strings in their escaped form, numbers as numbers, null as M.NULL.
function M.plain(node)
  if node.t == "object" then
    local out = {}
    for index, key in ipairs(node.keys) do out[key] = M.plain(node.values[index]) end
    return out
  end
  if node.t == "array" then
    local out = {}
    for index, item in ipairs(node.items) do out[index] = M.plain(item) end
    return out
  end
  if node.t == "string" then return node.raw end
  if node.t == "number" then return tonumber(node.v) end
  if node.t == "null" then return M.NULL end
  return node.v
end

return M
