//! The `tandem` binary, run as a user runs it.

mod bench;
mod configure;
mod demo;
mod history;
mod login;
mod tls;
mod token;
mod up;
