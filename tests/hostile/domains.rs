//! Hostile tests: domains.
