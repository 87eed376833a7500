-- @description premix: mix this project (writes NAME.premix.RPP and opens it in a new tab)
-- @about
--   Runs the premix command-line tool on the current project: saves the
--   project, asks for a reference mix (or stage 1 only) and an optional
--   grouping rules file, runs `premix mix`, shows its summary and warnings,
--   and opens the mixed copy in a new project tab. The project you run it on
--   is never modified by premix. See README.md beside this script.
--
-- REAPER API used (names and return values as in REAPER's ReaScript API
-- documentation; a few notes that matter here):
--   get_action_context()        -> ..., filename of this script, ...
--   EnumProjects(-1)            -> current ReaProject, its .RPP path ("" if never saved)
--   Main_SaveProject(0, false)  saves the current project (no Save As dialog)
--   GetUserFileNameForRead(initial, title, defext) -> true, path | false (cancelled)
--   ShowMessageBox(msg, title, type): type 0=OK, 1=OKCANCEL, 3=YESNOCANCEL,
--     4=YESNO; returns 1=OK, 2=CANCEL, 6=YES, 7=NO
--   ExecProcess(cmdline, timeout_ms) -> "exitcode\noutput", or nil on total
--     failure; timeout 0 = wait as long as it takes (REAPER is busy meanwhile)
--   Main_OnCommand(40859, 0)    action 40859 is "File: New project tab"
--   Main_openProject(path)      opens a project in the current tab
--   GetExtState/SetExtState("premix", key[, value, persist])
--   GetOS()                     "Win32", "Win64", "OSX32", "OSX64", "macOS-arm64" or "Other"
--
-- Settings (Extensions state, section "premix"; set with SetExtState or by
-- this script):
--   binary     full path of the premix executable (asked for when missing)
--   timeout_s  give up after this many seconds (default: no limit)
--   last_reference, last_rules   remembered between runs

local r = reaper

local TITLE = "premix"
local SECTION = "premix"
local NEW_PROJECT_TAB = 40859 -- File: New project tab

local MB_OK, MB_OKCANCEL, MB_YESNOCANCEL, MB_YESNO = 0, 1, 3, 4
local ID_OK, ID_YES, ID_NO = 1, 6, 7

-- This script's folder, for premix_core.lua beside it.
local function script_dir()
  local path
  if r.get_action_context then
    local _, filename = r.get_action_context()
    path = filename
  end
  if (not path or path == "") and debug and debug.getinfo then
    path = debug.getinfo(1, "S").source:gsub("^@", "")
  end
  return (path or ""):match("^(.*[/\\])") or ""
end

local core = dofile(script_dir() .. "premix_core.lua")

local function say(msg)
  r.ShowMessageBox(msg, TITLE, MB_OK)
end

-- Runs a command line and returns code, output (code nil: not run or not
-- readable).
local function exec(cmdline, timeout_ms)
  return core.parse_exec_result(r.ExecProcess(cmdline, timeout_ms))
end

-- The premix executable: the setting, PATH, the usual install folders, or
-- one the user points to now (checked with `premix --version` and saved).
local function locate_binary(os_name)
  local setting = r.GetExtState(SECTION, "binary")
  local path, how = core.find_binary({
    os = os_name,
    getenv = os.getenv,
    file_exists = r.file_exists,
    extstate = setting,
  })
  if path then
    return path
  end
  local msg
  if how == "setting-missing" then
    msg = "The premix executable set for this action is not there:\n" .. setting .. "\n\n"
  else
    msg = "premix was not found: not in this action's setting, not on PATH, and not in the usual install folders"
      .. (core.is_windows(os_name) and " (%USERPROFILE%\\.cargo\\bin)" or " (~/.cargo/bin, /opt/homebrew/bin, /usr/local/bin)")
      .. ".\n\n"
  end
  msg = msg
    .. "Install premix (for example `cargo install --path .` in premix's source folder), "
    .. "or show this action where the premix executable is.\n\n"
    .. "Locate the premix executable now?"
  if r.ShowMessageBox(msg, TITLE, MB_YESNO) ~= ID_YES then
    return nil
  end
  local ok, chosen = r.GetUserFileNameForRead("", "premix: locate the premix executable", "")
  if not ok or not chosen or chosen == "" then
    return nil
  end
  local line = core.command_line({ chosen, "--version" }, os_name, os.getenv("ComSpec"))
  local code, out = exec(line or "", 20000)
  if code ~= 0 or not core.is_premix_version(out) then
    say("That file did not answer like premix (`premix --version`):\n" .. chosen
      .. "\n\nIts answer:\n" .. tostring(out or "(none)"))
    return nil
  end
  r.SetExtState(SECTION, "binary", chosen, true)
  return chosen
end

-- Whether a project tab has `path` open.
local function open_in_tab(path, os_name)
  local i = 0
  while true do
    local proj, fn = r.EnumProjects(i)
    if not proj then
      return false
    end
    if core.same_path(fn, path, os_name) then
      return true
    end
    i = i + 1
  end
