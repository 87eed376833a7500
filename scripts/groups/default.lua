-- premix's shipped grouping rules: a name-pattern taxonomy.
--
-- Embedded in the premix binary and run in the same sandbox as user scripts,
-- through the same API: `group(track)` returns a table with `group`, `role`,
-- `class` and `reason`, or nil when neither the track name nor its file
-- names say what the track is (premix then tries the analysis features).
--
-- How a name is read:
--   1. Split into words: camelCase, letter/digit boundaries and any
--      non-alphanumeric character separate words; then lower-cased.
--      "LeadVox2_L" -> lead vox 2 l, "HiHat" -> hi hat, "Gtr2L" -> gtr 2 l.
--   2. Every word, and every pair of neighbouring words written together
--      ("hi hat" -> "hihat", "bass drum" -> "bassdrum"), is looked up in
--      WORDS. The entry with the highest priority wins; on a tie, the
--      earlier word. So "Bass Drum" is a kick, "Synth Bass" a bass and
--      "Kick Sub" a kick.
--   3. A word with no exact hit, of 4+ letters, one typo away (insertion,
--      deletion, substitution or swap of neighbours) from a vocabulary word
--      of 5+ letters with the same first letter counts too, one priority
--      step lower ("Gutiar", "Snre").
--   4. Role words anywhere in the name set the role: background words
--      (backing, double, room, pad, fx ...) win over lead words (lead,
--      main, solo). Without them the class decides: main vocals lead,
--      support vocals and misc background, everything else normal. In the
--      Vocals group the role also picks the class (a vocal double is
--      support_vocals).
--   5. Nothing in the name: the same for each file name of the track.
--
-- Classes are those of Diff-MST's knowledge-engineering table
-- (ALGORITHMS.md section 2.6), with its example names; where an instrument
-- family and that table disagree (cello is `bass` there, fiddle `guitar`),
-- the track follows its family here: Strings.

local lower, gsub, gmatch, byte, format =
  string.lower, string.gsub, string.gmatch, string.byte, string.format

local DRUMS, PERC, BASS, GTR, KEYS, SYNTH = "Drums", "Percussion", "Bass", "Guitars", "Keys", "Synths"
local VOX, STR, BRASS, WW, FX, OTHER = "Vocals", "Strings", "Brass", "Woodwinds", "FX", "Other"

-- word -> { group, class, priority }
local WORDS = {}
local function add(group, class, prio, words)
  for i = 1, #words do
    WORDS[words[i]] = { group = group, class = class, prio = prio, word = words[i] }
  end
end

-- Compound names (two words written together), most specific first.
add(DRUMS, "bass_drum", 100, { "bassdrum", "kickdrum", "subkick" })
add(DRUMS, "percussion_1", 100, { "snaredrum", "floortom", "racktom", "hitom", "lotom", "midtom",
  "drumloop", "drumloops", "drummachine", "drumkit", "drumset", "breakbeat" })
add(DRUMS, "percussion_2", 100, { "hihat", "hihats", "highhat", "overhead", "overheads" })
add(DRUMS, "misc", 100, { "drumroom", "drumrooms", "kitroom", "roommic", "roommics", "drumamb" })
add(PERC, "percussion_3", 100, { "sleighbells", "eggshaker" })
add(PERC, "percussion_2", 100, { "handclap", "handclaps", "fingersnap", "fingersnaps", "windchimes" })
add(BASS, "bass", 100, { "doublebass", "contrabass", "uprightbass", "synthbass", "basssynth",
  "subbass", "bassguitar", "bassgtr", "ebass", "bassamp", "bassdi", "bassline", "moogbass" })
add(KEYS, "keys", 100, { "electricpiano", "epiano", "grandpiano", "uprightpiano",
  "hammondorgan", "b3" })
add(SYNTH, "synth", 100, { "dx7", "supersaw", "synthpad", "synthlead" })
add(GTR, "guitar", 100, { "acousticguitar", "electricguitar", "lapsteel", "pedalsteel",
  "steelguitar", "12string", "agtr", "egtr", "acgtr", "elgtr", "leadgtr", "rhythmgtr" })
