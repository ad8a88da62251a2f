//! The sync-orchestrator service.
