//! Periodic reports on schedule: made, kept, and handed to the playbooks. (Helper h5.)