end

local function main()
  local os_name = r.GetOS()

  -- 1. The project must have a file: premix reads the saved .RPP.
  local _, project = r.EnumProjects(-1)
  if not project or project == "" then
    say("This project has never been saved, so premix has no file to read.\n\n"
      .. "Save it (File > Save project), then run this action again.")
    return
  end
  r.Main_SaveProject(0, false)

  -- 2. The premix executable.
  local binary = locate_binary(os_name)
  if not binary then
    return
  end

  -- 3. Stage 2 against a reference, or stage 1 only.
  local choice = r.ShowMessageBox(
    "Mix " .. project .. "\n\n"
      .. "Match the style of a reference mix (stage 2)?\n\n"
      .. "Yes: choose a reference mix (WAV, FLAC, MP3, ...)\n"
      .. "No: stage 1 only (balance the tracks inside each instrument group)\n"
      .. "Cancel: do nothing\n\n"
      .. "REAPER waits while premix runs (seconds to a few minutes).",
    TITLE, MB_YESNOCANCEL)
  local reference
  if choice == ID_YES then
    local ok, f = r.GetUserFileNameForRead(r.GetExtState(SECTION, "last_reference"),
      "premix: choose a reference mix", "wav")
    if not ok or not f or f == "" then
      return
    end
    reference = f
    r.SetExtState(SECTION, "last_reference", f, true)
  elseif choice ~= ID_NO then
    return
  end

  -- 4. Grouping rules (optional).
  local rules
  local last_rules = r.GetExtState(SECTION, "last_rules")
  local rules_choice = r.ShowMessageBox(
    "Group the tracks with your own rules file (.lua)?\n\n"
      .. "Yes: choose a rules file" .. (last_rules ~= "" and (" (last used: " .. last_rules .. ")") or "") .. "\n"
      .. "No: premix's built-in grouping\n"
      .. "Cancel: do nothing",
    TITLE, MB_YESNOCANCEL)
  if rules_choice == ID_YES then
    local ok, f = r.GetUserFileNameForRead(last_rules, "premix: choose a grouping rules file", "lua")
    if not ok or not f or f == "" then
      return
    end
    rules = f
    r.SetExtState(SECTION, "last_rules", f, true)
  elseif rules_choice ~= ID_NO then
    return
  end

  -- 5. The output. premix refuses to replace an existing one without
  -- --force; a re-run asks first, because the user may have saved changes
  -- in the earlier .premix.RPP.
  local output = core.default_output(project)
  local force = false
  if r.file_exists(output) then
    local note = ""
    if open_in_tab(output, os_name) then
      note = "\n\nIt is open in another project tab: that tab keeps the old mix "
        .. "(close it without saving, or its save would replace the new mix)."
    end
    if r.ShowMessageBox(output .. "\nalready exists (from an earlier run).\n\n"
        .. "Replace it with the new mix? Changes saved in it will be lost." .. note,
        TITLE, MB_OKCANCEL) ~= ID_OK then
      return
    end
    force = true
  end

  -- 6. Run premix.
  local args = core.build_args({
    binary = binary,
    project = project,
    reference = reference,
    rules = rules,
    output = output,
    force = force,
  })
  local cmdline, err = core.command_line(args, os_name, os.getenv("ComSpec"))
  if not cmdline then
    say("premix cannot be run on this project: " .. err)
    return
  end
  local timeout_s = tonumber(r.GetExtState(SECTION, "timeout_s"))
  local timeout_ms = (timeout_s and timeout_s > 0) and math.floor(timeout_s * 1000) or 0
  local raw = r.ExecProcess(cmdline, timeout_ms)
  if raw == nil then
    say("REAPER could not start premix.\n\nThe command was:\n" .. cmdline)
    return
  end
  local code, out = core.parse_exec_result(raw)
  -- 0 = mixed; 1 = finished with something skipped (premix's convention).
  if code ~= 0 and code ~= 1 then
    say(core.failure_message(code, out, cmdline))
    return
  end
  if not r.file_exists(output) then
    say("premix finished but did not write\n" .. output .. "\n\nIts output:\n" .. (out or ""))
    return
  end

  -- 7. Open the mix in a new tab (the original stays open and unchanged),
  -- then show what premix did.
  local before = r.EnumProjects(-1)
  r.Main_OnCommand(NEW_PROJECT_TAB, 0)
  local after = r.EnumProjects(-1)
  local opened = after ~= nil and after ~= before
  if opened then
    r.Main_openProject(output)
  end
  local text, clipped = core.success_message(out, output)
  if not opened then
    text = text:gsub("\n\nOpened .*$", "")
      .. "\n\nREAPER did not open a new project tab, so nothing was opened: open\n"
      .. output .. "\nyourself (File > Open project)."
  end
  if clipped then
    r.ShowConsoleMsg("premix output:\n" .. out .. "\n")
  end
  say(text)
end

main()
