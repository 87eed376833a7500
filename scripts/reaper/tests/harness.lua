-- harness.lua: tests of the premix REAPER action under a plain Lua 5.4
-- interpreter, with reaper_stub.lua standing in for REAPER.
--
--   lua5.4 scripts/reaper/tests/harness.lua
--
-- prints one line per test and `N passed, N failed, N skipped`, and exits
-- non-zero when a test failed. tests/it/reaper_action.rs runs it through the
-- vendored Lua of the mlua crate: there the global PREMIX_HARNESS_EMBEDDED is
-- set, and the file returns its table (counts, lines, run_action) instead of
-- printing and exiting; HARNESS_DIR then names this folder.

local function here()
  if HARNESS_DIR then
    return HARNESS_DIR
  end
  local src = (arg and arg[0]) or (debug and debug.getinfo and debug.getinfo(1, "S").source:gsub("^@", "")) or ""
  return src:match("^(.*[/\\])") or "./"
end

local DIR = here()
local ACTION_DIR = DIR .. "../"
local Stub = dofile(DIR .. "reaper_stub.lua")
local core = dofile(ACTION_DIR .. "premix_core.lua")
local ACTION = ACTION_DIR .. "premix.lua"

local H = { core = core, Stub = Stub, action = ACTION, passed = 0, failed = 0, skipped = 0, lines = {} }

