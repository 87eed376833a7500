-- Example: a house convention by track colour.
--
-- The studio colours tracks by stem: red drums, blue bass, green guitars,
-- yellow vocals, purple keys. A track with one of these colours goes to that
-- stem whatever its name; uncoloured or other colours keep premix's default.
-- Colours are 0xRRGGBB as REAPER shows them (track.colour_hex is "#rrggbb").
--
--   premix groups song.rpp --rules scripts/groups/examples/colour_convention.lua

local HOUSE = {
  [0xff0000] = "Drums",
  [0x0000ff] = "Bass",
  [0x00ff00] = "Guitars",
  [0xffff00] = "Vocals",
  [0x800080] = "Keys",
}

function group(track)
  local stem = track.colour and HOUSE[track.colour]
  if stem then
    return { group = stem, reason = "colour " .. track.colour_hex }
  end
end
