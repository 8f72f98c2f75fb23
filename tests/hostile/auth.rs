//! Hostile tests: auth.
