//! The tandem command.
