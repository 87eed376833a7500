//! Ableton Live sets end to end (issue 8): inspect, mix and the structural validator on written sets.
