-- Example: all drum mics into one stem.
--
-- premix's default rules keep the kit ("Drums") apart from auxiliary
-- percussion ("Percussion"), and a session folder makes its own group. This
-- puts every drum-like track (kit mics, rooms, loops, percussion) into one
-- "Drums" stem, wherever it came from, keeping each track's class and role.
--
--   premix groups song.rpp --rules scripts/groups/examples/one_drum_stem.lua

local DRUM_CLASSES = {
  bass_drum = true, percussion_1 = true, percussion_2 = true, percussion_3 = true,
}

function group(track)
  local d = track.default
  if d.group == "Drums" or d.group == "Percussion" or DRUM_CLASSES[d.class] then
    return { group = "Drums", reason = "one drum stem (" .. d.class .. ")" }
  end
  return nil -- everything else: premix's default
end
