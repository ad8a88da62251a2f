//! The `tandem` binary, run as a user runs it.

mod demo;
mod token;
mod up;
