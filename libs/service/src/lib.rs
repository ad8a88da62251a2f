//! What every Tandem service shares: caller identity, storage, serving.
