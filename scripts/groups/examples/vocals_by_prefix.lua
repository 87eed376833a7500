-- Example: split lead and backing vocals by a name prefix.
--
-- Studio convention: lead vocal tracks are named "LV ..." and backing vocals
-- "BV ..." (or "LV_", "BV-"). Those become two stems, "Lead Vocals" and
-- "Backing Vocals"; every other track keeps premix's default.
--
--   premix groups song.rpp --rules scripts/groups/examples/vocals_by_prefix.lua

local PREFIXES = {
  LV = { group = "Lead Vocals", role = "lead", class = "main_vocals" },
  BV = { group = "Backing Vocals", role = "background", class = "support_vocals" },
}

function group(track)
  local prefix = track.name:match("^(%a%a)[%s_%-]")
  local rule = prefix and PREFIXES[prefix:upper()]
  if rule then
    return {
      group = rule.group,
      role = rule.role,
      class = rule.class,
      reason = "name prefix '" .. prefix .. "'",
    }
  end
end
