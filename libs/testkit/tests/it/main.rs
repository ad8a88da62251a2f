//! The shared server machinery, served for real over gRPC: the bounds every Tandem server
//! puts on what it takes on at once and for how long.

mod limits;
