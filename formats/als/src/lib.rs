//! Ableton Live `.als` sets, read and edited losslessly. (Work in progress: issue 8.)
