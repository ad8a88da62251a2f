//! The `tandem` binary, run as a user runs it.

mod token;
mod up;