add(VOX, "main_vocals", 100, { "leadvocal", "leadvocals", "leadvox", "leadvoc", "mainvocal",
  "mainvox", "leadvoice" })
add(VOX, "support_vocals", 100, { "backingvocal", "backingvocals", "backingvox", "bgvox",
  "bgvocals", "bkgvox", "bgvs", "bvs", "bvox", "gangvox", "gangvocals" })
add(STR, "orchestral_strings", 100, { "stringsection", "stringensemble", "stringquartet" })
add(BRASS, "brass", 100, { "frenchhorn", "frenchhorns", "hornsection", "brasssection" })
add(BRASS, "low_brass", 100, { "basstrombone", "basstbn" })
add(WW, "woodwinds", 100, { "englishhorn", "coranglais", "altosax", "sopranosax", "asax",
  "tinwhistle", "panflute", "panpipes" })
add(WW, "bass_woodwinds", 100, { "bassclarinet", "tenorsax", "tensax", "tsax", "barisax",
  "baritonesax", "bsax", "contrabassoon" })

-- The drum kit.
add(DRUMS, "bass_drum", 90, { "kick", "kicks", "kik", "kck", "bd", "kd" })
add(DRUMS, "percussion_1", 90, { "snare", "snares", "snr", "sn", "sd", "rim", "rimshot",
  "sidestick", "tom", "toms", "tm", "ft" })
add(DRUMS, "percussion_2", 90, { "hh", "hhs", "hat", "hats", "hhat", "oh", "ohs", "ohl", "ohr",
  "cymbal", "cymbals", "cym", "cyms", "ride", "china", "splash" })
add(DRUMS, "percussion_3", 90, { "crash" })

-- Vocals: support words outrank plain vocal words ("Backing Vox").
add(VOX, "support_vocals", 85, { "bv", "bgv", "bgvs", "bvs", "backing", "backings", "bkg",
  "choir", "harmony", "harmonies", "harm", "hrm", "adlib", "adlibs", "gang", "ooh", "oohs",
  "aah", "aahs", "vocoder" })
add(VOX, "main_vocals", 80, { "vox", "vocal", "vocals", "voc", "vocs", "vcl", "vx", "vo",
  "voice", "voices", "singer", "sing", "rap", "rapper", "mc", "lv", "lvox" })

-- Bass.
add(BASS, "bass", 80, { "bass", "basses", "bs", "bas", "bss", "808" })
add(BASS, "bass", 60, { "sub" })

-- Aux percussion.
add(PERC, "percussion_1", 75, { "perc", "percs", "percussion", "conga", "congas", "bongo",
  "bongos", "cajon", "tabla", "djembe", "darbuka", "doumbek", "timbale", "timbales", "surdo",
  "udu", "timpani", "timp", "xylophone", "xylo" })
add(PERC, "percussion_2", 75, { "clap", "claps", "snap", "snaps", "triangle", "chimes",
  "glock", "glockenspiel", "vibes", "vibraphone", "marimba", "gong", "bell", "bells",
  "woodblock", "clave", "claves" })
add(PERC, "percussion_3", 75, { "shaker", "shakers", "shkr", "tamb", "tambo", "tambourine",
  "cowbell", "guiro", "cabasa", "castanet", "castanets", "maracas", "agogo", "cuica" })

-- Guitars and other plucked strings.
add(GTR, "guitar", 75, { "gtr", "gtrs", "guitar", "guitars", "gt", "gts", "git", "gtar",
  "guit", "gitarre", "banjo", "mandolin", "mando", "uke", "ukulele", "sitar", "oud", "dobro",
  "strat", "tele", "nylon" })
add(GTR, "guitar", 40, { "acoustic", "electric", "clean", "crunch", "dist", "distorted" })

-- Keys.
add(KEYS, "keys", 75, { "keys", "keyboard", "keyboards", "kb", "kbd", "kbds", "kbs", "piano",
  "pianos", "pno", "pn", "pia", "rhodes", "wurli", "wurlitzer", "clav", "clavinet", "organ",
  "organs", "org", "hammond", "leslie", "harpsichord", "cembalo", "celesta", "celeste",
  "accordion", "melodica", "harmonium", "mellotron" })
add(KEYS, "keys", 70, { "ep" })
add(KEYS, "keys", 40, { "grand" })

