//! Hostile tests: addons.
