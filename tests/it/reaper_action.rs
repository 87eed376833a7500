//! The REAPER action script (issue 12) under plain Lua with a stubbed `reaper` API.
