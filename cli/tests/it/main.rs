//! The `tandem` binary, run as a user runs it.

mod configure;
mod token;
mod up;
