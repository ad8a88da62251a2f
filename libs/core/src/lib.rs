//! The Tandem domain: field kinds, values, conversions, conditions, merge. Pure and IO-free.
