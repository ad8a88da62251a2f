//! The `tandem` binary, run as a user runs it.

mod bench;
mod token;
mod up;
