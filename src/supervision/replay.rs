//! A scenario drill's replay: each planned action's events into the pipeline at its time, marked with the drill and action. (Helper h5.)