local function log(line)
  H.lines[#H.lines + 1] = line
  if not PREMIX_HARNESS_EMBEDDED then
    print(line)
  end
end

-- Runs premix.lua once against a stub built from cfg; `env` is what
-- os.getenv answers (nothing else is visible). Returns the stub, with .ok
-- and .err from running the action.
function H.run_action(cfg, env)
  cfg.script = cfg.script or ACTION
  local stub = Stub.new(cfg)
  local saved_reaper, saved_getenv = reaper, os.getenv
  reaper = stub.reaper
  os.getenv = function(name)
    return (env or {})[name]
  end
  local ok, err = pcall(dofile, ACTION)
  reaper, os.getenv = saved_reaper, saved_getenv
  stub.ok, stub.err = ok, err
  return stub
end

---------------------------------------------------------------- assertions

local function fail(msg, level)
  error(msg, (level or 1) + 1)
end

local function show(v)
  if type(v) == "string" then
    return string.format("%q", v)
  end
  return tostring(v)
end

local function eq(got, want, what)
  if got ~= want then
    fail(string.format("%s:\n  got  %s\n  want %s", what or "values differ", show(got), show(want)), 2)
  end
end

local function truthy(v, what)
  if not v then
    fail(what or "expected a true value", 2)
  end
end

local function contains(hay, needle, what)
  if type(hay) ~= "string" or not hay:find(needle, 1, true) then
    fail(string.format("%s: %s does not contain %s", what or "text", show(hay), show(needle)), 2)
  end
end

local function not_contains(hay, needle, what)
  if type(hay) == "string" and hay:find(needle, 1, true) then
    fail(string.format("%s: %s contains %s", what or "text", show(hay), show(needle)), 2)
  end
end

local function ran_ok(stub)
  if not stub.ok then
    fail("the action raised an error: " .. tostring(stub.err), 2)
  end
end

local function index_of(stub, name, from)
  for i = from or 1, #stub.calls do
    if stub.calls[i][1] == name then
      return i
    end
  end
  return nil
end

local tests = {}
local function test(name, fn)
  tests[#tests + 1] = { name = name, fn = fn }
end

local SKIP = {}
local function skip(why)
  error(setmetatable({ why = why }, SKIP))
end

---------------------------------------------------------------- fixtures

local SAMPLE_OUTPUT = table.concat({
  "premix: analysing 10 tracks ...",
  "premix: rendering 3 group stems ...",
  "premix: fitting the console to /r/ref.wav ...",
  "premix: 3 groups, 10 tracks balanced by f0band",
  "  drums             4 tracks  spread   0.8 LU  stem -20.1 LUFS",
  "    Kick                       +2.0 dB  loudness",
  "stage 2: style loss 0.1234 -> 0.0456 (37% of the equal-loudness sum's) against /r/ref.wav",
  "  bus drums          -1.0 dB  pan +0.00  2 EQ band(s), comp -18.0 dB 3.0:1",
  "wrote /p/song.premix.RPP",
  "premix: warning: track 3 'Snare': media file not found: audio\\Snare.wav",
  "premix: warning: track 7 'Pad': silent",
  "",
}, "\n")

-- Paths with spaces, single and double quotes, shell characters and
-- non-ASCII letters (UTF-8, as REAPER hands them to scripts).
local NIX = {
  binary = "/opt/premix tools/premix",
  dir = "/home/zoë/My Songs/it's \"loud\" & $HOME – 曲/",
}
NIX.project = NIX.dir .. "song.RPP"
NIX.output = NIX.dir .. "song.premix.RPP"
NIX.reference = "/home/zoë/refs/ref mix (2024).wav"
NIX.rules = "/home/zoë/rules/house rules.lua"

local WIN = {
  binary = "C:\\Program Files\\premix\\premix.exe",
  dir = "C:\\Users\\Zoë\\My Songs\\song (final) & co ^ – 曲\\",
  comspec = "C:\\WINDOWS\\system32\\cmd.exe",
}
WIN.project = WIN.dir .. "song.RPP"
WIN.output = WIN.dir .. "song.premix.RPP"
WIN.reference = "D:\\refs\\ref mix.wav"
WIN.rules = "D:\\rules\\house rules.lua"

-- ShowMessageBox answers.
local OK, CANCEL, YES, NO = 1, 2, 6, 7

---------------------------------------------------------------- core: quoting

test("quote_posix leaves plain words and quotes the rest", function()
  eq(core.quote_posix("mix"), "mix")
  eq(core.quote_posix("--reference"), "--reference")
  eq(core.quote_posix("/a/b.RPP"), "/a/b.RPP")
  eq(core.quote_posix(""), "''")
  eq(core.quote_posix("a b"), "'a b'")
  eq(core.quote_posix("it's"), "'it'\\''s'")
  eq(core.quote_posix("$HOME `x` \"q\" \\ *"), "'$HOME `x` \"q\" \\ *'")
  eq(core.quote_posix("曲.RPP"), "'曲.RPP'")
end)

test("quote_windows follows the C runtime's argument rules", function()
  eq(core.quote_windows("mix"), "mix")
  eq(core.quote_windows("C:\\a\\b.RPP"), "C:\\a\\b.RPP")
  eq(core.quote_windows(""), '""')
  eq(core.quote_windows("C:\\a b\\c.RPP"), '"C:\\a b\\c.RPP"')
  eq(core.quote_windows("C:\\a b\\"), '"C:\\a b\\\\"')
  eq(core.quote_windows('say "hi"'), '"say \\"hi\\""')
  eq(core.quote_windows('a\\"b'), '"a\\\\\\"b"')
  eq(core.quote_windows("tab\there"), '"tab\there"')
end)

-- The inverse: how the C runtime (and Rust's std on Windows) splits a
-- command line after the program name, written from Microsoft's description
-- ("Parsing C++ command-line arguments"): 2n backslashes + quote -> n
-- backslashes and a quote toggle; 2n+1 + quote -> n and a literal quote;
-- backslashes not before a quote are literal; "" inside quotes -> a quote.
local function split_windows_args(s)
  local args, cur, inq, have = {}, {}, false, false
  local i, n = 1, #s
  while i <= n do
    local c = s:sub(i, i)
    if c == "\\" then
      local j = i
      while j <= n and s:sub(j, j) == "\\" do
        j = j + 1
      end
      local count = j - i
      if s:sub(j, j) == '"' then
        cur[#cur + 1] = string.rep("\\", count // 2)
        if count % 2 == 1 then
          cur[#cur + 1] = '"'
          i = j + 1
        else
          i = j
        end
      else
        cur[#cur + 1] = string.rep("\\", count)
        i = j
      end
      have = true
    elseif c == '"' then
      if inq and s:sub(i + 1, i + 1) == '"' then
        cur[#cur + 1] = '"'
        i = i + 2
      else
        inq = not inq
        i = i + 1
      end
      have = true
    elseif (c == " " or c == "\t") and not inq then
      if have then
        args[#args + 1] = table.concat(cur)
        cur, have = {}, false
      end
      i = i + 1
    else
      cur[#cur + 1] = c
      have = true
      i = i + 1
    end
  end
  if have then
    args[#args + 1] = table.concat(cur)
  end
  return args
end

test("quote_windows round-trips through the C runtime's splitting", function()
  local samples = {
    "", " ", "plain", "two words", "C:\\dir\\", "C:\\dir with space\\", "\\\\server\\share\\x y",
    'q"uote', '"', '\\"', '\\\\"', 'end\\', 'end\\\\', 'a\\\\b c', "tab\tx", "ünï 曲 & ^ % !",
    'mixed \\" and \\\\" and "', "trailing space ",
  }
  local quoted = {}
  for i, s in ipairs(samples) do
    quoted[i] = core.quote_windows(s)
  end
  local back = split_windows_args(table.concat(quoted, " "))
  eq(#back, #samples, "argument count")
  for i, s in ipairs(samples) do
    eq(back[i], s, "argument " .. i)
  end
end)

---------------------------------------------------------------- core: command line

test("default_output mirrors premix mix's NAME.premix.EXT", function()
  eq(core.default_output("/a/song.RPP"), "/a/song.premix.RPP")
  eq(core.default_output("/a/my.song.rpp"), "/a/my.song.premix.rpp")
  eq(core.default_output("C:\\x y\\song.RPP"), "C:\\x y\\song.premix.RPP")
  eq(core.default_output("/a/noext"), "/a/noext.premix.RPP")
  eq(core.default_output("/a/.RPP"), "/a/.RPP.premix.RPP")
  eq(core.default_output("song.RPP"), "song.premix.RPP")
end)

test("build_args puts the options in premix mix's order", function()
  local a = core.build_args({ binary = "p", project = "s.RPP", reference = "r.wav", rules = "g.lua", output = "o.RPP", force = true })
  eq(table.concat(a, "|"), "p|mix|s.RPP|--reference|r.wav|--rules|g.lua|-o|o.RPP|--force")
  a = core.build_args({ binary = "p", project = "/d/s.RPP" })
  eq(table.concat(a, "|"), "p|mix|/d/s.RPP|-o|/d/s.premix.RPP", "stage 1 only, default output")
end)

test("command_line: POSIX quoting and stderr merged", function()
  local line, err, how = core.command_line({ NIX.binary, "mix", NIX.project, "-o", NIX.output }, "Linux")
  eq(err, nil)
  eq(how, "sh")
  eq(line, "'/opt/premix tools/premix' mix "
    .. "'/home/zoë/My Songs/it'\\''s \"loud\" & $HOME – 曲/song.RPP' -o "
    .. "'/home/zoë/My Songs/it'\\''s \"loud\" & $HOME – 曲/song.premix.RPP' 2>&1")
end)

test("command_line: Windows through cmd /S /C, direct when a path holds %", function()
  local line, err, how = core.command_line({ WIN.binary, "mix", WIN.project }, "Win64", WIN.comspec)
  eq(err, nil)
  eq(how, "cmd")
  eq(line, '"C:\\WINDOWS\\system32\\cmd.exe" /D /V:OFF /S /C ""C:\\Program Files\\premix\\premix.exe" mix '
    .. '"C:\\Users\\Zoë\\My Songs\\song (final) & co ^ – 曲\\song.RPP" 2>&1"')
  line, err, how = core.command_line({ WIN.binary, "mix", "C:\\100%\\s.RPP" }, "Win32", nil)
  eq(how, "direct")
  eq(line, '"C:\\Program Files\\premix\\premix.exe" mix C:\\100%\\s.RPP')
  line, err = core.command_line({ WIN.binary, "mix", 'C:\\a"b.RPP' }, "Win64")
  eq(line, nil)
  contains(err, "double quote")
end)

test("command_line without %ComSpec% uses cmd.exe", function()
  local line = core.command_line({ "premix.exe", "--version" }, "Win64", nil)
  eq(line, '"cmd.exe" /D /V:OFF /S /C ""premix.exe" --version 2>&1"')
end)

---------------------------------------------------------------- core: output

test("parse_exec_result splits the exit code from the output", function()
  local code, out = core.parse_exec_result("0\nline 1\r\nline 2\r\n")
  eq(code, 0)
  eq(out, "line 1\nline 2\n")
  code, out = core.parse_exec_result("2\n")
  eq(code, 2)
  eq(out, "")
  code, out = core.parse_exec_result("-1\n")
  eq(code, -1)
  code, out = core.parse_exec_result(nil)
  eq(code, nil)
  eq(out, nil)
  code, out = core.parse_exec_result("garbage")
  eq(code, nil)
  eq(out, "garbage")
end)

test("classify_output separates summary, warnings, errors and progress", function()
  local c = core.classify_output(SAMPLE_OUTPUT)
  eq(c.summary[1], "premix: 3 groups, 10 tracks balanced by f0band")
  eq(c.summary[#c.summary], "wrote /p/song.premix.RPP")
  eq(#c.summary, 6)
  eq(#c.warnings, 2)
  eq(c.warnings[1], "track 3 'Snare': media file not found: audio\\Snare.wav")
  eq(#c.errors, 0)
  c = core.classify_output("premix: analysing 3 tracks ...\npremix: /p/rules.lua: line 3: syntax error\n")
  eq(#c.errors, 1)
  eq(c.errors[1], "premix: /p/rules.lua: line 3: syntax error")
  eq(#c.summary, 0)
end)

test("success_message clips long output and says so", function()
  local lines = { "premix: 1 group, 300 tracks balanced by lufs" }
  for i = 1, 300 do
    lines[#lines + 1] = "    Track " .. i .. "  +1.0 dB  loudness"
  end
  local text, clipped = core.success_message(table.concat(lines, "\n"), "/p/o.RPP")
  truthy(clipped, "clipped")
  contains(text, "... and 261 more lines")
  contains(text, "Opened /p/o.RPP in a new project tab")
end)

test("failure_message names the exit status, the error and the command", function()
  local m = core.failure_message(2, "premix: /p/s.RPP: line 4:1: unexpected end\n", "premix mix /p/s.RPP")
  contains(m, "exit status 2")
  contains(m, "premix: /p/s.RPP: line 4:1: unexpected end")
  contains(m, "premix mix /p/s.RPP")
  m = core.failure_message(101, "thread 'main' panicked at src/x.rs:1\n", "c")
  contains(m, "exit status 101")
  contains(m, "panicked")
  m = core.failure_message(nil, "", "c")
  contains(m, "did not finish")
end)

---------------------------------------------------------------- core: finding premix

local function fs(set)
  return function(p)
    return set[p] == true
  end
end

local function envf(t)
  return function(k)
    return t[k]
  end
end

test("find_binary: the ExtState setting comes first", function()
  local p, how = core.find_binary({ os = "Linux", extstate = "/x/premix", getenv = envf({ PATH = "/usr/bin" }),
    file_exists = fs({ ["/x/premix"] = true, ["/usr/bin/premix"] = true }) })
  eq(p, "/x/premix")
  eq(how, "setting")
  p, how = core.find_binary({ os = "Linux", extstate = "/gone/premix", getenv = envf({ PATH = "/usr/bin" }),
    file_exists = fs({ ["/usr/bin/premix"] = true }) })
  eq(p, nil)
  eq(how, "setting-missing", "a stale setting is reported, not silently replaced")
end)

test("find_binary walks PATH on POSIX and Windows", function()
  local p, how = core.find_binary({ os = "Linux", extstate = "", getenv = envf({ PATH = "/bin::/opt/p m/bin/:/usr/bin" }),
    file_exists = fs({ ["/opt/p m/bin/premix"] = true, ["/usr/bin/premix"] = true }) })
  eq(p, "/opt/p m/bin/premix")
  eq(how, "PATH")
  p = core.find_binary({ os = "Win64", extstate = "", getenv = envf({ PATH = 'C:\\Windows;"C:\\Program Files\\premix";D:\\x\\' }),
    file_exists = fs({ ["C:\\Program Files\\premix\\premix.exe"] = true, ["D:\\x\\premix.exe"] = true }) })
  eq(p, "C:\\Program Files\\premix\\premix.exe")
  p = core.find_binary({ os = "Win64", extstate = "", getenv = envf({ PATH = "C:\\Windows;D:\\x\\" }),
    file_exists = fs({ ["D:\\x\\premix.exe"] = true }) })
  eq(p, "D:\\x\\premix.exe")
end)

test("find_binary looks in ~/.cargo/bin and Homebrew when PATH lacks them", function()
  local p, how = core.find_binary({ os = "OSX64", extstate = "", getenv = envf({ PATH = "/usr/bin:/bin", HOME = "/Users/zoë" }),
    file_exists = fs({ ["/Users/zoë/.cargo/bin/premix"] = true }) })
  eq(p, "/Users/zoë/.cargo/bin/premix")
  eq(how, "usual place")
  p = core.find_binary({ os = "macOS-arm64", extstate = "", getenv = envf({}),
    file_exists = fs({ ["/opt/homebrew/bin/premix"] = true }) })
  eq(p, "/opt/homebrew/bin/premix")
  p = core.find_binary({ os = "Win64", extstate = "", getenv = envf({ USERPROFILE = "C:\\Users\\Zoë" }),
    file_exists = fs({ ["C:\\Users\\Zoë\\.cargo\\bin\\premix.exe"] = true }) })
  eq(p, "C:\\Users\\Zoë\\.cargo\\bin\\premix.exe")
  local none, why = core.find_binary({ os = "Linux", extstate = "", getenv = envf({}), file_exists = fs({}) })
  eq(none, nil)
  eq(why, "not-found")
end)

---------------------------------------------------------------- the action

-- The common success scenario on one platform.
local function success_cfg(P, os_name, extra)
  local cfg = {
    os = os_name,
    project = P.project,
    extstate = { binary = P.binary },
    files = { [P.binary] = true },
    dialogs = { YES, NO, OK },
    pick = { { true, P.reference } },
    exec = { "0\n" .. SAMPLE_OUTPUT },
    writes = P.output,
  }
  for k, v in pairs(extra or {}) do
    cfg[k] = v
  end
  return cfg
end

local function check_success(stub, P, want_cmd)
  ran_ok(stub)
  local cmds = stub:commands()
  eq(#cmds, 1, "one premix run")
  eq(cmds[1], want_cmd, "command line")
  eq(stub:all("ExecProcess")[1][3], 0, "no timeout by default")
  -- Saved before the run; new tab before opening; the mix opened there.
  local save = index_of(stub, "Main_SaveProject")
  truthy(save and save < index_of(stub, "ExecProcess"), "saved before running premix")
  eq(stub:all("Main_SaveProject")[1][2], 0)
  eq(stub:all("Main_SaveProject")[1][3], false, "no Save As dialog")
  local tab = index_of(stub, "Main_OnCommand")
  truthy(tab and tab > index_of(stub, "ExecProcess"), "new tab after the run")
  eq(stub:all("Main_OnCommand")[1][2], 40859, "File: New project tab")
  truthy(index_of(stub, "Main_openProject") > tab, "opened after the new tab")
  local opened = stub:opened()
  eq(#opened, 1)
  eq(opened[1], P.output, "the written project is opened")
  -- The original tab still holds the original project.
  eq(stub.projects[1].fn, P.project, "original tab untouched")
  eq(stub.projects[#stub.projects].fn, P.output)
  -- The last dialog is the summary with warnings.
  local msgs = stub:messages()
  local summary = msgs[#msgs]
  contains(summary, "premix: 3 groups, 10 tracks balanced by f0band")
  contains(summary, "wrote /p/song.premix.RPP")
  contains(summary, "2 warnings:")
  contains(summary, "track 7 'Pad': silent")
  not_contains(summary, "analysing", "progress lines are not shown")
  contains(summary, "Opened " .. P.output .. " in a new project tab")
end

test("success on Linux: exact command line, summary shown, new tab opened", function()
  local stub = H.run_action(success_cfg(NIX, "Other"), { PATH = "/usr/bin" })
  check_success(stub, NIX, "'/opt/premix tools/premix' mix "
    .. "'/home/zoë/My Songs/it'\\''s \"loud\" & $HOME – 曲/song.RPP' "
    .. "--reference '/home/zoë/refs/ref mix (2024).wav' "
    .. "-o '/home/zoë/My Songs/it'\\''s \"loud\" & $HOME – 曲/song.premix.RPP' 2>&1")
  eq(stub.extstate.last_reference, NIX.reference, "reference remembered")
  eq(#stub:messages(), 3, "stage question, rules question, summary")
end)

test("success on macOS with premix found in ~/.cargo/bin and a rules file", function()
  local cfg = success_cfg(NIX, "OSX64", {
    extstate = {},
    files = { ["/Users/zoë/.cargo/bin/premix"] = true },
    dialogs = { YES, YES, OK },
    pick = { { true, NIX.reference }, { true, NIX.rules } },
  })
  local stub = H.run_action(cfg, { PATH = "/usr/bin:/bin:/usr/sbin:/sbin", HOME = "/Users/zoë" })
  check_success(stub, NIX, "'/Users/zoë/.cargo/bin/premix' mix "
    .. "'/home/zoë/My Songs/it'\\''s \"loud\" & $HOME – 曲/song.RPP' "
    .. "--reference '/home/zoë/refs/ref mix (2024).wav' --rules '/home/zoë/rules/house rules.lua' "
    .. "-o '/home/zoë/My Songs/it'\\''s \"loud\" & $HOME – 曲/song.premix.RPP' 2>&1")
  eq(stub.extstate.last_rules, NIX.rules, "rules remembered")
  eq(stub.extstate.binary, nil, "a binary found by search is not written to the setting")
end)

test("success on Windows: cmd /S /C line with CRT quoting, stage 1 only with rules", function()
  local cfg = success_cfg(WIN, "Win64", {
    dialogs = { NO, YES, OK },
    pick = { { true, WIN.rules } },
  })
  local stub = H.run_action(cfg, { ComSpec = WIN.comspec, PATH = "C:\\Windows" })
  check_success(stub, WIN, '"C:\\WINDOWS\\system32\\cmd.exe" /D /V:OFF /S /C '
    .. '""C:\\Program Files\\premix\\premix.exe" mix "C:\\Users\\Zoë\\My Songs\\song (final) & co ^ – 曲\\song.RPP" '
    .. '--rules "D:\\rules\\house rules.lua" '
    .. '-o "C:\\Users\\Zoë\\My Songs\\song (final) & co ^ – 曲\\song.premix.RPP" 2>&1"')
  eq(#stub:all("GetUserFileNameForRead"), 1, "no reference asked for in stage 1 only")
end)

test("Windows path holding %: premix is run directly, arguments intact", function()
  local P = { binary = WIN.binary, project = "C:\\mixes\\100% done\\song.RPP", output = "C:\\mixes\\100% done\\song.premix.RPP",
    reference = WIN.reference }
  local stub = H.run_action(success_cfg(P, "Win64"), { ComSpec = WIN.comspec })
  check_success(stub, P, '"C:\\Program Files\\premix\\premix.exe" mix "C:\\mixes\\100% done\\song.RPP" '
    .. '--reference "D:\\refs\\ref mix.wav" -o "C:\\mixes\\100% done\\song.premix.RPP"')
end)

test("premix failing (exit 2): its one-line error is shown, nothing opened", function()
  local cfg = success_cfg(NIX, "Linux", {
    exec = { "2\npremix: analysing 10 tracks ...\npremix: " .. NIX.rules .. ": line 3: syntax error near 'end'\n" },
    dialogs = { YES, YES, OK },
    pick = { { true, NIX.reference }, { true, NIX.rules } },
  })
  local stub = H.run_action(cfg, {})
  ran_ok(stub)
  eq(#stub:commands(), 1)
  eq(#stub:all("Main_OnCommand"), 0, "no new tab")
  eq(#stub:opened(), 0, "nothing opened")
  local msgs = stub:messages()
  eq(#msgs, 3)
  contains(msgs[3], "exit status 2")
  contains(msgs[3], "premix: " .. NIX.rules .. ": line 3: syntax error near 'end'")
  not_contains(msgs[3], "analysing")
  contains(msgs[3], "The command was:\n'/opt/premix tools/premix' mix")
end)

test("premix crashing (exit 101) shows the tail of its output", function()
  local stub = H.run_action(success_cfg(NIX, "Linux", {
    exec = { "101\nthread 'main' panicked at src/x.rs:3:5:\nindex out of bounds\n" },
  }), {})
  ran_ok(stub)
  eq(#stub:opened(), 0)
  local msgs = stub:messages()
  contains(msgs[#msgs], "exit status 101")
  contains(msgs[#msgs], "index out of bounds")
end)

test("REAPER failing to start the process is reported", function()
  local stub = H.run_action(success_cfg(NIX, "Linux", { exec = { false } }), {})
  ran_ok(stub)
  eq(#stub:opened(), 0)
  local msgs = stub:messages()
  contains(msgs[#msgs], "could not start premix")
end)

test("cancelled reference file dialog: no run", function()
  local stub = H.run_action(success_cfg(NIX, "Linux", { dialogs = { YES }, pick = { { false, "" } } }), {})
  ran_ok(stub)
  eq(#stub:commands(), 0, "premix not run")
  eq(#stub:opened(), 0)
  eq(#stub:messages(), 1, "no further dialog")
end)

test("cancel at the stage question or the rules question: no run", function()
  local stub = H.run_action(success_cfg(NIX, "Linux", { dialogs = { CANCEL }, pick = {} }), {})
  ran_ok(stub)
  eq(#stub:commands(), 0)
  eq(#stub:all("GetUserFileNameForRead"), 0)
  stub = H.run_action(success_cfg(NIX, "Linux", { dialogs = { YES, CANCEL } }), {})
  ran_ok(stub)
  eq(#stub:commands(), 0)
  stub = H.run_action(success_cfg(NIX, "Linux", { dialogs = { NO, YES }, pick = { { false, "" } } }), {})
  ran_ok(stub)
  eq(#stub:commands(), 0, "cancelled rules file dialog")
end)

test("missing binary: clear message, no run", function()
  local stub = H.run_action(success_cfg(NIX, "Linux", { extstate = {}, files = {}, dialogs = { NO }, pick = {} }),
    { PATH = "/usr/bin:/bin", HOME = "/home/zoë" })
  ran_ok(stub)
  eq(#stub:commands(), 0, "premix not run")
  local msgs = stub:messages()
  eq(#msgs, 1)
  contains(msgs[1], "premix was not found")
  contains(msgs[1], "~/.cargo/bin")
  contains(msgs[1], "Install premix")
  contains(msgs[1], "Locate the premix executable now?")
  eq(stub:all("ShowMessageBox")[1][4], 4, "a Yes/No question")
end)

test("missing binary on Windows names %USERPROFILE%\\.cargo\\bin", function()
  local stub = H.run_action(success_cfg(WIN, "Win64", { extstate = {}, files = {}, dialogs = { NO }, pick = {} }), {})
  ran_ok(stub)
  contains(stub:messages()[1], "%USERPROFILE%\\.cargo\\bin")
end)

test("stale binary setting: the message names the path", function()
  local stub = H.run_action(success_cfg(NIX, "Linux", { files = {}, dialogs = { NO }, pick = {} }), { PATH = "/usr/bin" })
  ran_ok(stub)
  eq(#stub:commands(), 0)
  contains(stub:messages()[1], "is not there:\n" .. NIX.binary)
end)

test("missing binary, located in the dialog: checked, saved, and the mix runs", function()
  local chosen = "/home/zoë/bin/premix"
  local cfg = success_cfg(NIX, "Linux", {
    extstate = {},
    files = {},
    dialogs = { YES, YES, NO, OK },
    pick = { { true, chosen }, { true, NIX.reference } },
    exec = { "0\npremix 0.1.0\n", "0\n" .. SAMPLE_OUTPUT },
  })
  local stub = H.run_action(cfg, {})
  ran_ok(stub)
  local cmds = stub:commands()
  eq(cmds[1], "'/home/zoë/bin/premix' --version 2>&1")
  eq(stub.extstate.binary, chosen, "saved to the setting")
  local set = stub:all("SetExtState")[1]
  eq(set[5], true, "persisted")
  contains(cmds[2], "'/home/zoë/bin/premix' mix ")
  eq(stub:opened()[1], NIX.output)
end)

test("a located file that is not premix is refused", function()
  local cfg = success_cfg(NIX, "Linux", {
    extstate = {},
    files = {},
    dialogs = { YES, OK },
    pick = { { true, "/usr/bin/true" } },
    exec = { "0\n" },
  })
  local stub = H.run_action(cfg, {})
  ran_ok(stub)
  eq(#stub:commands(), 1, "only the --version check ran")
  eq(stub.extstate.binary, nil, "not saved")
  contains(stub:messages()[2], "did not answer like premix")
end)

test("unsaved project: says so, saves nothing, runs nothing", function()
  local stub = H.run_action(success_cfg(NIX, "Linux", { project = "", dialogs = { OK }, pick = {} }), {})
  ran_ok(stub)
  eq(#stub:all("Main_SaveProject"), 0)
  eq(#stub:commands(), 0)
  local msgs = stub:messages()
  eq(#msgs, 1)
  contains(msgs[1], "never been saved")
end)

test("re-run: an existing output is replaced only after asking, with --force", function()
  local cfg = success_cfg(NIX, "Linux", { dialogs = { YES, NO, OK, OK } })
  cfg.files[NIX.output] = true
  local stub = H.run_action(cfg, {})
  ran_ok(stub)
  local msgs = stub:messages()
  contains(msgs[3], "already exists")
  eq(stub:all("ShowMessageBox")[3][4], 1, "an OK/Cancel question")
  local cmd = stub:commands()[1]
  eq(cmd:sub(-#" --force 2>&1"), " --force 2>&1", "--force passed")
  eq(stub:opened()[1], NIX.output)

  cfg = success_cfg(NIX, "Linux", { dialogs = { YES, NO, CANCEL } })
  cfg.files[NIX.output] = true
  stub = H.run_action(cfg, {})
  ran_ok(stub)
  eq(#stub:commands(), 0, "declined: not run")
end)

test("re-run while the old mix is open in a tab: the question says so", function()
  local cfg = success_cfg(NIX, "Linux", { dialogs = { YES, NO, OK, OK }, tabs = { NIX.output } })
  cfg.files[NIX.output] = true
  local stub = H.run_action(cfg, {})
  ran_ok(stub)
  contains(stub:messages()[3], "open in another project tab")
end)

test("no new tab appears: nothing is opened over the original", function()
  local stub = H.run_action(success_cfg(NIX, "Linux", { no_new_tab = true }), {})
  ran_ok(stub)
  eq(#stub:opened(), 0)
  eq(stub.projects[1].fn, NIX.project)
  local msgs = stub:messages()
  contains(msgs[#msgs], "did not open a new project tab")
  not_contains(msgs[#msgs], "Opened ")
end)

test("timeout setting reaches ExecProcess in milliseconds", function()
  local cfg = success_cfg(NIX, "Linux")
  cfg.extstate.timeout_s = "90"
  local stub = H.run_action(cfg, {})
  ran_ok(stub)
  eq(stub:all("ExecProcess")[1][3], 90000)
end)

test("long output: clipped in the dialog, whole in the console", function()
  local lines = { "premix: 1 group, 200 tracks balanced by f0band" }
  for i = 1, 200 do
    lines[#lines + 1] = "    Track " .. i .. "  +1.0 dB"
  end
  local stub = H.run_action(success_cfg(NIX, "Linux", { exec = { "0\n" .. table.concat(lines, "\n") .. "\n" } }), {})
  ran_ok(stub)
  local console = stub:all("ShowConsoleMsg")
  eq(#console, 1)
  contains(console[1][2], "Track 200")
  not_contains(stub:messages()[3], "Track 200")
end)

test("without get_action_context the script finds its folder by debug.getinfo", function()
  if not (debug and debug.getinfo) then
    skip("no debug library in this interpreter")
  end
  local stub = H.run_action(success_cfg(NIX, "Linux", { script = "" }), {})
  check_success(stub, NIX, stub:commands()[1])
end)

---------------------------------------------------------------- run

for _, t in ipairs(tests) do
  local ok, err = pcall(t.fn)
  if ok then
    H.passed = H.passed + 1
    log("ok      " .. t.name)
  elseif getmetatable(err) == SKIP then
    H.skipped = H.skipped + 1
    log("skipped " .. t.name .. " (" .. err.why .. ")")
  else
    H.failed = H.failed + 1
    log("FAILED  " .. t.name .. "\n        " .. tostring(err):gsub("\n", "\n        "))
  end
end
log(string.format("%d passed, %d failed, %d skipped", H.passed, H.failed, H.skipped))

if PREMIX_HARNESS_EMBEDDED then
  return H
end
os.exit(H.failed == 0 and 0 or 1)
