-- reaper_stub.lua: a fake `reaper` table for running premix.lua outside
-- REAPER. It records every call and answers from a script:
--
--   local stub = Stub.new({
--     os = "Linux",                       -- GetOS()
--     script = "/x/premix.lua",           -- get_action_context()'s filename
--     project = "/p/song.RPP",            -- current project's file ("" = never saved)
--     tabs = { "/p/other.RPP" },          -- other open project tabs
--     extstate = { binary = "/b/premix" },-- "premix" ExtState values
--     files = { ["/b/premix"] = true },   -- what file_exists answers true for
--     file_exists = function(path) ... end, -- or this answers (e.g. the real disk)
--     dialogs = { 6, 7, 1 },              -- ShowMessageBox answers, in order
--     pick = { { true, "/r/ref.wav" } },  -- GetUserFileNameForRead answers, in order
--     exec = { "0\nwrote ...", ... },     -- ExecProcess answers, in order: a string,
--                                         -- false (= nil, total failure), or a
--                                         -- function(cmdline, timeout) -> string|nil
--     writes = "/p/song.premix.RPP",      -- a `mix` run answering exit 0 creates this file
--     no_new_tab = false,                 -- action 40859 does nothing (REAPER failing)
--   })
--   reaper = stub.reaper
--
-- A dialog or exec the script did not provide for is an error, so a test
-- fails when the action asks more than the scenario expects. stub.calls is
-- the list of { name, args... } in order; helpers below pick them out.

local Stub = {}
Stub.__index = Stub

local function shift(queue, what, detail)
  if #queue == 0 then
    error("unexpected " .. what .. (detail and (": " .. detail) or ""), 0)
  end
  return table.remove(queue, 1)
end

function Stub.new(cfg)
  local self = setmetatable({ calls = {}, cfg = cfg }, Stub)
  local dialogs = { table.unpack(cfg.dialogs or {}) }
  local pick = { table.unpack(cfg.pick or {}) }
  local exec = { table.unpack(cfg.exec or {}) }
  local files = {}
  for k, v in pairs(cfg.files or {}) do
    files[k] = v
  end
  local extstate = {}
  for k, v in pairs(cfg.extstate or {}) do
    extstate[k] = v
  end
  self.files, self.extstate = files, extstate

  -- Open project tabs: objects standing for ReaProject pointers.
  local projects = { { fn = cfg.project or "" } }
  for _, fn in ipairs(cfg.tabs or {}) do
    projects[#projects + 1] = { fn = fn }
  end
  local current = 1
  self.projects = projects

  local function record(name, ...)
    self.calls[#self.calls + 1] = { name, ... }
  end

  local R = {}
  function R.GetOS()
    record("GetOS")
    return cfg.os or "Linux"
  end
  function R.get_action_context()
    record("get_action_context")
    return false, cfg.script or "", 0, 0, -1, -1, 0
  end
  function R.EnumProjects(idx)
    record("EnumProjects", idx)
    local p
    if idx == -1 then
      p = projects[current]
    else
      p = projects[idx + 1]
    end
    if not p then
      return nil, ""
    end
    return p, p.fn
  end
  function R.Main_SaveProject(proj, force_save_as)
    record("Main_SaveProject", proj, force_save_as)
  end
  function R.GetExtState(section, key)
    record("GetExtState", section, key)
    if section ~= "premix" then
      return ""
    end
    return extstate[key] or ""
  end
  function R.SetExtState(section, key, value, persist)
    record("SetExtState", section, key, value, persist)
    if section == "premix" then
      extstate[key] = value
    end
  end
  function R.file_exists(path)
    record("file_exists", path)
    if cfg.file_exists then
      return cfg.file_exists(path) == true
    end
    return files[path] == true
  end
  function R.ShowMessageBox(msg, title, kind)
    record("ShowMessageBox", msg, title, kind)
    return shift(dialogs, "ShowMessageBox", msg)
  end
  function R.GetUserFileNameForRead(initial, title, defext)
    record("GetUserFileNameForRead", initial, title, defext)
    local a = shift(pick, "GetUserFileNameForRead", title)
    return a[1], a[2] or initial
  end
  function R.ExecProcess(cmdline, timeout)
    record("ExecProcess", cmdline, timeout)
    local a = shift(exec, "ExecProcess", cmdline)
    if type(a) == "function" then
      a = a(cmdline, timeout)
    end
    if a == false or a == nil then
      return nil
    end
    -- A successful run writes its output project, as premix does.
    if cfg.writes and a:match("^0\n") and cmdline:find(" mix ", 1, true) then
      files[cfg.writes] = true
    end
    return a
  end
  function R.Main_OnCommand(cmd, flag)
    record("Main_OnCommand", cmd, flag)
    if cmd == 40859 and not cfg.no_new_tab then
      projects[#projects + 1] = { fn = "" }
      current = #projects
    end
  end
  function R.Main_openProject(name)
    record("Main_openProject", name)
    projects[current].fn = name
  end
  function R.ShowConsoleMsg(msg)
    record("ShowConsoleMsg", msg)
  end
  self.reaper = R
  return self
end

-- The calls named `name`, in order.
function Stub:all(name)
  local out = {}
  for _, c in ipairs(self.calls) do
    if c[1] == name then
      out[#out + 1] = c
    end
  end
  return out
end

-- The message of every ShowMessageBox, in order.
function Stub:messages()
  local out = {}
  for _, c in ipairs(self:all("ShowMessageBox")) do
    out[#out + 1] = c[2]
  end
  return out
end

-- The command lines given to ExecProcess, in order.
function Stub:commands()
  local out = {}
  for _, c in ipairs(self:all("ExecProcess")) do
    out[#out + 1] = c[2]
  end
  return out
end

-- The paths given to Main_openProject, in order.
function Stub:opened()
  local out = {}
  for _, c in ipairs(self:all("Main_openProject")) do
    out[#out + 1] = c[2]
  end
  return out
end

return Stub
