//! The store end to end: kill -9 and resume, SIGHUP in a real terminal, locks, a torn journal,
//! a full disk, detached runs with attachers, and one recorded run without the binary.

mod common;
mod detach;
mod faults;
mod kill;
mod record;
