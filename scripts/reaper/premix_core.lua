-- premix_core.lua: the pure logic of the premix REAPER action (premix.lua).
--
-- Nothing here calls the `reaper` API: quoting, the command line, reading
-- premix's output and finding the binary take plain values (and, for the
-- binary, the two look-ups they need as functions), so the test harness in
-- tests/harness.lua can check them under a plain Lua 5.4 interpreter.
--
-- Written by hand: there is no Lua library for "quote one argument for
-- CreateProcess" that a ReaScript can load, and the rules are short.

local M = {}

M.VERSION = "1"

-- reaper.GetOS() returns "Win32", "Win64", "OSX32", "OSX64", "macOS-arm64"
-- or "Other" (REAPER's API documentation for GetOS); every Windows string
-- starts with "Win".
function M.is_windows(os_name)
  return type(os_name) == "string" and os_name:sub(1, 3) == "Win"
end

-- POSIX: one argument for /bin/sh. Inside single quotes nothing is special
-- except the single quote itself, which ends the quoting, so a ' becomes
-- '\'' (close, escaped quote, reopen). Bytes pass unchanged, so UTF-8 names
-- stay as they are.
function M.quote_posix(s)
  s = tostring(s)
  if s ~= "" and not s:find("[^%w%-%._/=:,+@]") then
    return s
  end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- Windows: one argument as the C runtime (and Rust's std, which premix uses)
-- splits a CreateProcess command line (Microsoft, "Parsing C++ command-line
-- arguments"): an argument is wrapped in double quotes; inside them, a run
-- of backslashes is literal unless a double quote follows it, in which case
-- the backslashes are doubled and the quote escaped as \"; backslashes at the
-- end are doubled so that they do not escape the closing quote.
function M.quote_windows(s)
  s = tostring(s)
  if s ~= "" and not s:find('[%s"]') then
    return s
  end
  local out = { '"' }
  local backslashes = 0
  for i = 1, #s do
    local c = s:sub(i, i)
    if c == "\\" then
      backslashes = backslashes + 1
    elseif c == '"' then
      out[#out + 1] = string.rep("\\", 2 * backslashes + 1) .. '"'
      backslashes = 0
    else
      out[#out + 1] = string.rep("\\", backslashes) .. c
      backslashes = 0
    end
  end
  out[#out + 1] = string.rep("\\", 2 * backslashes) .. '"'
  return table.concat(out)
end

-- The program name (argv[0]) on Windows is not parsed with those rules: it
-- runs to the next double quote, with no escapes. Paths on Windows cannot
-- hold a double quote, so plain quoting is exact.
local function quote_windows_program(s)
  return '"' .. s .. '"'
end

-- `NAME.premix.EXT` beside the project, as `premix mix` names its default
-- output (src/cli/mix.rs, default_output): the project's extension is kept,
-- or RPP when it has none. The action passes the path explicitly with -o so
-- that it knows what to open.
function M.default_output(project)
  local dir, file = project:match("^(.*[/\\])([^/\\]*)$")
  if not dir then
    dir, file = "", project
  end
  -- Rust's file_stem/extension: a leading dot does not start an extension.
  local stem, ext = file:match("^(.+)%.([^.]*)$")
  if not stem then
    stem, ext = file, "RPP"
  end
  return dir .. stem .. ".premix." .. ext
end

-- The argument list of one run:
--   premix mix PROJECT [--reference REF] [--rules RULES] -o OUTPUT [--force]
-- opts: binary, project, reference (nil = stage 1 only), rules (nil = none),
-- output (nil = default_output(project)), force (replace an existing output).
function M.build_args(opts)
  assert(opts.binary and opts.binary ~= "", "no premix binary")
  assert(opts.project and opts.project ~= "", "no project")
  local args = { opts.binary, "mix", opts.project }
  if opts.reference and opts.reference ~= "" then
    args[#args + 1] = "--reference"
    args[#args + 1] = opts.reference
  end
  if opts.rules and opts.rules ~= "" then
    args[#args + 1] = "--rules"
    args[#args + 1] = opts.rules
  end
  args[#args + 1] = "-o"
  args[#args + 1] = opts.output or M.default_output(opts.project)
  if opts.force then
    args[#args + 1] = "--force"
  end
  return args
end

-- The string for reaper.ExecProcess(cmdline, timeout), which returns the exit
-- code, a newline and the output (REAPER API documentation of ExecProcess).
--
-- What this relies on:
-- * macOS and Linux: REAPER runs the line through /bin/sh, so arguments are
--   single-quoted for sh and `2>&1` puts premix's stderr (its errors and
--   warnings) into the captured output. (Scripts in the wild chain commands
--   with `;` in ExecProcess on these systems.)
-- * Windows: ExecProcess starts the program directly (CreateProcess), with no
--   shell: scripts in the wild prefix `cmd.exe /C` to reach shell built-ins.
--   To merge stderr the line is run as
--     cmd.exe /D /V:OFF /S /C "<premix line> 2>&1"
--   /S makes cmd strip exactly the outer quotes and keep the rest verbatim;
--   /D skips AutoRun commands (whose output would mix into ours); /V:OFF
--   keeps `!` literal. Inside double quotes cmd leaves & | < > ^ ( ) alone,
--   but it expands %NAME% even there, and no escape exists for that; so when
--   any argument holds a % the line is run directly instead (premix gets
--   exact arguments, and its error text reaches the dialog only if REAPER
--   captures stderr itself). `comspec` is %ComSpec% when known.
function M.command_line(args, os_name, comspec)
  local parts = {}
  if M.is_windows(os_name) then
    for i, a in ipairs(args) do
      if a:find('"', 1, true) then
        return nil, "a path holds a double quote, which Windows does not allow: " .. a
      end
      parts[i] = (i == 1) and quote_windows_program(a) or M.quote_windows(a)
    end
    local line = table.concat(parts, " ")
    for _, a in ipairs(args) do
      if a:find("%", 1, true) then
        return line, nil, "direct"
      end
    end
    local cmd = (comspec and comspec ~= "") and comspec or "cmd.exe"
    return quote_windows_program(cmd) .. ' /D /V:OFF /S /C "' .. line .. ' 2>&1"', nil, "cmd"
  end
  for i, a in ipairs(args) do
    parts[i] = M.quote_posix(a)
  end
  return table.concat(parts, " ") .. " 2>&1", nil, "sh"
end

-- Splits ExecProcess's answer: nil when REAPER could not run the command at
-- all, otherwise the exit code (a number; nil if the first line is not one)
-- and the output with Windows line ends made plain.
function M.parse_exec_result(s)
  if s == nil then
    return nil, nil
  end
  local first, rest = s:match("^([^\n]*)\n?(.*)$")
  local code = tonumber((first or ""):match("^%s*(%-?%d+)%s*$"))
  if code == nil then
    return nil, (s:gsub("\r\n", "\n"))
  end
  return code, (rest:gsub("\r\n", "\n"))
end

-- Sorts premix's merged output into what the dialog shows:
--   summary  - stdout's summary lines (groups, gains, "wrote ...")
--   warnings - "premix: warning: X" lines, as X
--   errors   - other "premix: ..." lines that are not progress or summary,
--              i.e. the one-line error `premix: <file>: <what>` (exit 2)
-- Progress lines ("premix: analysing 24 tracks ...") are dropped.
function M.classify_output(output)
  local r = { summary = {}, warnings = {}, errors = {} }
  for line in (output or ""):gmatch("[^\n]+") do
    line = line:gsub("\r$", "")
    local warning = line:match("^premix: warning: (.*)$")
    if warning then
      r.warnings[#r.warnings + 1] = warning
    elseif line:match("^premix: .* %.%.%.$") then
      -- progress on stderr
    elseif line:match("^premix: %d+ groups?, ") then
      r.summary[#r.summary + 1] = line
    elseif line:match("^premix: ") or line:match("^error: ") then
      r.errors[#r.errors + 1] = line
    elseif line:match("%S") then
      r.summary[#r.summary + 1] = line
    end
  end
  return r
end

-- At most `max` lines of `lines`, with a count of what was left out.
local function clip(lines, max)
  if #lines <= max then
    return table.concat(lines, "\n"), false
  end
  local t = {}
  for i = 1, max do
    t[i] = lines[i]
  end
  t[#t + 1] = string.format("... and %d more lines (the full output is in the REAPER console)", #lines - max)
  return table.concat(t, "\n"), true
end

M.MAX_SUMMARY_LINES = 40
M.MAX_WARNING_LINES = 15

-- The text of the dialog after a successful run, and whether anything was
-- clipped (then the action prints the whole output to the console).
function M.success_message(output, written)
  local c = M.classify_output(output)
  local summary, cut1 = clip(c.summary, M.MAX_SUMMARY_LINES)
  local text = summary
  local cut2 = false
  if #c.warnings > 0 then
    local w
    w, cut2 = clip(c.warnings, M.MAX_WARNING_LINES)
    text = text .. string.format("\n\n%d warning%s:\n", #c.warnings, #c.warnings == 1 and "" or "s") .. w
  end
  text = text .. "\n\nOpened " .. written .. " in a new project tab; the original project is unchanged."
  return text, (cut1 or cut2)
end

-- The text of the dialog after a failed run.
function M.failure_message(code, output, cmdline)
  local c = M.classify_output(output)
  local what
  if #c.errors > 0 then
    what = table.concat(c.errors, "\n")
  elseif output and output:match("%S") then
    local lines = {}
    for line in output:gmatch("[^\n]+") do
      lines[#lines + 1] = line
    end
    local tail = {}
    for i = math.max(1, #lines - 9), #lines do
      tail[#tail + 1] = lines[i]
    end
    what = table.concat(tail, "\n")
  else
    what = "(premix printed nothing)"
  end
  local head
  if code == nil then
    head = "premix did not finish, or its exit status could not be read."
  elseif code == 2 then
    head = "premix stopped with an error (exit status 2); nothing was written."
  else
    head = string.format("premix failed (exit status %d).", code)
  end
  return head .. "\n\n" .. what .. "\n\nThe command was:\n" .. cmdline
end

-- The directory separator and PATH separator for a platform.
local function seps(windows)
  if windows then
    return "\\", ";"
  end
  return "/", ":"
end

local function join(dir, name, windows)
  local sep = seps(windows)
  if dir:sub(-1) == "/" or dir:sub(-1) == "\\" then
    return dir .. name
  end
  return dir .. sep .. name
end

-- Where to look for premix, in order: the ExtState setting, each PATH
-- folder, then folders installers use that a GUI app's PATH often lacks
-- (REAPER started from the macOS Dock or a desktop menu does not see the
-- PATH a login shell sets up: ~/.cargo/bin, Homebrew, /usr/local/bin).
-- env: { os = GetOS(), getenv = function(name), file_exists = function(path),
--        extstate = the "premix"/"binary" ExtState value or "" }
-- Returns path, how ("setting", "PATH" or "usual place") or
-- nil, reason ("setting-missing" when the setting names no file, else
-- "not-found").
function M.find_binary(env)
  local windows = M.is_windows(env.os)
  local setting = env.extstate or ""
  if setting ~= "" then
    if env.file_exists(setting) then
      return setting, "setting"
    end
    return nil, "setting-missing"
  end
  local names = windows and { "premix.exe" } or { "premix" }
  local _, pathsep = seps(windows)
  local path = env.getenv("PATH") or ""
  for dir in (path .. pathsep):gmatch("([^" .. pathsep .. "]*)" .. pathsep) do
    -- Windows PATH entries may be quoted.
    dir = dir:gsub('^"(.*)"$', "%1")
    if dir ~= "" then
      for _, n in ipairs(names) do
        local p = join(dir, n, windows)
        if env.file_exists(p) then
          return p, "PATH"
        end
      end
    end
  end
  local extra = {}
  if windows then
    local home = env.getenv("USERPROFILE")
    if home and home ~= "" then
      extra[#extra + 1] = join(home, ".cargo\\bin", true)
    end
  else
    local home = env.getenv("HOME")
    if home and home ~= "" then
      extra[#extra + 1] = join(home, ".cargo/bin", false)
      extra[#extra + 1] = join(home, ".local/bin", false)
    end
    extra[#extra + 1] = "/opt/homebrew/bin"
    extra[#extra + 1] = "/usr/local/bin"
  end
  for _, dir in ipairs(extra) do
    for _, n in ipairs(names) do
      local p = join(dir, n, windows)
      if env.file_exists(p) then
        return p, "usual place"
      end
    end
  end
  return nil, "not-found"
end

-- Whether `premix --version` output names premix ("premix 0.1.0").
function M.is_premix_version(output)
  return type(output) == "string" and output:match("^%s*premix %d+%.%d+") ~= nil
end

-- Paths compared as REAPER may spell them (separators, and case on Windows
-- and macOS, whose file systems usually ignore it).
function M.same_path(a, b, os_name)
  if not a or not b then
    return false
  end
  local function norm(p)
    p = p:gsub("\\", "/")
    if M.is_windows(os_name) or (os_name or ""):match("^OSX") or (os_name or ""):match("^macOS") then
      p = p:lower()
    end
    return p
  end
  return norm(a) == norm(b)
end

return M