-- Synths.
add(SYNTH, "synth", 70, { "synth", "synths", "syn", "synt", "arp", "arps", "arpeggio",
  "pluck", "plucks", "moog", "minimoog", "juno", "prophet", "jupiter", "saw", "stab", "stabs",
  "sampler", "seq", "sequence" })
add(SYNTH, "synth", 50, { "pad", "pads" })

-- Orchestral strings.
add(STR, "orchestral_strings", 75, { "strings", "string", "str", "strs", "stgs", "stg",
  "strgs", "violin", "violins", "vln", "vlns", "vn", "vns", "vl", "viola", "violas", "vla",
  "vlas", "cello", "cellos", "celli", "vc", "vcs", "vlc", "harp", "fiddle", "erhu", "quartet",
  "pizz", "pizzicato", "spiccato", "ensemble" })

-- Brass.
add(BRASS, "brass", 75, { "brass", "horn", "horns", "hrn", "hrns", "hn", "trumpet",
  "trumpets", "tpt", "tpts", "trp", "trpt", "cornet", "flugelhorn", "flugel", "flg" })
add(BRASS, "low_brass", 75, { "trombone", "trombones", "tbn", "tbns", "trb", "tbone",
  "tuba", "tubas", "euphonium", "euph", "sousaphone" })

-- Woodwinds.
add(WW, "woodwinds", 75, { "woodwind", "woodwinds", "ww", "flute", "flutes", "fl", "flt",
  "piccolo", "picc", "clarinet", "clarinets", "cl", "clar", "clt", "oboe", "oboes", "ob",
  "recorder", "whistle", "harmonica", "bagpipe", "bagpipes", "sax", "saxes", "saxophone",
  "saxophones", "sx" })
add(WW, "bass_woodwinds", 75, { "bassoon", "bassoons", "bsn", "bari", "bcl" })

-- Generic drums, drum-bus processing and room mics (low: "Gtr Room" is a guitar).
add(DRUMS, "percussion_1", 50, { "drums", "drum", "drm", "drms", "kit" })
add(DRUMS, "percussion_1", 40, { "loop", "loops", "beat", "beats", "break", "breaks",
  "909", "707" })
add(DRUMS, "misc", 30, { "crush", "smash", "trash", "squash", "parallel" })
add(DRUMS, "misc", 20, { "room", "rooms", "rm", "amb", "ambience", "ambient" })

-- Sound effects and effect returns.
add(FX, "synth", 60, { "sfx", "riser", "risers", "impact", "impacts", "sweep", "sweeps",
  "whoosh", "swoosh", "uplifter", "downlifter", "noise", "foley" })
add(FX, "misc", 30, { "atmo", "atmos", "atmosphere", "texture", "drone" })
add(FX, "misc", 10, { "fx", "efx", "verb", "reverb", "delay", "dly", "echo", "return",
  "plate", "hall" })

-- Things that are not instruments (lowest: "Guide Vox" is a vocal).
add(OTHER, "misc", 5, { "click", "clicktrack", "metronome", "guide", "scratch", "ref",
  "reference", "cue", "countin", "count", "slate", "talkback", "tb", "timecode", "ltc",
  "smpte", "mix", "print", "bounce", "rough" })

-- Role words.
local LEAD = { lead = true, ld = true, main = true, solo = true, lv = true }
local BACKGROUND = {
  backing = true, back = true, bg = true, bgs = true, bkg = true, bv = true, bvs = true,
  bgv = true, bgvs = true, harmony = true, harmonies = true, harm = true, hrm = true,
  double = true, doubles = true, dbl = true, dbls = true, dub = true, adlib = true,
  adlibs = true, ooh = true, oohs = true, aah = true, aahs = true, choir = true, gang = true,
  room = true, rooms = true, rm = true, amb = true, ambience = true, ambient = true,
  pad = true, pads = true, fx = true, verb = true, reverb = true, delay = true, dly = true,
  echo = true, throw = true, throws = true, guide = true, scratch = true,
}

local DEFAULT_ROLE = { main_vocals = "lead", support_vocals = "background", misc = "background" }

