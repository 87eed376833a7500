-- Example: post-process the whole assignment with groups(session).
--
-- Stage 2 works best with a handful of stems. This keeps the groups that
-- have at least two tracks, plus Vocals and Bass whatever their size, and
-- merges every other single-track group into one "Music" stem.
--
--   premix groups song.rpp --rules scripts/groups/examples/merge_small_groups.lua

local ALWAYS = { Vocals = true, Bass = true }

function groups(session)
  local out, music = {}, { name = "Music", tracks = {} }
  for _, g in ipairs(session.groups) do
    if #g.tracks >= 2 or ALWAYS[g.name] then
      out[#out + 1] = g -- passed back unchanged
    else
      for _, t in ipairs(g.tracks) do
        music.tracks[#music.tracks + 1] = { index = t.index, reason = "merged from " .. g.name }
      end
    end
  end
  out[#out + 1] = music -- an empty group is dropped
  return out
end
