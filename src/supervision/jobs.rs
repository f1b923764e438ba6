//! Supervision's checks on a clock: bulletin deadlines, slot reports owed (child) and missing (parent), duty coverage, the roster up. (Helper h4.)
