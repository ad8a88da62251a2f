//! run-history started for real.

mod startup;
