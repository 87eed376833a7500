-- premix sandbox prelude. Runs once in every Lua state premix creates,
-- before any script, with the host functions as arguments. It closes the
-- holes the instruction hook cannot see: C library loops that run without
-- executing VM instructions, and `pcall` swallowing the limit errors.
-- It returns `freeze`, which premix uses to hand read-only tables to scripts.
--
-- Everything the wrappers need is captured in locals here, so a script that
-- replaces `string.find` or `table.concat` only changes its own view. The
-- library functions keep their short names as locals, so that their
-- argument errors read "bad argument #1 to 'rep'"; but `function
-- setmetatable` with a local `setmetatable` in scope would assign the local,
-- not the global, hence `setmeta`.

local check, guard, emit = ...

local error, type, tostring, tonumber, select, next =
  error, type, tostring, tonumber, select, next
local setmeta, rawget = setmetatable, rawget
local pcall0, xpcall0 = pcall, xpcall
local co_resume, co_close = coroutine.resume, coroutine.close
local find, match, gmatch, gsub, rep =
  string.find, string.match, string.gmatch, string.gsub, string.rep
local concat, sort = table.concat, table.sort
local tointeger, maxinteger = math.tointeger, math.maxinteger

-- 1. A limit error (instructions, time) must end the script even inside a
--    protected call: after every failed protected call, `check` raises again
--    if a limit was reached.
local function rethrow(ok, ...)
  if not ok then check() end
  return ok, ...
end
function pcall(f, ...) return rethrow(pcall0(f, ...)) end
function xpcall(f, h, ...) return rethrow(xpcall0(f, h, ...)) end
function coroutine.resume(co, ...) return rethrow(co_resume(co, ...)) end
function coroutine.close(co) return rethrow(co_close(co)) end

-- 2. Objects with finalizers would run script code after premix is done with
--    the state (when it is closed), outside any limit. In Lua 5.4 an object
--    is marked for finalization only if `__gc` is present when its metatable
--    is set, so refusing it here is enough.
function setmetatable(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("__gc metamethods are not available in premix scripts", 2)
  end
  return setmeta(t, mt)
end

-- 3. Pattern matching runs in C: ask the host for a cost estimate first.
function string.find(s, p, init, plain)
  guard("find", s, p, plain)
  return find(s, p, init, plain)
end
function string.match(s, p, init)
  guard("match", s, p)
  return match(s, p, init)
end
function string.gmatch(s, p, init)
  guard("gmatch", s, p)
  return gmatch(s, p, init)
end
function string.gsub(s, p, repl, n)
  guard("gsub", s, p)
  return gsub(s, p, repl, n)
end

-- 4. `string.rep("", 2^62)` loops 2^62 times in C without allocating.
function string.rep(s, n, sep)
  if s == "" and (sep == nil or sep == "") then
    local k = tonumber(n)
    if k then return "" end
  end
  return rep(s, n, sep)
end

-- 5. table.insert/remove/move loop in C over a length or range the script
--    chooses (`__len` may return 2^62). These versions loop in Lua, where
--    every step counts against the instruction budget.
local function int_arg(v, i, fname)
  local k = tointeger(v)
  if k == nil then
    error("bad argument #" .. i .. " to '" .. fname .. "' (number has no integer representation)", 3)
  end
  return k
end

function table.insert(t, ...)
  local nargs = select("#", ...)
  local e = #t + 1
  if nargs == 1 then
    t[e] = ...
    return
  elseif nargs ~= 2 then
    error("wrong number of arguments to 'insert'", 2)
  end
  local pos, v = ...
  pos = int_arg(pos, 2, "insert")
  if pos < 1 or pos > e then
    error("bad argument #2 to 'insert' (position out of bounds)", 2)
  end
  for i = e, pos + 1, -1 do t[i] = t[i - 1] end
  t[pos] = v
end

function table.remove(t, pos)
  local size = #t
  if pos == nil then
    pos = size
  else
    pos = int_arg(pos, 2, "remove")
    if pos ~= size and (pos < 1 or pos > size + 1) then
      error("bad argument #2 to 'remove' (position out of bounds)", 2)
    end
  end
  local v = t[pos]
  while pos < size do
    t[pos] = t[pos + 1]
    pos = pos + 1
  end
  t[pos] = nil
  return v
end

function table.move(a1, f, e, t, a2)
  a2 = a2 or a1
  f, e, t = int_arg(f, 2, "move"), int_arg(e, 3, "move"), int_arg(t, 4, "move")
  if e >= f then
    if not (f > 0 or e < maxinteger + f) then
      error("bad argument #3 to 'move' (too many elements to move)", 2)
    end
    if t > maxinteger - (e - f) then
      error("bad argument #4 to 'move' (destination wrap around)", 2)
    end
    if t > e or t <= f or a1 ~= a2 then
      for i = 0, e - f do a2[t + i] = a1[f + i] end
    else
      for i = e - f, 0, -1 do a2[t + i] = a1[f + i] end
    end
  end
  return a2
end

-- table.sort trusts `#t` and calls the comparison from C: sort a plain copy
-- (copied in Lua, so a huge `__len` costs instructions) and compare through
-- a Lua function, so a C comparison such as `math.type` is counted too.
function table.sort(t, cmp)
  local n = #t
  local copy = {}
  for i = 1, n do
    local v = t[i]
    if v == nil then
      error("bad argument #1 to 'sort' (nil at index " .. i .. ")", 2)
    end
    copy[i] = v
  end
  if cmp ~= nil then
    local f = cmp
    sort(copy, function(a, b) return f(a, b) end)
  else
    sort(copy)
  end
  for i = 1, n do t[i] = copy[i] end
end

-- 6. `print` goes to premix's log (capped by the host), never to a file.
function print(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  emit(concat(parts, "\t"))
end

-- Read-only views. `freeze(t, what, keys)` returns an empty proxy whose
-- metatable reads from `t`, refuses writes, and (when `keys` is given)
-- refuses to read names that are not facts, so `track.nmae` is an error and
-- not a silent nil. `__metatable` hides the metatable and makes
-- `setmetatable` on the proxy fail.
local function freeze(t, what, keys)
  local proxy = {}
  setmeta(proxy, {
    __index = function(_, k)
      local v = t[k]
      if v == nil and keys ~= nil and not keys[k] then
        error(what .. " has no field '" .. tostring(k) .. "'", 2)
      end
      return v
    end,
    __newindex = function(_, k)
      error(what .. " is read-only (cannot set '" .. tostring(k) .. "')", 2)
    end,
    __len = function() return #t end,
    __pairs = function() return next, t, nil end,
    __metatable = "read-only",
  })
  return proxy
end

return freeze
