//! Unit tests of `update`, one or more per action.
