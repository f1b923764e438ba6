//! The detect-thread step that marks drill alerts. (Helper h5.)