-- Typo tolerance: vocabulary words long enough to match approximately,
-- by first letter.
local FUZZY = {}
for w in next, WORDS do
  if #w >= 5 and not w:find("%d") then
    local c = byte(w, 1)
    FUZZY[c] = FUZZY[c] or {}
    local list = FUZZY[c]
    list[#list + 1] = w
  end
end
for _, list in next, FUZZY do table.sort(list) end

-- Damerau-Levenshtein distance at most 1 (optimal string alignment).
local function one_typo(a, b)
  local la, lb = #a, #b
  if la == lb then
    local diff = {}
    for i = 1, la do
      if byte(a, i) ~= byte(b, i) then
        diff[#diff + 1] = i
        if #diff > 2 then return false end
      end
    end
    if #diff == 1 then return true end
    if #diff == 2 then
      local i, j = diff[1], diff[2]
      return j == i + 1 and byte(a, i) == byte(b, j) and byte(a, j) == byte(b, i)
    end
    return false
  end
  if la + 1 == lb then a, b, la, lb = b, a, lb, la end
  if la ~= lb + 1 then return false end
  -- a is one longer: skip one character of a
  local i, j, skipped = 1, 1, false
  while i <= la and j <= lb do
    if byte(a, i) == byte(b, j) then
      i, j = i + 1, j + 1
    elseif skipped then
      return false
    else
      skipped, i = true, i + 1
    end
  end
  return true
end

local function words_of(name)
  local s = gsub(name, "(%l)(%u)", "%1 %2")
  s = gsub(s, "(%u)(%u%l)", "%1 %2")
  s = gsub(s, "(%a)(%d)", "%1 %2")
  s = gsub(s, "(%d)(%a)", "%1 %2")
  s = lower(s)
  local out = {}
  for w in gmatch(s, "%w+") do out[#out + 1] = w end
  return out
end

-- The best vocabulary entry for a list of words, and what matched. Exact
-- words and pairs first; then words with no exact hit, one typo away, at one
-- priority step below an exact word of the same rank.
local function best_entry(ws)
  local best, text, prio
  local function consider(e, shown, p)
    if best == nil or p > prio then best, text, prio = e, shown, p end
  end
  local covered = {}
  for i = 1, #ws do
    local pair = ws[i + 1] and WORDS[ws[i] .. ws[i + 1]]
    if pair then
      consider(pair, format("matches '%s %s'", ws[i], ws[i + 1]), pair.prio)
      covered[i], covered[i + 1] = true, true
    end
    local e = WORDS[ws[i]]
    if e then
      consider(e, format("matches '%s'", ws[i]), e.prio)
      covered[i] = true
    end
  end
  for i = 1, #ws do
    local w = ws[i]
    local list = not covered[i] and #w >= 4 and FUZZY[byte(w, 1)]
    if list then
      for k = 1, #list do
        local v = list[k]
        if one_typo(w, v) then
          local e = WORDS[v]
          consider(e, format("'%s' looks like '%s'", w, v), e.prio - 1)
        end
      end
    end
  end
  return best, text
end

local function role_of(ws)
  local role, word
  for i = 1, #ws do
    local w = ws[i]
    local pair = ws[i + 1] and (w .. ws[i + 1])
    if BACKGROUND[w] or (pair and BACKGROUND[pair]) then return "background", w end
    if LEAD[w] and not role then role, word = "lead", w end
  end
  return role, word
end

local function classify(text, what)
  local ws = words_of(text)
  local e, why = best_entry(ws)
  if not e then return nil end
  local class = e.class
  local role, role_word = role_of(ws)
  local reason = format("%s %s", what, why)
  if role then
    reason = reason .. format("; '%s' -> %s", role_word, role)
  else
    role = DEFAULT_ROLE[class] or "normal"
  end
  if e.group == VOX then
    if role == "background" then
      class = "support_vocals"
    elseif role == "lead" then
      class = "main_vocals"
    end
  end
  return { group = e.group, class = class, role = role, reason = reason }
end

function group(track)
  local r = classify(track.name, "name")
  if r then return r end
  for _, file in ipairs(track.files) do
    local stem = gsub(file, "%.[^.]*$", "")
    r = classify(stem, format("file '%s'", file))
    if r then return r end
  end
  return nil
end
